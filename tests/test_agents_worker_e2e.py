"""End to end: the real worker loop driven by an LLM backend (through its SDK) against a loopback fake.

The fake plays a fixed transcript of tool calls — the reuse pattern for the lead's campaign tests.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from fakes.llm_servers import FakeAnthropicServer, FakeLLMServer, FakeOpenAIServer, Reply
from worker_support import make_setup

from evotrain.schemas.brief import WorkerBudget
from evotrain.schemas.manifest import FailureMode
from llm.call_log import CallRecorder, read_call_log
from workers.agents.factory import AgentConfig, make_agent
from workers.loop import run_worker

BACKENDS: dict[str, tuple[type[FakeLLMServer], str, str]] = {
    "anthropic": (FakeAnthropicServer, "claude-haiku-4-5", "ANTHROPIC_API_KEY"),
    "openai": (FakeOpenAIServer, "gpt-4.1-mini", "OPENAI_API_KEY"),
}
JOB = "tc-r001-w01-a1"  # deterministic job id: <campaign>-r<round>-<worker>-a<attempt>
TRANSCRIPT = [
    ("read_file", {"path": "recipe.yaml"}),
    ("patch_file", {"path": "recipe.yaml", "search": "learning_rate: 0.003", "replace": "learning_rate: 0.006"}),
    ("validate_recipe", {}),
    ("launch_training", {"note": "lr x2"}),
    ("poll_job", {"job_id": JOB, "wait_s": 90}),
    ("read_results", {"job_id": JOB}),
    ("finish", {"rationale": "Hypothesis: a higher peak learning rate trains the adapter faster."}),
]


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(BACKENDS))
def test_llm_driven_worker_writes_a_valid_manifest(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server_cls, model, env = BACKENDS[kind]
    key = "sk-test-" + secrets.token_hex(16)
    monkeypatch.setenv(env, key)
    setup = make_setup(tmp_path)
    brief = setup.brief("w01")
    recorder = CallRecorder(tmp_path / "ws" / "calls.jsonl")
    with server_cls.from_tool_calls(TRANSCRIPT, api_key=key, final_text=None) as server:
        config = AgentConfig(kind=kind, model=model, base_url=server.base_url)  # type: ignore[arg-type]
        agent = make_agent(kind, config, brief.budget, recorder=recorder)  # type: ignore[arg-type]
        manifest = run_worker(
            brief,
            executor=setup.executor,
            agent=agent,
            manifest_path=setup.manifest(brief),
            trace_path=setup.trace(brief),
        )
        server.assert_clean()
        assert server.remaining == 0 and len(server.requests) == len(TRANSCRIPT)
    assert manifest.status == "ok" and manifest.failures == [], manifest.failures
    assert [(c.key, c.old, c.new) for c in manifest.recipe_changes] == [("learning_rate", 0.003, 0.006)]
    assert manifest.chosen_step is not None and manifest.job_ids[-1] == JOB
    calls = read_call_log(recorder.path)
    assert manifest.cost.agent_calls == len(TRANSCRIPT) == len(calls)
    assert manifest.cost.input_tokens == sum(c.usage.input_tokens for c in calls) > 0
    assert manifest.cost.dollars == pytest.approx(sum(c.usage.dollars for c in calls)) and manifest.cost.dollars > 0
    leaks = [p for p in (tmp_path / "ws").rglob("*") if p.is_file() and key.encode() in p.read_bytes()]
    assert leaks == []


@pytest.mark.parametrize("kind", sorted(BACKENDS))
def test_llm_budget_stop_ends_the_worker_cleanly(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server_cls, model, env = BACKENDS[kind]
    key = "sk-test-" + secrets.token_hex(16)
    monkeypatch.setenv(env, key)
    setup = make_setup(tmp_path)
    budget = WorkerBudget(max_tokens=60_000, max_dollars=2.0, job_timeout_s=60, wall_clock_s=120)
    brief = setup.brief("w01", budget=budget)
    # the first call reports 50k input tokens: the next call's worst case no longer fits in 60k
    script = [Reply.tool("read_file", {"path": "recipe.yaml"}, input_tokens=50_000), Reply.final("never sent")]
    with server_cls(script, api_key=key) as server:
        config = AgentConfig(kind=kind, model=model, base_url=server.base_url, max_tokens_per_call=8000)  # type: ignore[arg-type]
        agent = make_agent(kind, config, brief.budget)  # type: ignore[arg-type]
        manifest = run_worker(
            brief,
            executor=setup.executor,
            agent=agent,
            manifest_path=setup.manifest(brief),
            trace_path=setup.trace(brief),
        )
        assert len(server.requests) == 1 and server.remaining == 1
    assert [f.mode for f in manifest.failures] == [FailureMode.BUDGET_EXCEEDED]
    assert "token budget" in manifest.failures[0].message
    assert manifest.cost.input_tokens == 50_000


@pytest.mark.parametrize("kind", sorted(BACKENDS))
def test_llm_invalid_tool_calls_end_as_agent_error(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server_cls, model, env = BACKENDS[kind]
    key = "sk-test-" + secrets.token_hex(16)
    monkeypatch.setenv(env, key)
    setup = make_setup(tmp_path)
    brief = setup.brief("w01")
    bad = '{"path": ' if kind == "openai" else "not an object"
    with server_cls([Reply.tool("read_file", bad)] * 5, api_key=key) as server:
        config = AgentConfig(kind=kind, model=model, base_url=server.base_url)  # type: ignore[arg-type]
        agent = make_agent(kind, config, brief.budget)  # type: ignore[arg-type]
        manifest = run_worker(
            brief,
            executor=setup.executor,
            agent=agent,
            manifest_path=setup.manifest(brief),
            trace_path=setup.trace(brief),
        )
        server.assert_clean()
    assert [f.mode for f in manifest.failures] == [FailureMode.AGENT_ERROR]
    assert "invalid tool calls" in manifest.failures[0].message
