"""The API key never reaches a file, a log, a repr or an error message."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.llm_servers import FakeAnthropicServer, FakeLLMServer, FakeOpenAIServer, Reply
from pydantic import BaseModel, ValidationError

from evotrain.errors import EvotrainError, first_validation_error
from evotrain.io import append_jsonl, atomic_write_text, write_model
from llm.base import AgentError, ToolResult, ToolSpec
from llm.call_log import CallRecorder, read_call_log
from llm.common import REDACTED, LLMBudget, Secret, redact, resolve_api_key
from workers.agents.factory import AgentConfig, make_agent

SERVERS: dict[str, tuple[type[FakeLLMServer], str, str]] = {
    "anthropic": (FakeAnthropicServer, "claude-haiku-4-5", "ANTHROPIC_API_KEY"),
    "openai": (FakeOpenAIServer, "gpt-4o-mini", "OPENAI_API_KEY"),
}
TOOL = ToolSpec(name="read_file", description="read", parameters={"type": "object", "properties": {}})
SDK_LOGGERS = ("anthropic", "openai", "httpx", "httpx2", "httpcore")


class Note(BaseModel):
    text: str


@pytest.fixture
def debug_log(tmp_path: Path) -> Iterator[Path]:
    """Every SDK/HTTP logger at DEBUG into a file under tmp_path (the most talkative setting)."""
    path = tmp_path / "sdk-debug.log"
    handler = logging.FileHandler(path)
    handler.setLevel(logging.DEBUG)
    saved = {}
    for name in SDK_LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    yield path
    for name in SDK_LOGGERS:
        logger = logging.getLogger(name)
        logger.removeHandler(handler)
        logger.setLevel(saved[name])
    handler.close()


@pytest.mark.parametrize("kind", sorted(SERVERS))
def test_no_artifact_contains_the_api_key(
    kind: str, tmp_path: Path, debug_log: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    server_cls, model, env = SERVERS[kind]
    key = "sk-test-" + secrets.token_hex(20)
    monkeypatch.setenv(env, key)
    out = tmp_path / "artifacts"
    recorder = CallRecorder(out / "calls.jsonl")
    config = AgentConfig(kind=kind, model=model, backoff_initial_s=0.01)  # type: ignore[arg-type]
    budget = LLMBudget(max_tokens=10**6, max_dollars=5.0)
    respond = Reply.tool("respond", {"text": "hi"}) if kind == "anthropic" else Reply.final('{"text": "hi"}')
    bad_args = Reply.tool("read_file", '{"path": ' if kind == "openai" else "nope")
    script = [
        Reply.error(429, retry_after_s=0.01),
        Reply.tool("read_file", {"path": "a"}),
        bad_args,
        Reply.final("done"),
        respond,
    ]
    with server_cls(script, api_key=key) as server:
        config = config.model_copy(update={"base_url": server.base_url})
        agent = make_agent(kind, config, budget, recorder=recorder)  # type: ignore[arg-type]
        agent.start("system", "user", [TOOL])
        turns = [agent.step([])]
        for _ in range(2):
            call = turns[-1].tool_calls[0]
            turns.append(
                agent.step([ToolResult(call_id=call.id, name=call.name, ok=call.parse_error is None, content="x")])
            )
        note = agent.complete_json("system", "user", Note)
        server.assert_clean()
    assert note.text == "hi"

    # a careless server that echoes the credentials it received in its error message
    with server_cls([], api_key="sk-test-other-key-0000000000", echo_key_in_errors=True) as echo:
        leaky = make_agent(kind, config.model_copy(update={"base_url": echo.base_url}), budget, recorder=recorder)  # type: ignore[arg-type]
        leaky.start("system", "user", [TOOL])
        with pytest.raises(AgentError) as info:
            leaky.step([])
        assert key in json.dumps(echo.requests[0].headers)  # the key really was sent (and echoed) ...
    assert REDACTED in str(info.value)  # ... and scrubbed from the error

    # everything a worker would persist about this run
    for turn in turns:
        append_jsonl(out / "turns.jsonl", turn.model_dump_json())
    write_model(out / "agent_config.json", config)
    atomic_write_text(out / "misc.txt", "\n".join([repr(agent), str(agent), str(info.value), repr(info.value)]))
    captured = capfd.readouterr()
    atomic_write_text(out / "console.txt", captured.out + captured.err)

    # not vacuous: the files hold the run
    records = read_call_log(out / "calls.jsonl")
    assert len(records) == 5 and sum(r.retries for r in records) == 1
    assert any(r.tool_calls and r.tool_calls[0].parse_error for r in records)
    assert "HTTP Request" in debug_log.read_text() or "Request options" in debug_log.read_text()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) >= 6
    leaks = [str(p) for p in files if key.encode() in p.read_bytes()]
    assert leaks == []


def test_secret_and_redaction_helpers() -> None:
    secret = Secret("sk-live-abcdefghijklmnop")
    assert "abcdef" not in repr(secret) and "abcdef" not in str(secret) and "abcdef" not in f"{secret}"
    assert redact("key=sk-live-abcdefghijklmnop!", [secret]) == f"key={REDACTED}!"
    # key-shaped strings are scrubbed even when unknown
    assert redact("Bearer sk-ant-api03-XYZxyz0123456789") == f"Bearer {REDACTED}"
    assert redact("nothing secret here") == "nothing secret here"


def test_missing_key_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVOTRAIN_TEST_KEY", raising=False)
    config = AgentConfig(kind="openai", model="gpt-4o-mini", api_key_env="EVOTRAIN_TEST_KEY")
    with pytest.raises(EvotrainError) as info:
        make_agent("openai", config, LLMBudget(max_tokens=1, max_dollars=1))
    assert str(info.value) == "agent.api_key_env: environment variable EVOTRAIN_TEST_KEY is not set"
    assert info.value.exit_code == 2 and isinstance(info.value, AgentError)


def test_optional_key_for_local_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    assert resolve_api_key("NO_SUCH_KEY_VAR", optional=True).reveal() == "EMPTY"


def test_a_key_pasted_into_api_key_env_is_rejected_without_echo() -> None:
    pasted = "sk-proj-" + "a1b2c3d4" * 4
    with pytest.raises(ValidationError) as info:
        AgentConfig(kind="openai", model="gpt-4o-mini", api_key_env=pasted)
    line = first_validation_error(info.value, "agent.yaml")
    assert "api_key_env" in line
    assert pasted not in str(info.value) and pasted not in line
