"""The loopback fakes really check the API shapes: malformed requests are refused and recorded."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from fakes.llm_servers import FakeAnthropicServer, FakeLLMServer, FakeOpenAIServer, Reply

KEY = "sk-test-fake-servers-000000"


def post(server: FakeLLMServer, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(
        server.root_url + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


ANTHROPIC_HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
GOOD_ANTHROPIC = {
    "model": "claude-haiku-4-5",
    "max_tokens": 100,
    "messages": [{"role": "user", "content": "hi"}],
    "tools": [{"name": "t", "description": "d", "input_schema": {"type": "object", "properties": {}}}],
}
OPENAI_HEADERS = {"authorization": f"Bearer {KEY}"}
GOOD_OPENAI = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "hi"}],
    "tools": [{"type": "function", "function": {"name": "t", "description": "d", "parameters": {"type": "object"}}}],
}


def test_anthropic_fake_accepts_a_well_formed_request_and_renders_tool_use() -> None:
    with FakeAnthropicServer([Reply.tool("t", {"a": 1})], api_key=KEY) as server:
        status, body = post(server, "/v1/messages", GOOD_ANTHROPIC, ANTHROPIC_HEADERS)
        server.assert_clean()
    assert status == 200 and body["type"] == "message" and body["stop_reason"] == "tool_use"
    assert body["content"][0]["type"] == "tool_use" and body["content"][0]["input"] == {"a": 1}
    assert body["usage"]["input_tokens"] > 0


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "needle"),
    [
        ("/v1/complete", GOOD_ANTHROPIC, ANTHROPIC_HEADERS, 400, "path"),
        ("/v1/messages", GOOD_ANTHROPIC, {"anthropic-version": "2023-06-01"}, 401, "auth"),
        ("/v1/messages", GOOD_ANTHROPIC, {"x-api-key": KEY}, 400, "anthropic-version"),
        ("/v1/messages", {**GOOD_ANTHROPIC, "max_tokens": 0}, ANTHROPIC_HEADERS, 400, "max_tokens"),
        (
            "/v1/messages",
            {**GOOD_ANTHROPIC, "tools": [{"name": "t", "parameters": {}}]},
            ANTHROPIC_HEADERS,
            400,
            "input_schema",
        ),
        (
            "/v1/messages",
            {
                **GOOD_ANTHROPIC,
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_x", "name": "t", "input": {}}]},
                    {"role": "user", "content": "no result"},
                ],
            },
            ANTHROPIC_HEADERS,
            400,
            "tool_use",
        ),
    ],
    ids=["path", "no-key", "no-version", "max-tokens", "tool-shape", "unpaired-tool-use"],
)
def test_anthropic_fake_refuses_malformed_requests(
    path: str, body: Any, headers: dict, status: int, needle: str
) -> None:
    with FakeAnthropicServer([Reply.final("unused")], api_key=KEY) as server:
        got, payload = post(server, path, body, headers)
        assert got == status and payload["type"] == "error"
        assert any(needle in v for v in server.violations)
        assert server.remaining == 1  # the script is not consumed by a bad request


def test_openai_fake_accepts_a_well_formed_request_and_renders_tool_calls() -> None:
    with FakeOpenAIServer([Reply.tool("t", '{"broken": ')], api_key=KEY) as server:
        status, body = post(server, "/v1/chat/completions", GOOD_OPENAI, OPENAI_HEADERS)
        server.assert_clean()
    call = body["choices"][0]["message"]["tool_calls"][0]
    assert status == 200 and body["object"] == "chat.completion"
    assert call["type"] == "function" and call["function"]["arguments"] == '{"broken": '
    assert body["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    ("body", "headers", "status", "needle"),
    [
        (GOOD_OPENAI, {"authorization": "Bearer wrong"}, 401, "auth"),
        ({**GOOD_OPENAI, "tools": [{"name": "t", "parameters": {"type": "object"}}]}, OPENAI_HEADERS, 400, "tools[0]"),
        (
            {**GOOD_OPENAI, "response_format": {"type": "json_schema", "json_schema": {"schema": {}}}},
            OPENAI_HEADERS,
            400,
            "response_format",
        ),
        (
            {
                **GOOD_OPENAI,
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "tool", "tool_call_id": "call_zz", "content": "x"},
                ],
            },
            OPENAI_HEADERS,
            400,
            "tool_call_id",
        ),
    ],
    ids=["wrong-key", "tool-shape", "response-format", "orphan-tool-message"],
)
def test_openai_fake_refuses_malformed_requests(body: Any, headers: dict, status: int, needle: str) -> None:
    with FakeOpenAIServer([Reply.final("unused")], api_key=KEY) as server:
        got, payload = post(server, "/v1/chat/completions", body, headers)
        assert got == status and "error" in payload
        assert any(needle in v for v in server.violations)


def test_script_exhaustion_is_a_recorded_violation() -> None:
    with FakeOpenAIServer([], api_key=KEY) as server:
        status, _ = post(server, "/v1/chat/completions", GOOD_OPENAI, OPENAI_HEADERS)
        assert status == 400
        with pytest.raises(AssertionError, match="no scripted reply left"):
            server.assert_clean()


def test_from_tool_calls_plays_calls_in_order_then_final_text() -> None:
    server = FakeAnthropicServer.from_tool_calls([("a", {"x": 1}), ("b", {})], api_key=KEY, final_text="bye")
    assert [([c.name for c in r.tool_calls], r.text) for r in server.script] == [(["a"], ""), (["b"], ""), ([], "bye")]
