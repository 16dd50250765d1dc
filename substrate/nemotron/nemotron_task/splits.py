"""Deterministic splits of train.csv by row id (frozen).

- leaderboard: ~10 % of rows, held out; only generate_items.py reads them (run by the leaderboard,
  outside any sandbox). Training and dev never touch them.
- dev: ~5 % of rows, what every worker scores its checkpoints on.
- train: the rest.
The bucket is a hash of the id, so a row keeps its split whatever the CSV's order or size.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import Literal

from .data import Row
from .families import parse

Split = Literal["train", "dev", "leaderboard"]
BUCKETS = 20
LEADERBOARD_BUCKETS = frozenset({0, 1})
DEV_BUCKETS = frozenset({2})
DEV_SEED = 7_000_001


def split_of(row_id: str) -> Split:
    bucket = int(hashlib.sha256(f"nemotron-split:{row_id}".encode()).hexdigest(), 16) % BUCKETS
    if bucket in LEADERBOARD_BUCKETS:
        return "leaderboard"
    if bucket in DEV_BUCKETS:
        return "dev"
    return "train"


def rows_of(rows: Sequence[Row], split: Split) -> list[Row]:
    return [r for r in rows if split_of(r.id) == split]


def family_of_row(row: Row) -> str:
    return parse(row.prompt).family


def sample_balanced(rows: Sequence[Row], n: int, seed: int, mix: dict[str, float] | None = None) -> list[Row]:
    """n rows drawn without replacement, per-family counts proportional to mix (equal by default),
    in a fixed order for a given seed; a family short of rows gives what it has."""
    by_family: dict[str, list[Row]] = {}
    for row in sorted(rows, key=lambda r: r.id):
        by_family.setdefault(family_of_row(row), []).append(row)
    weights = {f: (mix or {}).get(f, 0.0 if mix else 1.0) for f in by_family}
    total = sum(weights.values()) or 1.0
    rng = random.Random(seed)
    picked: list[Row] = []
    for family in sorted(by_family):
        pool = by_family[family]
        k = min(len(pool), round(n * weights[family] / total))
        picked.extend(rng.sample(pool, k))
    rng.shuffle(picked)
    return picked
