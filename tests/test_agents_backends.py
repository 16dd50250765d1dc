"""Both LLM backends, through their official SDKs, against loopback fakes of each API."""

from __future__ import annotations

import json
import secrets
import socket
from dataclasses import dataclass
from typing import Any

import pytest
from fakes.llm_servers import FakeAnthropicServer, FakeLLMServer, FakeOpenAIServer, FakeToolCall, Reply
from pydantic import BaseModel, Field

from llm.base import AgentError, BudgetExceeded, ToolResult, ToolSpec
from llm.call_log import CallRecorder, read_call_log
from llm.chat_base import LLMBackendBase
from llm.common import LLMBudget
from llm.pricing import ModelPrice
from workers.agents.factory import AgentConfig, make_agent


@dataclass(frozen=True)
class Api:
    kind: str
    server: type[FakeLLMServer]
    model: str
    key_env: str
    price: ModelPrice


APIS = [
    Api(
        "anthropic",
        FakeAnthropicServer,
        "claude-haiku-4-5-20251001",
        "ANTHROPIC_API_KEY",
        ModelPrice(input_per_mtok=1, output_per_mtok=5),
    ),
    Api(
        "openai",
        FakeOpenAIServer,
        "gpt-4.1-mini",
        "OPENAI_API_KEY",
        ModelPrice(input_per_mtok=0.4, output_per_mtok=1.6),
    ),
]

READ = ToolSpec(
    name="read_file",
    description="Read a file of the sandbox.",
    parameters={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)
WRITE = ToolSpec(
    name="write_file",
    description="Write a file of the sandbox.",
    parameters={
        "type": "object",
        "properties": {"path": {"type": "string"}, "text": {"type": "string"}},
        "required": ["path", "text"],
    },
)


class Verdict(BaseModel):
    winner: str
    confidence: float = Field(ge=0, le=1)


@pytest.fixture(params=APIS, ids=[a.kind for a in APIS])
def api(request: pytest.FixtureRequest) -> Api:
    return request.param


@pytest.fixture
def key(api: Api, monkeypatch: pytest.MonkeyPatch) -> str:
    value = "sk-test-" + secrets.token_hex(16)
    monkeypatch.setenv(api.key_env, value)
    return value


def make(
    api: Api, server: FakeLLMServer | None, budget: LLMBudget | None = None, **cfg: Any
) -> tuple[LLMBackendBase, list[float]]:
    sleeps: list[float] = []
    recorder = cfg.pop("recorder", None)
    options: dict[str, Any] = {"backoff_initial_s": 0.05, "backoff_max_s": 1.0, "max_retries": 3, **cfg}
    if server is not None and "base_url" not in options:
        options["base_url"] = server.base_url
    config = AgentConfig(kind=api.kind, model=api.model, **options)  # type: ignore[arg-type]
    agent = make_agent(
        api.kind,  # type: ignore[arg-type]
        config,
        budget or LLMBudget(max_tokens=1_000_000, max_dollars=10.0),
        sleep=sleeps.append,
        recorder=recorder,
    )
    assert isinstance(agent, LLMBackendBase)
    return agent, sleeps


def tool_results_in(api: Api, body: dict[str, Any]) -> dict[str, str]:
    """call id -> result text, as the last request carried them."""
    if api.kind == "anthropic":
        last = body["messages"][-1]
        return {b["tool_use_id"]: b["content"] for b in last["content"] if b.get("type") == "tool_result"}
    return {m["tool_call_id"]: m["content"] for m in body["messages"] if m["role"] == "tool"}


def test_multi_turn_tool_conversation(api: Api, key: str) -> None:
    script = [
        Reply.tool("read_file", {"path": "recipe.yaml"}, input_tokens=1200, output_tokens=40),
        Reply(
            text="Raising the learning rate.",
            tool_calls=[FakeToolCall("write_file", {"path": "recipe.yaml", "text": "lr: 0.001\n"})],
            input_tokens=1500,
            output_tokens=60,
        ),
        Reply.final("Finished: lr raised to 1e-3.", input_tokens=1700, output_tokens=25),
    ]
    with api.server(script, api_key=key) as server:
        agent, _ = make(api, server)
        agent.start("You tune recipes.", "Axis: learning_rate.", [READ, WRITE])
        turn1 = agent.step([])
        assert [(c.name, c.arguments) for c in turn1.tool_calls] == [("read_file", {"path": "recipe.yaml"})]
        call1 = turn1.tool_calls[0]
        turn2 = agent.step([ToolResult(call_id=call1.id, name="read_file", ok=True, content="lr: 0.0005\n")])
        assert turn2.text == "Raising the learning rate."
        assert turn2.tool_calls[0].arguments == {"path": "recipe.yaml", "text": "lr: 0.001\n"}
        call2 = turn2.tool_calls[0]
        turn3 = agent.step([ToolResult(call_id=call2.id, name="write_file", ok=False, content="frozen path")])
        assert turn3.text == "Finished: lr raised to 1e-3." and turn3.tool_calls == []
        server.assert_clean()
        bodies = [r.body for r in server.requests]

    assert len(bodies) == 3
    # the tool results really went back, paired with their call ids (errors flagged)
    assert tool_results_in(api, bodies[1]) == {call1.id: "lr: 0.0005\n"}
    second = tool_results_in(api, bodies[2])
    assert second[call2.id] in {"frozen path", "ERROR: frozen path"}
    if api.kind == "anthropic":
        assert bodies[0]["tools"][0] == {
            "name": "read_file",
            "description": READ.description,
            "input_schema": READ.parameters,
        }
        assert bodies[2]["messages"][-1]["content"][0]["is_error"] is True
        assert bodies[0]["system"] == [
            {"type": "text", "text": "You tune recipes.", "cache_control": {"type": "ephemeral"}}
        ]
    else:
        assert bodies[0]["tools"][0] == {
            "type": "function",
            "function": {"name": "read_file", "description": READ.description, "parameters": READ.parameters},
        }
        assert bodies[0]["messages"][0] == {"role": "system", "content": "You tune recipes."}
    # usage and cost per call, from the API's usage fields x the price table
    for turn, (tin, tout) in zip((turn1, turn2, turn3), ((1200, 40), (1500, 60), (1700, 25)), strict=True):
        assert (turn.usage.input_tokens, turn.usage.output_tokens, turn.usage.calls) == (tin, tout, 1)
        assert turn.usage.dollars == pytest.approx(api.price.cost(tin, tout))
    assert agent.usage.input_tokens == 4400 and agent.usage.output_tokens == 125 and agent.usage.calls == 3


def test_parallel_calls_and_missing_result_is_filled(api: Api, key: str) -> None:
    script = [
        Reply(tool_calls=[FakeToolCall("read_file", {"path": "a"}), FakeToolCall("read_file", {"path": "b"})]),
        Reply.final("ok"),
    ]
    with api.server(script, api_key=key) as server:
        agent, _ = make(api, server)
        agent.start("s", "u", [READ])
        turn = agent.step([])
        assert len(turn.tool_calls) == 2
        first = turn.tool_calls[0]
        # the loop only answered one call: the backend must still pair the other, or the API rejects it
        agent.step([ToolResult(call_id=first.id, name="read_file", ok=True, content="A")])
        server.assert_clean()
        results = tool_results_in(api, server.requests[-1].body)
    assert results[first.id] == "A"
    assert "not executed" in results[turn.tool_calls[1].id]


def test_429_then_success_is_retried(api: Api, key: str, tmp_path: Any) -> None:
    recorder = CallRecorder(tmp_path / "calls.jsonl")
    script = [Reply.error(429, "rate limited", retry_after_s=0.25), Reply.final("hello")]
    with api.server(script, api_key=key) as server:
        agent, sleeps = make(api, server, recorder=recorder)
        agent.start("s", "u", [READ])
        turn = agent.step([])
        assert turn.text == "hello"
        assert [r.status for r in server.requests] == [429, 200]  # the retry, observed at the server
        server.assert_clean()
    assert sleeps == [0.25]  # the server's retry-after-ms was honoured
    assert agent.retries_total == 1
    assert read_call_log(tmp_path / "calls.jsonl")[0].retries == 1


def test_500_retried_with_growing_backoff_then_success(api: Api, key: str) -> None:
    script = [Reply.error(500), Reply.error(502), Reply.error(503), Reply.final("up again")]
    with api.server(script, api_key=key) as server:
        agent, sleeps = make(api, server, max_retries=3, backoff_initial_s=0.1)
        agent.start("s", "u", [READ])
        assert agent.step([]).text == "up again"
        assert [r.status for r in server.requests] == [500, 502, 503, 200]
    assert len(sleeps) == 3
    assert sleeps[0] < sleeps[1] < sleeps[2]  # exponential, jitter only shaves up to 25 %
    assert 0.075 <= sleeps[0] <= 0.1


def test_500_that_keeps_failing_ends_in_agent_error(api: Api, key: str, tmp_path: Any) -> None:
    recorder = CallRecorder(tmp_path / "calls.jsonl")
    with api.server([Reply.error(500, "boom")] * 5, api_key=key) as server:
        agent, sleeps = make(api, server, max_retries=2, recorder=recorder)
        agent.start("s", "u", [READ])
        with pytest.raises(AgentError) as info:
            agent.step([])
        assert len(server.requests) == 3  # 1 + max_retries, then it stops
    message = str(info.value)
    assert "\n" not in message and "giving up after 3 attempts" in message and "HTTP 500" in message
    assert len(sleeps) == 2
    log = read_call_log(tmp_path / "calls.jsonl")
    assert len(log) == 1 and not log[0].ok and "HTTP 500" in log[0].error


def test_real_sleep_backoff_is_short_via_config(api: Api, key: str) -> None:
    config = AgentConfig(kind=api.kind, model=api.model, backoff_initial_s=0.01, max_retries=2)  # type: ignore[arg-type]
    with api.server([Reply.error(503), Reply.final("ok")], api_key=key) as server:
        agent = make_agent(
            api.kind,
            config.model_copy(update={"base_url": server.base_url}),
            LLMBudget(max_tokens=10**6, max_dollars=1),
        )  # type: ignore[arg-type]
        agent.start("s", "u", [READ])
        assert agent.step([]).text == "ok"
        assert len(server.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 404])
def test_permanent_errors_are_not_retried(api: Api, key: str, status: int) -> None:
    with api.server([Reply.error(status, "nope")], api_key=key) as server:
        agent, sleeps = make(api, server)
        agent.start("s", "u", [READ])
        with pytest.raises(AgentError, match=f"HTTP {status}"):
            agent.step([])
        assert len(server.requests) == 1 and sleeps == []


def test_wrong_key_is_a_permanent_401(api: Api, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with api.server([Reply.final("never")], api_key="sk-test-the-right-one-xxxxxxxx") as server:
        agent, _ = make(api, server)
        agent.start("s", "u", [READ])
        with pytest.raises(AgentError, match="HTTP 401"):
            agent.step([])
        assert server.remaining == 1 and len(server.requests) == 1


def test_connection_error_is_retried_then_agent_error(api: Api, key: str) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}" + ("/v1" if api.kind == "openai" else "")
    agent, sleeps = make(api, None, base_url=base, max_retries=2)
    agent.start("s", "u", [READ])
    with pytest.raises(AgentError, match="giving up after 3 attempts"):
        agent.step([])
    assert len(sleeps) == 2


def test_timeout_is_transient(api: Api, key: str) -> None:
    script = [Reply(text="too slow", delay_s=1.0), Reply.final("fast")]
    with api.server(script, api_key=key) as server:
        agent, sleeps = make(api, server, timeout_s=0.3)
        agent.start("s", "u", [READ])
        assert agent.step([]).text == "fast"
        assert len(server.requests) == 2 and len(sleeps) == 1


def test_invalid_tool_arguments_become_parse_error(api: Api, key: str) -> None:
    bad = '{"path": "recipe.yaml"' if api.kind == "openai" else "not an object"
    script = [Reply.tool("read_file", bad), Reply.final("sorry")]
    with api.server(script, api_key=key) as server:
        agent, _ = make(api, server)
        agent.start("s", "u", [READ])
        turn = agent.step([])
        call = turn.tool_calls[0]
        assert call.name == "read_file" and call.arguments == {} and call.parse_error
        # the worker loop answers with an error result; the conversation goes on
        turn2 = agent.step(
            [ToolResult(call_id=call.id, name="read_file", ok=False, content=f"invalid tool call: {call.parse_error}")]
        )
        assert turn2.text == "sorry"
        server.assert_clean()


def test_token_budget_stops_before_the_call_is_sent(api: Api, key: str, tmp_path: Any) -> None:
    recorder = CallRecorder(tmp_path / "calls.jsonl")
    script = [Reply.tool("read_file", {"path": "a"}, input_tokens=3000, output_tokens=500), Reply.final("never sent")]
    budget = LLMBudget(max_tokens=5000, max_dollars=100.0)
    with api.server(script, api_key=key) as server:
        agent, _ = make(api, server, budget=budget, max_tokens_per_call=1000, recorder=recorder)
        agent.start("s", "u", [READ])
        turn = agent.step([])  # worst case 1000 + small input: allowed
        # next call's worst case: 3500 used + input estimate (calibrated on the 3000 real tokens) + 1000 > 5000
        with pytest.raises(BudgetExceeded, match="token budget"):
            agent.step([ToolResult(call_id=turn.tool_calls[0].id, name="read_file", ok=True, content="x")])
        assert len(server.requests) == 1  # the over-budget request never reached the server
        assert server.remaining == 1
    log = read_call_log(tmp_path / "calls.jsonl")
    assert [r.ok for r in log] == [True, False] and "BudgetExceeded" in log[1].error


def test_dollar_budget_stops_before_the_call_is_sent(api: Api, key: str) -> None:
    # a call's worst case is max_tokens_per_call output tokens at the output price
    worst_output = api.price.cost(0, 4096)
    budget = LLMBudget(max_tokens=10**9, max_dollars=worst_output * 0.5)
    with api.server([Reply.final("never")], api_key=key) as server:
        agent, _ = make(api, server, budget=budget, max_tokens_per_call=4096)
        agent.start("s", "u", [READ])
        with pytest.raises(BudgetExceeded, match="dollar budget"):
            agent.step([])
        assert server.requests == []


def test_complete_json_invalid_then_valid(api: Api, key: str) -> None:
    bad = {"winner": "w03", "confidence": 7}
    good = {"winner": "w03", "confidence": 0.8}
    if api.kind == "anthropic":
        script = [Reply.tool("respond", bad), Reply.tool("respond", good)]
    else:
        script = [Reply.final("Sure! " + json.dumps(bad)), Reply.final("```json\n" + json.dumps(good) + "\n```")]
    with api.server(script, api_key=key) as server:
        agent, _ = make(api, server)
        answer = agent.complete_json("You judge rounds.", "Who won?", Verdict, max_attempts=3)
        server.assert_clean()
        first, second = (r.body for r in server.requests)
    assert answer == Verdict(winner="w03", confidence=0.8)
    assert agent.usage.calls == 2
    schema = Verdict.model_json_schema()
    if api.kind == "anthropic":
        assert first["tool_choice"] == {"type": "tool", "name": "respond"}
        assert first["tools"][0]["input_schema"] == schema
        feedback = second["messages"][-1]["content"][0]
        assert feedback["type"] == "tool_result" and feedback["is_error"] is True
        assert "confidence" in feedback["content"]
        assert '"confidence"' in first["system"]  # the schema is in the prompt too
    else:
        assert first["response_format"]["type"] == "json_schema"
        assert first["response_format"]["json_schema"]["schema"] == schema
        assert '"confidence"' in first["messages"][0]["content"]  # the schema is in the prompt too
        assert second["messages"][-1]["role"] == "user" and "confidence" in second["messages"][-1]["content"]


def test_complete_json_gives_up_after_max_attempts(api: Api, key: str) -> None:
    bad = {"winner": 3}
    reply = Reply.tool("respond", bad) if api.kind == "anthropic" else Reply.final(json.dumps(bad))
    with api.server([reply, reply, reply], api_key=key) as server:
        agent, _ = make(api, server)
        with pytest.raises(AgentError, match="no valid Verdict after 2 attempts"):
            agent.complete_json("s", "u", Verdict, max_attempts=2)
        assert len(server.requests) == 2


def test_step_protocol_misuse_is_an_agent_error(api: Api, key: str) -> None:
    with api.server([Reply.tool("read_file", {"path": "a"})], api_key=key) as server:
        agent, _ = make(api, server)
        with pytest.raises(AgentError, match="before start"):
            agent.step([])
        agent.start("s", "u", [READ])
        agent.step([])
        with pytest.raises(AgentError, match="unknown tool call ids"):
            agent.step([ToolResult(call_id="made-up", name="read_file", ok=True, content="")])
        with pytest.raises(AgentError, match="tool name"):
            agent.start("s", "u", [ToolSpec(name="bad name!", description="", parameters={"type": "object"})])


def test_a_failed_step_can_be_retried_with_the_same_results(api: Api, key: str) -> None:
    script = [Reply.tool("read_file", {"path": "a"}), Reply.error(400, "bad"), Reply.final("second try worked")]
    with api.server(script, api_key=key) as server:
        agent, _ = make(api, server)
        agent.start("s", "u", [READ])
        call = agent.step([]).tool_calls[0]
        result = ToolResult(call_id=call.id, name="read_file", ok=True, content="A")
        with pytest.raises(AgentError):
            agent.step([result])
        assert agent.step([result]).text == "second try worked"
        server.assert_clean()  # no duplicated tool results in the retried request
        assert server.requests[1].body == server.requests[2].body
