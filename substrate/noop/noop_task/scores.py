"""Scores as a seeded function of the recipe: no model, fully deterministic.

A recipe has a latent quality in [0.25, 0.75] (a hash of its non-neutral keys). Dev accuracy per
family = quality + a small per-(seed, step, family) jitter; a leaderboard score = quality + a
different per-(items file, family) jitter. So dev and leaderboard agree on average but not exactly,
and seed replicates of one recipe differ a little, as real runs do.
"""

from __future__ import annotations

import hashlib

DEV_JITTER = 0.04
BOARD_JITTER = 0.05


def unit(*parts: object) -> float:
    """A uniform number in [0, 1) from the sha256 of the parts."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def quality(quality_key: str) -> float:
    return 0.25 + 0.5 * unit("quality", quality_key)


def _clip(x: float) -> float:
    return round(min(1.0, max(0.0, x)), 6)


def dev_scores(q: float, seed: int, step: int, families: tuple[str, ...] | list[str]) -> dict[str, float]:
    return {f: _clip(q + DEV_JITTER * (2 * unit("dev", q, seed, step, f) - 1)) for f in families}


def board_scores(q: float, step: int, items_sha256: str, families: list[str]) -> dict[str, float]:
    return {f: _clip(q + BOARD_JITTER * (2 * unit("board", q, step, items_sha256, f) - 1)) for f in families}


def overall(by_family: dict[str, float], weights: dict[str, int] | None = None) -> float:
    if not by_family:
        return 0.0
    if weights:
        total = sum(weights.get(f, 0) for f in by_family) or 1
        return _clip(sum(v * weights.get(f, 0) for f, v in by_family.items()) / total)
    return _clip(sum(by_family.values()) / len(by_family))
