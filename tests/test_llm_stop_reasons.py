"""Every stop reason of the Messages API, Chat Completions and the Responses API has a defined outcome.

Outcomes (llm/chat_base.py): use the turn; continue with a prompt; report a cut-off tool call as
invalid; continue a paused turn; compact and retry on context overflow; stop on a refusal.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from fakes.llm_responses import FakeResponsesServer
from fakes.llm_servers import FakeAnthropicServer, FakeLLMServer, FakeOpenAIServer, Reply
from worker_support import make_setup

from evotrain.schemas.manifest import FailureMode
from llm.base import AgentError, ContextOverflow, ModelRefused, ToolResult, ToolSpec
from llm.chat_base import CONTINUE_PROMPT, TRUNCATED_PROMPT, LLMBackendBase
from llm.common import LLMBudget
from llm.config import AgentConfig
from llm.factory import make_llm_backend
from workers.agents.factory import make_agent
from workers.loop import run_worker

READ = ToolSpec(name="read_file", description="Read a file.",
                parameters={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]})
SERVERS: dict[str, tuple[type[FakeLLMServer], str, str, dict[str, Any]]] = {
    "anthropic": (FakeAnthropicServer, "claude-sonnet-4-5", "ANTHROPIC_API_KEY", {}),
    "chat": (FakeOpenAIServer, "gpt-4.1-mini", "OPENAI_API_KEY", {}),
    "responses": (FakeResponsesServer, "gpt-5-mini", "OPENAI_API_KEY", {"openai_api": "responses"}),
}


def backend(api: str, server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, **extra: Any) -> LLMBackendBase:
    _cls, model, env, options = SERVERS[api]
    monkeypatch.setenv(env, server.api_key)
    kind = "anthropic" if api == "anthropic" else "openai"
    config = AgentConfig(kind=kind, model=model, base_url=server.base_url, max_retries=0, **options, **extra)
    agent = make_llm_backend(config, LLMBudget(max_tokens=10**7, max_dollars=100.0))
    assert isinstance(agent, LLMBackendBase)
    agent.start("You tune recipes.", "BRIEF", [READ])
    return agent


def serve(api: str, script: list[Reply]) -> FakeLLMServer:
    return SERVERS[api][0](script, api_key="sk-test-" + secrets.token_hex(8))


def last_user_text(api: str, body: dict[str, Any]) -> str:
    if api == "responses":
        return json.dumps(body["input"][-1])
    return json.dumps(body["messages"][-1])


def answer(turn_calls: list, text: str = "x") -> list[ToolResult]:
    return [ToolResult(call_id=c.id, name=c.name, ok=True, content=text) for c in turn_calls]


# ------------------------------------------------------------ normal ends: use the turn / continue

@pytest.mark.parametrize(("api", "stop"), [("anthropic", "end_turn"), ("anthropic", "stop_sequence"),
                                           ("chat", "stop"), ("responses", None)])
def test_text_only_end_continues_with_the_continue_prompt(api: str, stop: str | None,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(api, [Reply.final("thinking aloud", stop_reason=stop), Reply.tool("read_file", {"path": "a"})]) as s:
        agent = backend(api, s, monkeypatch)
        first = agent.step([])
        assert first.text == "thinking aloud" and first.tool_calls == []
        second = agent.step([])
        assert second.tool_calls[0].name == "read_file"
        s.assert_clean()
        assert CONTINUE_PROMPT in last_user_text(api, s.requests[1].body)


@pytest.mark.parametrize(("api", "stop"), [("anthropic", "tool_use"), ("chat", "tool_calls"), ("responses", None)])
def test_tool_call_end_returns_the_calls(api: str, stop: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(api, [Reply.tool("read_file", {"path": "a"}, stop_reason=stop), Reply.final("done")]) as s:
        agent = backend(api, s, monkeypatch)
        turn = agent.step([])
        assert [(c.name, c.arguments, c.parse_error) for c in turn.tool_calls] == [("read_file", {"path": "a"}, None)]
        agent.step(answer(turn.tool_calls))
        s.assert_clean()


# ------------------------------------------------------------ truncated output

@pytest.mark.parametrize(("api", "stop"), [("anthropic", "max_tokens"), ("chat", "length"),
                                           ("responses", "incomplete:max_output_tokens")])
def test_truncated_tool_call_is_reported_invalid_and_text_gets_the_truncation_prompt(
        api: str, stop: str, monkeypatch: pytest.MonkeyPatch) -> None:
    script = [Reply.tool("read_file", {"path": "a"}, stop_reason=stop), Reply.final("half a sent", stop_reason=stop),
              Reply.tool("read_file", {"path": "b"})]
    with serve(api, script) as s:
        agent = backend(api, s, monkeypatch)
        cut = agent.step([])
        assert "cut off" in (cut.tool_calls[0].parse_error or "")
        text_only = agent.step([ToolResult(call_id=cut.tool_calls[0].id, name="read_file", ok=False,
                                           content="invalid tool call: cut off")])
        assert text_only.tool_calls == []
        agent.step([])
        s.assert_clean()
        assert TRUNCATED_PROMPT in last_user_text(api, s.requests[2].body)


# ------------------------------------------------------------ refusals stop the worker

@pytest.mark.parametrize(("api", "stop"), [("anthropic", "refusal"), ("chat", "content_filter"),
                                           ("responses", "incomplete:content_filter")])
def test_refusal_raises_model_refused(api: str, stop: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(api, [Reply.final("I can't help with that.", stop_reason=stop)]) as s:
        agent = backend(api, s, monkeypatch)
        with pytest.raises(ModelRefused, match=stop.split(":")[-1] if api != "responses" else "incomplete"):
            agent.step([])
        assert agent.usage.calls == 1  # the refused call was billed and counted


def test_refusal_ends_the_worker_as_agent_error(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-test-" + secrets.token_hex(8)
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    setup = make_setup(tmp_path)
    brief = setup.brief("w01")
    script = [Reply.tool("read_file", {"path": "recipe.yaml"}), Reply.final("No.", stop_reason="refusal")]
    with FakeAnthropicServer(script, api_key=key) as server:
        config = AgentConfig(kind="anthropic", model="claude-haiku-4-5", base_url=server.base_url)
        agent = make_agent("anthropic", config, brief.budget)
        manifest = run_worker(brief, executor=setup.executor, agent=agent, manifest_path=setup.manifest(brief),
                              trace_path=setup.trace(brief))
    assert [f.mode for f in manifest.failures] == [FailureMode.AGENT_ERROR]
    assert "model refused" in manifest.failures[0].message and manifest.cost.agent_calls == 2


@pytest.mark.parametrize("status", ["failed", "cancelled"])
def test_responses_failed_or_cancelled_is_an_agent_error(status: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with serve("responses", [Reply.final("", stop_reason=status)]) as s:
        agent = backend("responses", s, monkeypatch)
        with pytest.raises(AgentError, match=f"response {status}"):
            agent.step([])


# ------------------------------------------------------------ pause_turn: continue the same turn

def test_pause_turn_is_continued_within_one_step(monkeypatch: pytest.MonkeyPatch) -> None:
    script = [Reply.final("Looking things up.", stop_reason="pause_turn", input_tokens=100, output_tokens=10),
              Reply.tool("read_file", {"path": "a"}, input_tokens=120, output_tokens=12), Reply.final("done")]
    with serve("anthropic", script) as s:
        agent = backend("anthropic", s, monkeypatch)
        turn = agent.step([])
        s.assert_clean()
        assert turn.text == "Looking things up." and turn.tool_calls[0].name == "read_file"
        assert (turn.usage.input_tokens, turn.usage.output_tokens, turn.usage.calls) == (220, 22, 2)
        resent = s.requests[1].body["messages"]
        assert resent[-1]["role"] == "assistant" and resent[-1]["content"][0]["text"] == "Looking things up."
        agent.step(answer(turn.tool_calls))  # the merged turn pairs with its results
        s.assert_clean()


# ------------------------------------------------------------ context overflow: compact, retry once

def _three_turns(agent: LLMBackendBase) -> list:
    calls: list = []
    for _ in range(3):
        turn = agent.step(answer(calls, "y" * 500))
        calls = turn.tool_calls
    return calls


@pytest.mark.parametrize("how", ["stop_reason", "http_400"])
def test_context_overflow_compacts_and_retries_once(how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    overflow = (Reply.final("", stop_reason="model_context_window_exceeded") if how == "stop_reason"
                else Reply.error(400, "prompt is too long: 210000 tokens > 200000 maximum"))
    script = [*[Reply.tool("read_file", {"path": p}) for p in "abc"], overflow, Reply.tool("read_file", {"path": "d"})]
    with serve("anthropic", script) as s:
        agent = backend("anthropic", s, monkeypatch)
        calls = _three_turns(agent)
        turn = agent.step(answer(calls))
        s.assert_clean()
        assert turn.tool_calls[0].arguments == {"path": "d"}
        retried = s.requests[-1].body["messages"]
        assert "<earlier_turns>" in retried[0]["content"][0]["text"]
        assert len(retried) < len(s.requests[-2].body["messages"])


def test_context_overflow_twice_is_context_overflow(monkeypatch: pytest.MonkeyPatch) -> None:
    over = Reply.final("", stop_reason="model_context_window_exceeded")
    with serve("anthropic", [*[Reply.tool("read_file", {"path": p}) for p in "abc"], over, over]) as s:
        agent = backend("anthropic", s, monkeypatch)
        calls = _three_turns(agent)
        with pytest.raises(ContextOverflow, match="even after compaction"):
            agent.step(answer(calls))


def test_responses_carry_reasoning_items_and_price_cached_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    script = [Reply.tool("read_file", {"path": "a"}, input_tokens=4000, output_tokens=100),
              Reply.tool("read_file", {"path": "b"}, input_tokens=5000, output_tokens=100, cache_read_tokens=3500),
              Reply.final("done", input_tokens=6000, output_tokens=50, cache_read_tokens=4500)]
    with serve("responses", script) as s:
        agent = backend("responses", s, monkeypatch)
        calls: list = []
        turns = []
        for _ in range(3):
            turn = agent.step(answer(calls))
            turns.append(turn)
            calls = turn.tool_calls
        s.assert_clean()  # the wire rejects a request that drops a reasoning item of a kept turn
        second = s.requests[1].body
        assert second["store"] is False and "reasoning.encrypted_content" in second["include"]
        assert [i["type"] for i in second["input"][1:]] == ["reasoning", "function_call", "function_call_output"]
        assert second["input"][1]["encrypted_content"].startswith("enc:rs_")
    # gpt-5-mini: $0.25 input, $0.025 cached input, $2 output per million tokens
    assert turns[1].usage.cached_input_tokens == 3500
    assert turns[1].usage.dollars == pytest.approx((1500 * 0.25 + 3500 * 0.025 + 100 * 2.0) / 1e6)
