"""Reward filtering of teacher data: score, recalibrate per reward-model version, keep the top share.

The seed keeps the top 75 % of teacher examples by a reward model's score, and found that the
reward model's scale drifted between versions ("older agents look worse"); it recalibrated scores
against a held-out set. Here every reward model has a `version`; before its scores are used, the
version is calibrated once on a held-out set of items of the intent with known quality (clean and
flawed): calibrated score = (raw - mean) / sd of the held-out scores. Selection and every stored
number use calibrated scores, so items scored by different versions are ranked on one scale. A
version whose held-out scores do not separate clean from flawed items is refused.

Offline reward model: verifier (the answer re-derived from the item's provenance) + relevance to the
intent (embedding cosine to the intent centroid) + novelty (a redundancy penalty for items repeating
an earlier item's rule, the seed's "shallow synthetic data").
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Protocol

import numpy as np

from evotrain.errors import EvotrainError
from evotrain.schemas.common import Artifact
from orchestrator.evolve.embeddings import TextEmbedder
from orchestrator.evolve.substrate_bridge import Minitask
from orchestrator.evolve.teacher import TeacherItem, regenerate_answer


class Calibration(Artifact):
    version: str
    intent: str
    mean: float
    sd: float
    n: int
    separation: float  # mean calibrated score of clean held-out items minus that of flawed ones


class RewardModel(Protocol):
    version: str

    def score(self, items: list[TeacherItem], centroid: np.ndarray) -> list[float]: ...


class OfflineRewardModel:
    """verified (0/1), relevance (cosine to the intent) and novelty (1 / (1 + earlier items with the
    same rule)), weighted. The version names the weights and the embedder, so changing either is a
    new reward model that gets its own calibration."""

    def __init__(self, mt: Minitask, embedder: TextEmbedder, w_verified: float = 0.5, w_relevance: float = 0.4,
                 w_novelty: float = 0.1) -> None:
        self.mt, self.embedder = mt, embedder
        self.w = (w_verified, w_relevance, w_novelty)
        self.version = f"offline-verifier+{embedder.version}+w={w_verified:g}/{w_relevance:g}/{w_novelty:g}"

    def score(self, items: list[TeacherItem], centroid: np.ndarray) -> list[float]:
        if not items:
            return []
        vecs = self.embedder.embed([it.puzzle.prompt for it in items])
        relevance = vecs @ np.asarray(centroid, dtype=np.float32)
        seen: Counter[str] = Counter()
        out = []
        for it, rel in zip(items, relevance, strict=True):
            verified = float(regenerate_answer(self.mt, it.ref) == it.puzzle.answer)
            novelty = 1.0 / (1.0 + seen[it.puzzle.rule])
            seen[it.puzzle.rule] += 1
            out.append(self.w[0] * verified + self.w[1] * float(rel) + self.w[2] * novelty)
        return out


def fit_calibration(version: str, intent: str, raw: list[float], flawed: list[bool]) -> Calibration:
    """Calibration of one reward-model version from its scores on the held-out set."""
    if len(raw) < 2:
        raise EvotrainError("birth.calibration_items: the held-out set needs at least 2 items")
    arr = np.asarray(raw, dtype=np.float64)
    mean, sd = float(arr.mean()), float(arr.std())
    sd = sd if sd > 1e-9 else 1.0
    cal = (arr - mean) / sd
    mask = np.asarray(flawed, dtype=bool)
    clean_mean = float(cal[~mask].mean()) if (~mask).any() else math.nan
    flawed_mean = float(cal[mask].mean()) if mask.any() else math.nan
    separation = clean_mean - flawed_mean if mask.any() and (~mask).any() else 0.0
    return Calibration(version=version, intent=intent, mean=mean, sd=sd, n=len(raw), separation=separation)


def calibrate(raw: list[float], cal: Calibration) -> list[float]:
    return [(r - cal.mean) / cal.sd for r in raw]


def select_top(scores: list[float], fraction: float) -> list[int]:
    """Indices of the top `fraction` of items by score (at least one), in their original order.
    Ties are broken by position, so selection is deterministic."""
    if not scores:
        return []
    keep = max(1, math.ceil(fraction * len(scores)))
    ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:keep]
    return sorted(ranked)


class CalibrationStore:
    """Calibrations by (version, intent), kept in the registry's key/value table."""

    def __init__(self, registry) -> None:  # registry: orchestrator.evolve.registry.Registry
        self.registry = registry

    def get(self, version: str, intent: str) -> Calibration | None:
        raw = self.registry.get_json(f"calibration:{version}:{intent}", None)
        return Calibration.model_validate(raw) if raw else None

    def put(self, cal: Calibration) -> None:
        self.registry.set_json(f"calibration:{cal.version}:{cal.intent}", cal.model_dump(mode="json"))


def calibration_for(store: CalibrationStore | None, model: RewardModel, intent: str, heldout: list[TeacherItem],
                    centroid: np.ndarray) -> Calibration:
    """The stored calibration of this reward-model version, or a new one fitted on the held-out set."""
    cached = store.get(model.version, intent) if store else None
    if cached is not None:
        return cached
    cal = fit_calibration(model.version, intent, model.score(heldout, centroid), [it.ref.flawed for it in heldout])
    if cal.separation <= 0:
        raise EvotrainError(
            f"reward model {model.version}: its held-out scores do not separate clean from flawed items "
            f"(separation {cal.separation:.3f}); refusing to filter with it"
        )
    if store:
        store.put(cal)
    return cal
