"""Acceptance: a scripted worker on the real default substrate, manifest + trace in <= 2 min."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from evotrain.paths import CampaignPaths
from evotrain.schemas.brief import Brief, WorkerBudget
from evotrain.schemas.policy import Axis, AxisRange
from workers.agents.scripted import ScriptedAgent
from workers.executors.local import LocalExecutor
from workers.loop import run_worker
from workers.sandbox import create_sandbox, fork_substrate, spec_at
from workers.substrate_contract import load_recipe
from workers.trace import read_trace

DEFAULT = Path(__file__).resolve().parents[1] / "substrate" / "default"
pytestmark = pytest.mark.slow


def _digest(root: Path) -> str:
    """Bytes of every file the fork would snapshot (runtime caches and run outputs excluded)."""
    digest = hashlib.sha256()
    for dirpath, dirs, files in sorted(os.walk(root)):
        dirs[:] = sorted(d for d in dirs if d not in {"__pycache__", "runs"})
        for name in sorted(f for f in files if not f.endswith(".pyc")):
            path = Path(dirpath) / name
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@pytest.mark.skipif(not (DEFAULT / "substrate.yaml").is_file(), reason="substrate/default not landed yet")
def test_scripted_worker_on_default_substrate_within_two_minutes(tmp_path: Path) -> None:
    before = _digest(DEFAULT)
    paths = CampaignPaths(root=tmp_path / "ws", campaign="dflt")
    commit, _ = fork_substrate(DEFAULT, paths.substrate_repo)
    spec = spec_at(paths.substrate_repo, commit)
    sandbox = create_sandbox(paths.substrate_repo, commit, paths.sandbox(1, "w02"))
    standing = load_recipe(sandbox / spec.recipe_file)
    axis = Axis(name="learning_rate", category="optimizer", key="learning_rate",
                range=AxisRange(kind="log", low=1e-4, high=3e-2))
    brief = Brief(campaign="dflt", round=1, worker_id="w02", seed=1, axis=axis, standing_recipe=standing,
                  budget=WorkerBudget(wall_clock_s=120, job_timeout_s=110), sandbox=str(sandbox),
                  substrate_commit=commit)
    # the 2-minute target is the worker's own hard wall-clock limit: past it, the manifest is
    # budget_exceeded and this test fails (timings themselves: benchmarks/worker_scripted.py)
    manifest = run_worker(brief, executor=LocalExecutor(paths.jobs, total_slots=2), agent=ScriptedAgent(),
                          manifest_path=paths.manifest(1, "w02"), trace_path=paths.trace(1, "w02"))
    assert manifest.status == "ok", manifest.failures
    assert manifest.chosen_adapter and Path(manifest.chosen_adapter).is_dir()
    assert [c.key for c in manifest.recipe_changes] == ["learning_rate"]
    assert set(manifest.checkpoints[0].by_family) == set(spec.families)
    assert read_trace(paths.trace(1, "w02"))[-1].kind == "finish"
    # substrate/default byte-identical (only its owner's edits during the run could change it)
    assert _digest(DEFAULT) == before, "substrate/default changed during the worker run"
