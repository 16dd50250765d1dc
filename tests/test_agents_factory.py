"""make_agent and AgentConfig: kinds, lazy scripted import, config errors as one line."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from pydantic import ValidationError

from evotrain.errors import EvotrainError
from evotrain.schemas.brief import WorkerBudget
from llm.common import LLMBudget
from workers.agents.factory import AgentConfig, load_agent_config, make_agent


def test_scripted_is_imported_lazily_and_gets_its_options(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict] = []

    class StubScripted:
        name = "scripted"

        def __init__(self, **kwargs: object) -> None:
            made.append(kwargs)

    module = types.ModuleType("workers.agents.scripted")
    module.ScriptedAgent = StubScripted  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "workers.agents.scripted", module)
    agent = make_agent("scripted", brief="B", seed=3)
    assert isinstance(agent, StubScripted) and made == [{"brief": "B", "seed": 3}]


def test_llm_kinds_need_model_config_and_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-000000000000")
    with pytest.raises(ValidationError, match="model is required"):
        AgentConfig(kind="anthropic")
    with pytest.raises(EvotrainError, match="needs an agent config"):
        make_agent("openai")
    config = AgentConfig(kind="openai", model="gpt-4o-mini")
    with pytest.raises(EvotrainError, match="needs a token and dollar budget"):
        make_agent("openai", config)
    with pytest.raises(EvotrainError, match="config says 'openai' but 'anthropic'"):
        make_agent("anthropic", config, LLMBudget(max_tokens=1, max_dollars=1))


def test_worker_budget_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-000000000000")
    agent = make_agent(
        "openai", AgentConfig(kind="openai", model="gpt-4o-mini"), WorkerBudget(max_tokens=123, max_dollars=0.5)
    )
    assert agent.meter.budget == LLMBudget(max_tokens=123, max_dollars=0.5)  # type: ignore[attr-defined]
    assert agent.name == "openai"


def test_unknown_model_price_fails_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-000000000000")
    with pytest.raises(EvotrainError, match="no price for model 'claude-unknown-9'"):
        make_agent(
            "anthropic", AgentConfig(kind="anthropic", model="claude-unknown-9"), LLMBudget(max_tokens=1, max_dollars=1)
        )


def test_agent_config_file(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(
        "kind: openai\nmodel: qwen2.5-7b\nbase_url: http://127.0.0.1:8000/v1\napi_key_optional: true\n"
        "prices: {allow_unpriced: true}\n"
    )
    config = load_agent_config(path)
    assert config.key_env == "OPENAI_API_KEY" and config.retry_policy().max_retries == 4
    path.write_text("kind: openai\nmodel: m\nmax_retires: 3\n")
    with pytest.raises(EvotrainError) as info:
        load_agent_config(path)
    assert "max_retires" in str(info.value) and "\n" not in str(info.value)


def test_local_server_without_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = AgentConfig(
        kind="openai",
        model="qwen-local",
        base_url="http://127.0.0.1:9/v1",
        api_key_optional=True,
        prices={"allow_unpriced": True},
    )  # type: ignore[arg-type]
    agent = make_agent("openai", config, LLMBudget(max_tokens=10, max_dollars=0))
    assert "qwen-local" in repr(agent)


def test_default_config_is_the_offline_scripted_agent() -> None:
    config = AgentConfig()
    assert config.kind == "scripted" and config.model == "" and config.key_env == ""


def test_config_without_kind_takes_the_requested_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-000000000000")
    path = tmp_path / "agent.yaml"
    path.write_text("model: claude-haiku-4-5\nmax_retries: 1\n")
    agent = make_agent("anthropic", load_agent_config(path), LLMBudget(max_tokens=1, max_dollars=1))
    assert agent.name == "anthropic" and agent.config.max_retries == 1  # type: ignore[attr-defined]
    path.write_text("max_retries: 1\n")  # no model: still refused, naming the problem
    with pytest.raises(EvotrainError, match="model is required for kind 'anthropic'"):
        make_agent("anthropic", load_agent_config(path), LLMBudget(max_tokens=1, max_dollars=1))
