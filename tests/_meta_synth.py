"""Synthetic rounds for the collector / meta / constitution tests: manifests + a fake leaderboard.

No training: every candidate's dev and leaderboard scores are given by the test (or drawn from a
seeded RNG for A/A), exactly as a real worker and leaderboard would report them.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evotrain.io import write_model
from evotrain.paths import CampaignPaths
from evotrain.schemas.common import set_path
from evotrain.schemas.constitution import ConstitutionRules
from evotrain.schemas.manifest import Manifest
from evotrain.schemas.policy import Policy
from evotrain.schemas.report import RoundReport
from evotrain.schemas.results import CheckpointEval
from orchestrator.collect.collector import collect_round
from orchestrator.leaderboard.base import LeaderboardScore, SubmissionBudgetExceeded
from orchestrator.meta import policy_store
from orchestrator.meta.agent import next_policy
from orchestrator.meta.constitution import Constitution, enforce

FAMILIES = ["bit", "equation"]
RECIPE: dict[str, Any] = {
    "lr": 0.001, "warmup_steps": 10, "lora_rank": 8, "mixture_weights": {"bit": 1.0, "equation": 1.0},
    "checkpoint_metric": "overall", "base_model": "tiny", "eval_split": "dev",
}
AXES: list[dict[str, Any]] = [
    {"name": "learning_rate", "category": "optimizer", "key": "lr",
     "range": {"kind": "log", "low": 1e-5, "high": 1e-2}},
    {"name": "warmup", "category": "optimizer", "key": "warmup_steps", "range": {"kind": "int", "low": 0, "high": 100}},
    {"name": "lora_rank", "category": "capacity", "key": "lora_rank",
     "range": {"kind": "choice", "choices": [4, 8, 16, 32]}},
    {"name": "equation_weight", "category": "data_mix", "key": "mixture_weights.equation",
     "range": {"kind": "linear", "low": 0.0, "high": 4.0}},
    {"name": "ckpt_metric", "category": "checkpoint_selection", "key": "checkpoint_metric",
     "range": {"kind": "choice", "choices": ["overall", "reweighted"]}},
]


def write_substrate(tmp: Path) -> tuple[Path, Path]:
    recipe, axes = tmp / "recipe.yaml", tmp / "axes.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE))
    axes.write_text(yaml.safe_dump(AXES))
    return recipe, axes


def rules(**over: Any) -> ConstitutionRules:
    base = ConstitutionRules(
        proxy_aware_categories=["data_mix", "checkpoint_selection"],
        frozen_recipe_keys=["base_model", "eval*", "seed"], min_workers_per_round=2,
    )
    return base.model_copy(update=over)


@dataclass
class Cand:
    """One synthetic candidate: `change` (key, new value) applied to the standing recipe."""

    worker_id: str
    axis: str  # "baseline" for the anchor
    category: str
    dev: float
    lb: float
    change: tuple[str, Any] | None = None
    dev_fam: dict[str, float] = field(default_factory=dict)
    lb_fam: dict[str, float] = field(default_factory=dict)
    status: str = "ok"
    rationale: str = "this should help"


class FakeLeaderboard:
    """In-memory Leaderboard: scores are looked up by adapter path; the round budget is enforced."""

    name = "fake"

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.scores: dict[str, tuple[float, dict[str, float]]] = {}
        self._history: list[LeaderboardScore] = []

    def submit(self, candidate: str, round_no: int, adapter_dir: Path) -> LeaderboardScore:
        if self.remaining(round_no) <= 0:
            raise SubmissionBudgetExceeded(f"round {round_no}")
        public, fam = self.scores[str(adapter_dir)]
        score = LeaderboardScore(submission_id=f"s{len(self._history) + 1}", candidate=candidate, round=round_no,
                                 public=public, public_by_family=fam, submitted_at=time.time())
        self._history.append(score)
        return score

    def remaining(self, round_no: int) -> int:
        return self.budget - sum(1 for s in self._history if s.round == round_no)

    def history(self) -> list[LeaderboardScore]:
        return list(self._history)


def stage_round(paths: CampaignPaths, policy: Policy, board: FakeLeaderboard, cands: list[Cand]) -> None:
    """Write one manifest per candidate for the round `policy` governs, and register LB scores."""
    for c in cands:
        recipe = dict(policy.standing_recipe)
        if c.change is not None:
            recipe = set_path(recipe, c.change[0], c.change[1])
        adapter = f"/synthetic/{paths.campaign}/r{policy.round:03d}/{c.worker_id}/adapter"
        dev_fam = c.dev_fam or {f: c.dev for f in FAMILIES}
        board.scores[adapter] = (c.lb, c.lb_fam or {f: c.lb for f in FAMILIES})
        ok = c.status == "ok"
        m = Manifest(
            campaign=paths.campaign, round=policy.round, worker_id=c.worker_id, axis=c.axis,
            axis_category=c.category, is_baseline=c.axis == "baseline", status=c.status,  # type: ignore[arg-type]
            recipe=recipe, chosen_step=100 if ok else None, chosen_adapter=adapter if ok else None,
            dev_score=c.dev if ok else None, rationale=c.rationale,
            checkpoints=[CheckpointEval(step=100, adapter_dir="adapter", overall=c.dev, by_family=dev_fam, n_items=50)]
            if ok else [],
        )
        write_model(paths.manifest(policy.round, c.worker_id), m)


def aa_round(round_no: int, rng: random.Random, n: int = 4, sd: float = 0.004) -> list[Cand]:
    """A/A: every candidate is the baseline recipe's score plus seed noise (changes claimed, no effect)."""
    out = [Cand("w01", "baseline", "baseline", 0.80 + rng.gauss(0, sd), 0.80 + rng.gauss(0, sd))]
    names = [("learning_rate", "optimizer", ("lr", 0.002)), ("warmup", "optimizer", ("warmup_steps", 20))]
    for i in range(2, n + 1):
        axis, cat, change = names[i % 2]
        out.append(Cand(f"w{i:02d}", axis, cat, 0.80 + rng.gauss(0, sd), 0.80 + rng.gauss(0, sd), change=change))
    return out


class Loop:
    """collect -> meta, round after round, on files in tmp_path."""

    def __init__(self, tmp_path: Path, budget: int = 4, **rule_over: Any) -> None:
        self.paths = CampaignPaths(root=tmp_path, campaign="c1")
        self.rules = rules(submission_budget_per_round=budget, **rule_over)
        self.constitution = Constitution(directory=tmp_path, text="constitution text", rules=self.rules)
        self.board = FakeLeaderboard(budget=budget)
        recipe, axes = write_substrate(tmp_path)
        self.policy = policy_store.initial_policy("c1", recipe, axes, self.rules)
        policy_store.save(self.paths.policies, self.policy)
        self.reports: list[RoundReport] = []

    def round(self, cands: list[Cand]) -> tuple[RoundReport, Policy]:
        stage_round(self.paths, self.policy, self.board, cands)
        report = collect_round(self.paths, self.policy.round, self.policy, self.board, self.rules)
        result = next_policy(self.paths.policies, self.policy, report, self.constitution)
        assert enforce(self.policy, result.policy, report, self.rules) == []
        self.reports.append(report)
        self.policy = result.policy
        return report, result.policy
