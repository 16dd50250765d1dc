"""Prompt caching on Anthropic (asserted on the recorded requests), cached tokens priced as cached,
unknown-model refusal under a dollar cap, and worker + collector + meta spend in `campaign status`."""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

import pytest
from _meta_synth import Cand, FakeLeaderboard, rules, stage_round, write_substrate
from fakes.llm_servers import FakeAnthropicServer, FakeOpenAIServer, Reply
from rich.console import Console
from worker_support import make_setup

from evotrain.errors import EvotrainError
from evotrain.paths import CampaignPaths
from llm.call_log import read_call_log
from llm.common import LLMBudget
from llm.config import AgentConfig
from llm.factory import make_llm_backend
from llm.pricing import DEFAULT_PRICES, PriceTable
from orchestrator.audit.dashboard import render_dashboard
from orchestrator.campaign import accounting, llm_spend
from orchestrator.campaign.status import campaign_status
from orchestrator.cli.campaign import _status_table
from orchestrator.collect.collector import collect_round
from orchestrator.collect.narrative import LLMNarrativeWriter
from orchestrator.config import Limits
from orchestrator.meta import constitution as const
from orchestrator.meta import policy_store
from orchestrator.meta.agent import next_policy
from orchestrator.meta.edit import edit_from
from orchestrator.meta.scripted import scripted_policy
from workers.agents.factory import make_agent
from workers.loop import run_worker

SHIPPED = Path(__file__).resolve().parents[1] / "constitution"
CACHE = {"type": "ephemeral"}
TRANSCRIPT = [
    ("read_file", {"path": "recipe.yaml"}),
    ("patch_file", {"path": "recipe.yaml", "search": "learning_rate: 0.003", "replace": "learning_rate: 0.004"}),
    ("validate_recipe", {}),
    ("launch_training", {"note": "lr"}),
    ("poll_job", {"job_id": "tc-r001-w01-a1", "wait_s": 60}),
    ("read_results", {"job_id": "tc-r001-w01-a1"}),
    ("finish", {"rationale": "Hypothesis: a slightly higher learning rate trains faster."}),
]


def _worker(tmp_path: Path, paths: CampaignPaths | None = None, model: str = "claude-sonnet-4-5"):
    """A worker session on the fake substrate; every call after the first reads 2000 cached tokens."""
    key = "sk-test-" + secrets.token_hex(8)
    setup = make_setup(tmp_path)
    brief = setup.brief("w01")
    script = [Reply.tool(n, a, input_tokens=3000, output_tokens=50, cache_read_tokens=2000 if i else 0,
                         cache_write_tokens=0 if i else 2000) for i, (n, a) in enumerate(TRANSCRIPT)]
    log_paths = paths or setup.paths
    with FakeAnthropicServer(script, api_key=key) as server, pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANTHROPIC_API_KEY", key)
        config = AgentConfig(kind="anthropic", model=model, base_url=server.base_url)
        agent = make_agent("anthropic", config, brief.budget,
                           recorder=llm_spend.recorder(log_paths, "worker", "r001/w01"))
        manifest = run_worker(brief, executor=setup.executor, agent=agent, manifest_path=setup.manifest(brief),
                              trace_path=setup.trace(brief))
        server.assert_clean()
    return manifest, server


def test_anthropic_requests_mark_the_stable_prefix_and_cached_tokens_are_priced_as_cached(tmp_path: Path) -> None:
    manifest, server = _worker(tmp_path)
    assert manifest.status == "ok", manifest.failures
    bodies = [r.body for r in server.requests]
    for i, body in enumerate(bodies):
        assert body["tools"][-1]["cache_control"] == CACHE and all("cache_control" not in t for t in body["tools"][:-1])
        assert body["system"][0]["cache_control"] == CACHE
        assert body["messages"][0]["content"][0]["cache_control"] == CACHE  # the brief (+ summary) head
        marks = [b for m in body["messages"] for b in m["content"] if isinstance(b, dict) and "cache_control" in b]
        assert len(marks) + 2 <= 4  # the API allows four breakpoints
        if i:  # the newest tool result is the conversation prefix cached for the next turn
            last = body["messages"][-1]["content"]
            result = [b for b in last if b["type"] == "tool_result"][-1]
            assert result["cache_control"] == CACHE
            assert last[-1]["type"] == "text" and last[-1]["text"].startswith("<state>")  # the note comes after
    # claude-sonnet-4-5: $3 input, $0.30 cache read, $3.75 cache write, $15 output per million tokens
    first = (1000 * 3 + 2000 * 3.75 + 50 * 15) / 1e6
    later = (1000 * 3 + 2000 * 0.30 + 50 * 15) / 1e6
    assert manifest.cost.dollars == pytest.approx(first + 6 * later)
    calls = read_call_log(CampaignPaths(root=tmp_path / "ws", campaign="tc").llm_calls)
    assert [c.usage.cached_input_tokens for c in calls] == [0, *[2000] * 6]
    assert calls[0].usage.cache_write_tokens == 2000 and all(c.latency_s > 0 for c in calls)


def test_price_table_is_current_and_overridable() -> None:
    table = PriceTable()
    assert table.lookup("claude-opus-4-6").cache_read_rate == pytest.approx(0.5)
    assert table.lookup("gpt-5.4-mini-2026-03-17").cached_input_per_mtok == pytest.approx(0.075)
    assert DEFAULT_PRICES["gpt-5"].cost(1_000_000, 0, cached_tokens=1_000_000) == pytest.approx(0.125)
    custom = PriceTable.model_validate({"models": {"claude-sonnet-4-5": {"input_per_mtok": 1, "output_per_mtok": 2}}})
    assert custom.lookup("claude-sonnet-4-5").input_per_mtok == 1


def test_unknown_model_refused_under_a_dollar_cap_and_counted_without(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-test-unknown-model"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    with FakeOpenAIServer([Reply.final("hi", input_tokens=700, output_tokens=20)], api_key=key) as s:
        config = AgentConfig(kind="openai", model="my-finetune-7b", base_url=s.base_url)
        with pytest.raises(EvotrainError) as info:
            make_llm_backend(config, LLMBudget(max_tokens=10**6, max_dollars=5.0))
        assert "prices.models" in str(info.value) and "my-finetune-7b" in str(info.value)
        assert "\n" not in str(info.value)
        agent = make_llm_backend(config, LLMBudget(max_tokens=10**6, max_dollars=None))
        agent.start("sys", "user", [])
        turn = agent.step([])
    assert (turn.usage.input_tokens, turn.usage.output_tokens, turn.usage.dollars) == (700, 20, 0.0)


def test_remaining_campaign_budget_for_collector_and_meta() -> None:
    assert llm_spend.remaining_budget(Limits(tokens=1000, dollars=2.0), 400, 0.5) == LLMBudget(
        max_tokens=600, max_dollars=1.5)
    assert llm_spend.remaining_budget(Limits(), 400, 0.5).max_dollars is None


def test_campaign_status_shows_worker_collector_and_meta_spend(tmp_path: Path) -> None:
    paths = CampaignPaths(root=tmp_path / "camp", campaign="c1")
    shutil.copytree(SHIPPED, tmp_path / "constitution")
    c = const.load(tmp_path / "constitution")
    c = const.Constitution(directory=c.directory, text=c.text, rules=rules())
    recipe, axes = write_substrate(tmp_path)
    policy = policy_store.initial_policy("c1", recipe, axes, c.rules)
    board = FakeLeaderboard(3)
    stage_round(paths, policy, board, [Cand("w01", "baseline", "baseline", 0.80, 0.80),
                                       Cand("w02", "learning_rate", "optimizer", 0.81, 0.80, change=("lr", 0.002))])
    key = "sk-test-" + secrets.token_hex(8)
    narr = {"candidate_summaries": {"w01": "anchor", "w02": "lr 0.002: flat"}, "patterns": [], "surprises": [],
            "audit_notes": {}, "calibration": "dev and leaderboard agree within the band"}

    with FakeOpenAIServer([Reply.final(json.dumps(narr), input_tokens=1500, output_tokens=200,
                                       cache_read_tokens=1024)], api_key=key) as s, \
            pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENAI_API_KEY", key)
        cfg = AgentConfig(kind="openai", model="gpt-4.1-mini", base_url=s.base_url)
        backend = make_llm_backend(cfg, llm_spend.remaining_budget(Limits(dollars=10.0), 0, 0.0),
                                   recorder=llm_spend.recorder(paths, "collector", "r001"))
        report = collect_round(paths, 1, policy, board, c.rules, narrator=LLMNarrativeWriter(backend))
        s.assert_clean()
    assert report.calibration.narrative == "dev and leaderboard agree within the band"
    edit = edit_from(policy, scripted_policy(policy, report, c.rules)).model_copy(update={"rationale": "flat round"})
    with FakeAnthropicServer([Reply.tool("respond", edit.model_dump(mode="json"), input_tokens=5000,
                                         output_tokens=300)], api_key=key) as s, pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANTHROPIC_API_KEY", key)
        cfg = AgentConfig(kind="anthropic", model="claude-sonnet-4-6", base_url=s.base_url)
        backend = make_llm_backend(cfg, LLMBudget(max_tokens=10**6, max_dollars=10.0),
                                   recorder=llm_spend.recorder(paths, "meta", "r001"))
        result = next_policy(paths.policies, policy, report, c, backend=backend)
        s.assert_clean()
    assert result.source == "llm" and result.policy.rationale == "flat round"
    _worker(tmp_path / "w", paths=paths, model="claude-haiku-4-5")

    st = campaign_status(paths, rounds=2)
    spend = st.llm_spend
    assert (spend["collector"].calls, spend["collector"].cached_input_tokens) == (1, 1024)
    # gpt-4.1-mini: $0.40 input, $0.10 cached, $1.60 output; claude-sonnet-4-6: $3 / $15
    assert spend["collector"].dollars == pytest.approx((476 * 0.4 + 1024 * 0.1 + 200 * 1.6) / 1e6)
    assert spend["meta"].dollars == pytest.approx((5000 * 3 + 300 * 15) / 1e6)
    assert spend["worker"].calls == len(TRANSCRIPT)
    # the campaign budget counts collector + meta on top of the (here absent) worker manifests
    used = accounting.usage(paths)
    assert used.dollars == pytest.approx(spend["collector"].dollars + spend["meta"].dollars)
    console = Console(record=True, width=200)
    console.print(_status_table(st))
    text = console.export_text()
    assert "collector: 1 calls" in text and "meta: 1 calls" in text and f"worker: {len(TRANSCRIPT)} calls" in text
    html = render_dashboard(paths).read_text()
    table = html[html.index('id="llm-spend-table"'):]
    assert all(f"<td>{role}</td>" in table for role in ("collector", "meta", "worker"))


def test_campaign_config_with_an_unpriced_model_under_a_dollar_cap_is_refused() -> None:
    from orchestrator.campaign.llm_spend import check_prices
    from orchestrator.config import CampaignConfig

    meta = {"meta": {"kind": "openai", "model": "my-model", "base_url": "http://127.0.0.1:1/v1"}}
    check_prices(CampaignConfig.model_validate({"name": "x", "agents": meta}))  # no dollar cap: runs, counts tokens
    capped = CampaignConfig.model_validate({"name": "x", "agents": meta, "campaign_budget": {"dollars": 5}})
    with pytest.raises(EvotrainError, match=r"^agents\.meta\.prices\.models: no price for model 'my-model'"):
        check_prices(capped)
    worker = {"worker": {"kind": "anthropic", "model": "claude-sonnet-4-6"}}
    check_prices(CampaignConfig.model_validate({"name": "x", "agents": worker}))  # priced: fine under the $2 cap
