"""The scripted worker end to end on the fake substrate: manifest, trace, resume, baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from worker_support import FAKE_RECIPE, make_setup, tree_digest

from evotrain.io import read_model
from evotrain.schemas.manifest import Manifest
from llm.base import AgentTurn, ToolResult
from workers.agents.scripted import ScriptedAgent
from workers.loop import run_worker
from workers.trace import read_trace


def test_scripted_worker_writes_valid_manifest_and_trace(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    brief = setup.brief("w01", seed=0)
    before = tree_digest(setup.substrate)
    manifest = run_worker(brief, executor=setup.executor, agent=ScriptedAgent(),
                          manifest_path=setup.manifest(brief), trace_path=setup.trace(brief))
    assert read_model(setup.manifest(brief), Manifest) == manifest
    assert manifest.status == "ok" and manifest.usable and manifest.failures == []
    assert manifest.axis == "lr" and manifest.axis_category == "optimizer" and not manifest.is_baseline
    assert [(c.key, c.old) for c in manifest.recipe_changes] == [("learning_rate", 0.003)]
    # The documented rule (workers/agents/scripted_search.py): visit 0 steps towards the range's
    # geometric middle, sqrt(1e-4 * 3e-2) = 0.00173 < 0.003, so the step is downward (/2).
    new_lr = manifest.recipe["learning_rate"]
    assert new_lr == 0.0015 and manifest.recipe_changes[0].new == new_lr
    assert f"+learning_rate: {new_lr}" in manifest.recipe_diff and "--- a/recipe.yaml" in manifest.recipe_diff
    assert [c.step for c in manifest.checkpoints] == [10, 20, 30]
    best = max(manifest.checkpoints, key=lambda c: c.overall)
    assert manifest.chosen_step == best.step and manifest.dev_score == best.overall
    adapter = Path(manifest.chosen_adapter or "")
    assert adapter.is_absolute() and (adapter / "adapter_config.json").is_file()
    assert manifest.job_ids == ["tc-r001-w01-s1", "tc-r001-w01-a1"]
    assert manifest.cost.cpu_seconds > 0 and manifest.cost.agent_calls >= 8 and manifest.wall_time_s > 0
    assert manifest.training.steps == 30 and manifest.training.final_loss is not None
    assert "Hypothesis" in manifest.rationale and "learning_rate" in manifest.rationale
    events = read_trace(manifest.trace_path)
    assert [e.seq for e in events] == list(range(len(events)))
    kinds = {e.kind for e in events}
    assert {"start", "agent_turn", "tool_call", "tool_result", "job_state", "finish"} <= kinds
    states = [e.args["state"] for e in events if e.kind == "job_state" and e.args["job_id"] == "tc-r001-w01-a1"]
    assert states[-1] == "succeeded"
    assert tree_digest(setup.substrate) == before


def test_existing_manifest_is_returned_without_redoing_work(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    brief = setup.brief("w01")
    first = run_worker(brief, executor=setup.executor, agent=ScriptedAgent(), manifest_path=setup.manifest(brief),
                       trace_path=setup.trace(brief))
    n_events = len(read_trace(setup.trace(brief)))
    again = run_worker(brief, executor=setup.executor, agent=ScriptedAgent(), manifest_path=setup.manifest(brief),
                       trace_path=setup.trace(brief))
    assert again == first and len(read_trace(setup.trace(brief))) == n_events


class KilledAfterLaunch(ScriptedAgent):
    """Dies (like kill -9) right after its launch_training call returned."""

    def step(self, results: list[ToolResult]) -> AgentTurn:
        if results and results[-1].name == "launch_training":
            raise SystemExit("killed")
        return super().step(results)


def test_resumed_worker_reattaches_to_its_launched_job(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    brief = setup.brief("w05")
    with pytest.raises(SystemExit):
        run_worker(brief, executor=setup.executor, agent=KilledAfterLaunch(), manifest_path=setup.manifest(brief),
                   trace_path=setup.trace(brief))
    assert not setup.manifest(brief).exists()
    manifest = run_worker(brief, executor=setup.executor, agent=ScriptedAgent(),
                          manifest_path=setup.manifest(brief), trace_path=setup.trace(brief))
    assert manifest.status == "ok"
    assert [j for j in manifest.job_ids if "-a" in j] == ["tc-r001-w05-a1"]  # not trained twice
    launches = [json.loads(e.detail) for e in read_trace(setup.trace(brief))
                if e.kind == "tool_result" and e.tool == "launch_training"]
    assert [x["reattached"] for x in launches] == [False, True]


def test_baseline_anchor_trains_the_standing_recipe(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    standing = {**FAKE_RECIPE, "lora_r": 16}  # a promoted change the fork must inherit
    brief = setup.brief("w00", axis=None, recipe=standing, seed=3)
    manifest = run_worker(brief, executor=setup.executor, agent=ScriptedAgent(),
                          manifest_path=setup.manifest(brief), trace_path=setup.trace(brief))
    assert manifest.status == "ok" and manifest.is_baseline and manifest.axis == "baseline"
    assert manifest.recipe == standing
    assert [(c.key, c.old, c.new) for c in manifest.recipe_changes] == [("lora_r", 8, 16)]
    assert "Baseline anchor (seed 3)" in manifest.rationale
    calls = [e.tool for e in read_trace(setup.trace(brief)) if e.kind == "tool_call"]
    assert "write_file" not in calls and "patch_file" not in calls


def test_proxy_aware_objective_reaches_the_checkpoint_rule(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    brief = setup.brief("w02").model_copy(update={"objective": "proxy_aware"})
    manifest = run_worker(brief, executor=setup.executor, agent=ScriptedAgent(),
                          manifest_path=setup.manifest(brief), trace_path=setup.trace(brief))
    macro = {c.step: sum(c.by_family.values()) / len(c.by_family) for c in manifest.checkpoints}
    assert manifest.chosen_step == max(macro, key=lambda s: (macro[s], -s))
    assert "proxy_aware" in manifest.rationale


def test_parallel_workers_share_one_fork_and_executor(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    setup = make_setup(tmp_path)
    briefs = [setup.brief(f"w0{i}", seed=i, axis=None if i == 1 else setup.brief().axis) for i in (1, 2, 3)]
    briefs[2] = briefs[2].model_copy(update={"axis_visit": 1})  # the planner's second worker on the axis

    def one(brief):  # type: ignore[no-untyped-def]
        return run_worker(brief, executor=setup.executor, agent=ScriptedAgent(),
                          manifest_path=setup.manifest(brief), trace_path=setup.trace(brief))

    with ThreadPoolExecutor(max_workers=3) as pool:
        manifests = list(pool.map(one, briefs))
    assert [m.status for m in manifests] == ["ok", "ok", "ok"]
    assert manifests[0].is_baseline and manifests[0].recipe_changes == []
    lrs = [m.recipe["learning_rate"] for m in manifests[1:]]
    assert lrs == [0.0015, 0.006]  # visits 0 and 1 step opposite ways along the same axis
    assert len({m.chosen_adapter for m in manifests}) == 3
