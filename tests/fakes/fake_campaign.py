"""A synthetic finished campaign in the layout of `evotrain.paths`, for the audit/submission tests.

Writes valid policies (one per round + the one after the last round), five-section round reports,
worker manifests whose chosen adapters are real tiny PEFT-format LoRA folders (adapter_config.json
+ adapter_model.safetensors written with safetensors), and leaderboard records. Numbers come from
a seeded RNG: they are fixture data, not results.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from evotrain.io import append_jsonl, write_model
from evotrain.paths import CampaignPaths
from evotrain.schemas.common import KeyChange
from evotrain.schemas.manifest import Cost, Failure, FailureMode, Manifest, TrainingMetrics
from evotrain.schemas.policy import Axis, AxisRange, DeadEnd, Policy
from evotrain.schemas.report import Calibration as CalibrationSection
from evotrain.schemas.report import (
    CalibrationRow,
    CandidateSummary,
    Pattern,
    RationaleAudit,
    RoundReport,
    Surprise,
)
from evotrain.schemas.results import CheckpointEval, LossPoint
from orchestrator.leaderboard.base import LeaderboardScore

BASE_MODEL = "substrate/default/base"
TARGET_MODULES = ["q_proj", "v_proj"]
FAMILIES = ["bit_manipulation", "equations", "gravity"]
MODES = ["Recipe stabilisation", "Stack-and-calibrate", "Proxy exploitation", "Proxy-aware search"]
AXES = [
    ("learning_rate", "optimizer", "learning_rate", 3e-4, 1e-3),
    ("lora_r", "lora_capacity", "lora_r", 8, 16),
    ("equations_weight", "data_mix", "mixture_weights.equations", 1.0, 2.0),
]


def write_peft_adapter(
    folder: Path,
    rank: int = 8,
    target_modules: list[str] | None = None,
    base_model: str = BASE_MODEL,
    hidden: int = 16,
    layers: int = 2,
) -> Path:
    """A real (tiny) PEFT LoRA adapter folder; tensor shapes agree with `rank`."""
    modules = target_modules or TARGET_MODULES
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model,
        "r": rank,
        "lora_alpha": 2 * rank,
        "lora_dropout": 0.0,
        "target_modules": modules,
        "bias": "none",
        "inference_mode": True,
    }
    (folder / "adapter_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    rng = np.random.default_rng(rank)
    tensors: dict[str, np.ndarray] = {}
    for layer in range(layers):
        for module in modules:
            prefix = f"base_model.model.model.layers.{layer}.self_attn.{module}"
            tensors[f"{prefix}.lora_A.weight"] = rng.standard_normal((rank, hidden)).astype(np.float32)
            tensors[f"{prefix}.lora_B.weight"] = np.zeros((hidden, rank), dtype=np.float32)
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    return folder


@dataclass
class FakeCampaign:
    paths: CampaignPaths
    rounds: int
    workers: int
    manifests: list[Manifest] = field(default_factory=list)
    reports: list[RoundReport] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)


def _axes() -> list[Axis]:
    out = []
    for name, category, key, low, high in AXES:
        kind = "int" if isinstance(low, int) else "log"
        out.append(Axis(name=name, category=category, key=key, range=AxisRange(kind=kind, low=low, high=high)))
    return out


def _policy(name: str, round_no: int, dead_ends: list[DeadEnd], rationale: str) -> Policy:
    objective = "proxy_aware" if round_no > 3 else "raise_dev"
    return Policy(
        campaign=name,
        round=round_no,
        search_mode=MODES[min(round_no - 1, len(MODES) - 1)],
        objective=objective,
        standing_recipe={"learning_rate": 3e-4, "lora_r": 8, "mixture_weights": {f: 1.0 for f in FAMILIES}},
        axes=_axes(),
        dead_ends=list(dead_ends),
        rationale=rationale,
    )


def build_fake_campaign(
    root: Path, name: str = "demo", rounds: int = 3, workers: int = 3, seed: int = 0
) -> FakeCampaign:
    rng = random.Random(seed)
    paths = CampaignPaths(root=root, campaign=name)
    paths.state.mkdir(parents=True, exist_ok=True)
    fake = FakeCampaign(paths=paths, rounds=rounds, workers=workers)
    dead_ends: list[DeadEnd] = []
    fake.policies.append(_policy(name, 1, dead_ends, "Initial policy from the substrate's recipe and axes."))
    for r in range(1, rounds + 1):
        summaries: list[CandidateSummary] = []
        rows: list[CalibrationRow] = []
        base_dev = 0.40 + 0.05 * r
        for w in range(workers):
            wid = f"w{w:02d}"
            is_base = w == 0
            axis = AXES[(w - 1 + r) % len(AXES)]
            changes = [] if is_base else [KeyChange(key=axis[2], old=axis[3], new=axis[4])]
            failed = not is_base and w == workers - 1 and r == 2  # one failed candidate in round 2
            dev = None if failed else round(base_dev + (0 if is_base else rng.uniform(-0.05, 0.12)), 4)
            lb = None if dev is None else round(dev - rng.uniform(-0.02, 0.06), 4)
            adapter = None
            checkpoints = []
            if dev is not None:
                adapter = write_peft_adapter(paths.sandbox(r, wid) / "out" / "checkpoint-20")
                checkpoints = [
                    CheckpointEval(step=20, adapter_dir="checkpoint-20", overall=dev,
                                   by_family={f: dev for f in FAMILIES}, n_items=300)
                ]
            manifest = Manifest(
                campaign=name, round=r, worker_id=wid,
                axis="baseline" if is_base else axis[0],
                axis_category="baseline" if is_base else axis[1],
                is_baseline=is_base, seed=r * 10 + w,
                status="failed" if failed else "ok",
                recipe_changes=changes,
                recipe_diff="" if is_base else f"--- a/recipe.yaml\n+++ b/recipe.yaml\n-{axis[2]}: {axis[3]}\n"
                f"+{axis[2]}: {axis[4]}\n",
                training=TrainingMetrics(steps=20, final_loss=1.2, loss_curve=[LossPoint(step=20, loss=1.2)]),
                checkpoints=checkpoints,
                chosen_step=20 if adapter else None,
                chosen_adapter=str(adapter) if adapter else None,
                dev_score=dev,
                failures=[Failure(mode=FailureMode.NAN_LOSS, message="loss became NaN at step 7")] if failed else [],
                cost=Cost(input_tokens=1200 + w, output_tokens=300, dollars=0.01 * (w + 1), cpu_seconds=55.0 + w,
                          agent_calls=3),
                rationale=f"move {axis[0]} to see whether {axis[1]} is still causal",
            )
            write_model(paths.manifest(r, wid), manifest)
            fake.manifests.append(manifest)
            summaries.append(CandidateSummary(
                worker_id=wid, axis=manifest.axis, axis_category=manifest.axis_category, is_baseline=is_base,
                status=manifest.status, changes=changes, dev=dev, leaderboard=lb, chosen_step=manifest.chosen_step,
                failure="nan_loss" if failed else None, summary=f"{wid} scored dev {dev}",
            ))
            if dev is not None and lb is not None:
                rows.append(CalibrationRow(worker_id=wid, dev=dev, leaderboard=lb, gap=round(dev - lb, 4)))
                append_jsonl(paths.leaderboard / "submissions.jsonl", LeaderboardScore(
                    submission_id=f"s{r}{w}", candidate=f"r{r:03d}/{wid}", round=r, public=lb,
                    submitted_at=time.time(), n_items=200).model_dump_json())
        scored = [s for s in summaries if s.dev is not None]
        report = RoundReport(
            campaign=name, round=r, objective=fake.policies[-1].objective, search_mode=fake.policies[-1].search_mode,
            candidates=summaries,
            patterns=[Pattern(statement=f"round {r}: capacity changes moved dev and leaderboard together",
                              evidence=[s.worker_id for s in scored])],
            calibration=CalibrationSection(
                rows=rows, rank_correlation=0.5, mean_gap=0.02, noise_band=0.03,
                baseline_dev=summaries[0].dev, baseline_leaderboard=summaries[0].leaderboard,
                best_dev=max(s.dev for s in scored if s.dev is not None),
                best_leaderboard=max(s.leaderboard for s in scored if s.leaderboard is not None),
                drift_flag=r == 3, drift_evidence="dev rose beyond the band, leaderboard flat" if r == 3 else "",
            ),
            surprises=[Surprise(statement=f"round {r}: baseline replicate moved by 0.01", worker_id="w00")],
            rationale_audit=[RationaleAudit(worker_id=s.worker_id, rationale="stated rationale",
                                            consistent=s.status == "ok") for s in summaries if not s.is_baseline],
        )
        write_model(paths.report(r), report)
        fake.reports.append(report)
        if r >= 2:
            dead_ends.append(DeadEnd(what="raising equations mixture weight", key="mixture_weights.equations",
                                     direction="increase", why="inflates dev, not the leaderboard",
                                     evidence=f"r{r:03d}/w01 dev +0.08, lb +0.00", round=r))
        fake.policies.append(_policy(name, r + 1, dead_ends, f"Round {r}: learned lesson number {r}."))
    for policy in fake.policies:
        write_model(paths.policy(policy.round), policy)
    return fake


class FakeLeaderboard:
    """Leaderboard protocol fake: scores deterministically from the adapter bytes, counts calls."""

    name = "local"

    def __init__(self, budget: int = 3) -> None:
        self.calls: list[tuple[str, int, Path]] = []
        self.budget = budget
        self._history: list[LeaderboardScore] = []

    def submit(self, candidate: str, round_no: int, adapter_dir: Path) -> LeaderboardScore:
        self.calls.append((candidate, round_no, adapter_dir))
        size = (adapter_dir / "adapter_model.safetensors").stat().st_size
        score = LeaderboardScore(submission_id=f"fake-{len(self.calls)}", candidate=candidate, round=round_no,
                                 public=(size % 97) / 100, submitted_at=time.time(), n_items=10)
        self._history.append(score)
        return score

    def remaining(self, round_no: int) -> int:
        return self.budget - sum(1 for c in self.calls if c[1] == round_no)

    def history(self) -> list[LeaderboardScore]:
        return list(self._history)
