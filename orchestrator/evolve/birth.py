"""The birth of a specialist: teacher data -> reward filter -> LoRA student -> gate -> registered.

Each stage leaves its files in `<state>/births/<birth_id>/` and its numbers in the BirthRecord,
which is appended to the births log whatever the outcome (a rejected student is evidence too).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evotrain.errors import EvotrainError
from orchestrator.evolve import student
from orchestrator.evolve.clustering import Cluster
from orchestrator.evolve.config import EvolveConfig
from orchestrator.evolve.embeddings import TextEmbedder
from orchestrator.evolve.reward import CalibrationStore, OfflineRewardModel, calibrate, calibration_for, select_top
from orchestrator.evolve.schemas import AgentRecord, BirthRecord, GateResult, RewardSummary
from orchestrator.evolve.substrate_bridge import Minitask
from orchestrator.evolve.teacher import TeacherItem, teach


@dataclass
class BirthContext:
    cfg: EvolveConfig
    mt: Minitask
    embedder: TextEmbedder
    calibrations: CalibrationStore
    generalist_adapter: Path
    births_dir: Path


def gate_passed(student: float, generalist: float, min_gain: float) -> bool:
    """The student must beat the generalist on the held-out requests, by more than `min_gain`."""
    return student > generalist + min_gain


def _per_request(n: int, requests: list[str]) -> int:
    return max(1, math.ceil(n / max(1, len(requests))))


def _save_items(mt: Minitask, path: Path, items: list[TeacherItem]) -> Path:
    mt.generate.save_items(path, [it.puzzle for it in items])
    return path


def _filter(ctx: BirthContext, intent: str, items: list[TeacherItem], requests: list[str], centroid: np.ndarray,
            salt: str) -> tuple[list[TeacherItem], RewardSummary]:
    b = ctx.cfg.birth
    model = OfflineRewardModel(ctx.mt, ctx.embedder)
    # held-out calibration set of this intent: half of its items flawed, seeds disjoint from training
    heldout, _ = teach(ctx.mt, requests, _per_request(b.calibration_items, requests), b.calibration_items, 0.5,
                       salt=f"calibration:{intent}")
    heldout = [it for it in heldout if it.ref.family == intent]
    cal = calibration_for(ctx.calibrations, model, intent, heldout, centroid)
    scores = calibrate(model.score(items, centroid), cal)
    keep = set(select_top(scores, b.keep_fraction))
    kept = [it for i, it in enumerate(items) if i in keep]
    dropped = [it for i, it in enumerate(items) if i not in keep]
    summary = RewardSummary(
        model_version=model.version, calibration_mean=cal.mean, calibration_sd=cal.sd,
        calibration_separation=cal.separation, n_scored=len(items), n_kept=len(kept),
        kept_flawed=sum(it.ref.flawed for it in kept), dropped_flawed=sum(it.ref.flawed for it in dropped),
        kept_off_intent=sum(it.ref.family != intent for it in kept),
        dropped_off_intent=sum(it.ref.family != intent for it in dropped),
    )
    return kept, summary


def give_birth(ctx: BirthContext, cluster: Cluster, birth_id: str, t: float, threshold: float
               ) -> tuple[BirthRecord, AgentRecord | None]:
    """Run every stage for one cluster; never raises for a stage failure (the record says why)."""
    t0 = time.perf_counter()
    b = ctx.cfg.birth
    requests = [m.prompt for m in cluster.members]
    record = BirthRecord(
        birth_id=birth_id, cluster_id=cluster.cluster_id, t=t, outcome="failed", cluster_size=cluster.n,
        cluster_labels=dict(cluster.labels),
        purity=max(cluster.labels.values()) / sum(cluster.labels.values()) if cluster.labels else None,
    )
    out_dir = ctx.births_dir / birth_id
    try:
        items, families = teach(ctx.mt, requests, b.teacher_items_per_request, b.teacher_max_items,
                                b.teacher_flawed_fraction, salt=f"train:{birth_id}")
        record.teacher_family_counts = dict(families)
        known = Counter({f: n for f, n in families.items() if not f.startswith("<")})
        if not known:
            raise EvotrainError("teacher: no request of the cluster is a puzzle the substrate knows")
        intent = known.most_common(1)[0][0]
        record.intent = intent
        record.n_teacher_items = len(items)
        kept, record.reward = _filter(ctx, intent, items, requests, cluster.centroid, birth_id)
        data = _save_items(ctx.mt, out_dir / "teacher.jsonl", kept)
        results, adapter = student.train_student(
            ctx.cfg.substrate_path(), out_dir, data, len(kept), b.student_recipe, ctx.cfg.seed, ctx.cfg.threads
        )
        record.student_run = str(out_dir / "student")
        record.train_seconds = results.train_seconds
        # gate: held-out requests of the intent (answers known to the teacher), never trained on
        gate_items, _ = teach(ctx.mt, requests, _per_request(b.heldout_items, requests), b.heldout_items, 0.0,
                              salt=f"gate:{birth_id}")
        gate_items = [it for it in gate_items if it.ref.family == intent]
        gate_file = _save_items(ctx.mt, out_dir / "gate.jsonl", gate_items)
        substrate = ctx.cfg.substrate_path()
        s = student.evaluate(substrate, adapter, gate_file, out_dir / "gate-student.json", ctx.cfg.threads)
        g = student.evaluate(substrate, ctx.generalist_adapter, gate_file, out_dir / "gate-generalist.json",
                             ctx.cfg.threads)
        passed = gate_passed(s.overall, g.overall, b.min_gain)
        record.gate = GateResult(n_items=s.n_items, student=s.overall, generalist=g.overall, min_gain=b.min_gain,
                                 passed=passed)
        record.seconds = round(time.perf_counter() - t0, 2)
        if not passed:
            record.outcome = "rejected"
            record.message = f"student {s.overall:.3f} does not beat the generalist {g.overall:.3f}"
            return record, None
        record.outcome = "registered"
        record.agent_id = f"{intent}-{birth_id}"
        agent = AgentRecord(
            agent_id=record.agent_id, intent=intent, centroid=[float(x) for x in cluster.centroid],
            threshold=threshold, adapter=str(adapter), born_t=t, birth_id=birth_id,
        )
        return record, agent
    except EvotrainError as exc:
        record.message = exc.message
        record.seconds = round(time.perf_counter() - t0, 2)
        return record, None
