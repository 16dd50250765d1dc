"""Shared helpers for the worker/sandbox tests: a forked fake substrate and a brief for it."""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from evotrain.paths import CampaignPaths
from evotrain.schemas.brief import Brief, WorkerBudget
from evotrain.schemas.common import RecipeValues
from evotrain.schemas.policy import Axis, AxisRange, DeadEnd
from llm.base import AgentTurn, ToolCall, ToolResult, ToolSpec, Usage
from workers.executors.local import LocalExecutor
from workers.sandbox import create_sandbox, fork_substrate

FAKE_SUBSTRATE = Path(__file__).parent / "fixtures" / "fake_substrate"
FAKE_RECIPE: RecipeValues = {
    "learning_rate": 0.003, "lora_r": 8, "max_steps": 30, "save_steps": [10, 20, 30],
    "mixture_weights": {"alpha": 1.0, "beta": 1.0}, "optimizer": "adamw", "fault": "none",
}
LR_AXIS = Axis(name="lr", category="optimizer", key="learning_rate",
               range=AxisRange(kind="log", low=1e-4, high=3e-2))


def tree_digest(root: Path) -> str:
    """One hash over every file's relative path and bytes (byte-identity checks)."""
    digest = hashlib.sha256()
    for dirpath, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            path = Path(dirpath) / name
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@dataclass
class Setup:
    paths: CampaignPaths
    substrate: Path
    commit: str
    executor: LocalExecutor

    def brief(self, worker_id: str = "w01", *, axis: Axis | None = LR_AXIS, recipe: RecipeValues | None = None,
              dead_ends: list[DeadEnd] | None = None, budget: WorkerBudget | None = None, seed: int = 0,
              round_no: int = 1) -> Brief:
        sandbox = create_sandbox(self.paths.substrate_repo, self.commit, self.paths.sandbox(round_no, worker_id))
        return Brief(campaign=self.paths.campaign, round=round_no, worker_id=worker_id, seed=seed, axis=axis,
                     standing_recipe=dict(recipe or FAKE_RECIPE), dead_ends=dead_ends or [],
                     budget=budget or WorkerBudget(job_timeout_s=60, wall_clock_s=120), sandbox=str(sandbox),
                     substrate_commit=self.commit)

    def manifest(self, brief: Brief) -> Path:
        return self.paths.manifest(brief.round, brief.worker_id)

    def trace(self, brief: Brief) -> Path:
        return self.paths.trace(brief.round, brief.worker_id)


def make_setup(tmp_path: Path, campaign: str = "tc") -> Setup:
    """Copy the fake substrate (so tests can prove it stays byte-identical) and fork it."""
    substrate = tmp_path / "substrate" / "default"
    shutil.copytree(FAKE_SUBSTRATE, substrate)
    paths = CampaignPaths(root=tmp_path / "ws", campaign=campaign)
    commit, _tree = fork_substrate(substrate, paths.substrate_repo)
    return Setup(paths=paths, substrate=substrate, commit=commit,
                 executor=LocalExecutor(paths.jobs, total_slots=2, kill_grace_s=2.0))


class ListAgent:
    """A test AgentBackend that replays a fixed list of turns (each a list of (tool, args))."""

    name = "list"

    def __init__(self, turns: list[list[tuple[str, dict]]], usage: Usage | None = None) -> None:
        self.turns = turns
        self.usage = usage or Usage(calls=1)
        self.seen: list[ToolResult] = []
        self.i = 0

    def start(self, system: str, user: str, tools: list[ToolSpec]) -> None:
        self.i = 0

    def step(self, results: list[ToolResult]) -> AgentTurn:
        self.seen.extend(results)
        calls = self.turns[min(self.i, len(self.turns) - 1)] if self.turns else []
        self.i += 1
        return AgentTurn(tool_calls=[ToolCall(id=f"c{self.i}-{k}", name=n, arguments=a)
                                     for k, (n, a) in enumerate(calls)], usage=self.usage)

    def complete_json(self, system, user, schema, max_attempts=3):  # pragma: no cover - not used by workers
        raise NotImplementedError
