"""Deterministic mixing of families into datasets, and JSONL storage of puzzles."""

from __future__ import annotations

import json
import os
import random
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .families import generate_puzzle
from .puzzle import FAMILIES, MAX_DIFFICULTY, Puzzle


def apportion(n: int, mix: dict[str, float]) -> dict[str, int]:
    """Exact integer counts summing to n, proportional to the weights (largest remainder method)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n: must be an integer >= 0, got {n!r}")
    for family, weight in mix.items():
        if family not in FAMILIES:
            raise ValueError(f"mix.{family}: unknown family (expected one of {', '.join(FAMILIES)})")
        if not isinstance(weight, int | float) or weight < 0 or weight != weight:
            raise ValueError(f"mix.{family}: weight must be a number >= 0, got {weight!r}")
    total = float(sum(mix.values()))
    if total <= 0:
        raise ValueError("mix: weights must sum to more than 0")
    quotas = {f: n * w / total for f, w in mix.items()}
    counts = {f: int(q) for f, q in quotas.items()}
    # Ties broken by FAMILIES order so the result never depends on dict ordering.
    order = sorted(quotas, key=lambda f: (-(quotas[f] - counts[f]), FAMILIES.index(f)))
    for f in order[: n - sum(counts.values())]:
        counts[f] += 1
    return counts


def _difficulty_of(family: str, difficulty: dict[str, int] | int) -> int:
    level = difficulty.get(family, 0) if isinstance(difficulty, dict) else difficulty
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= MAX_DIFFICULTY:
        where = f"difficulty.{family}" if isinstance(difficulty, dict) else "difficulty"
        raise ValueError(f"{where}: {level!r} not in 0..{MAX_DIFFICULTY}")
    return level


def generate_items(
    n: int, mix: dict[str, float], seed: int, difficulty: dict[str, int] | int = 0
) -> list[Puzzle]:
    """n puzzles whose family counts follow `mix` exactly, shuffled; identical for identical inputs.

    Each puzzle gets its own rng derived from (seed, family, index), so changing one family's weight
    or difficulty does not change the puzzles generated for the other families.
    """
    if isinstance(difficulty, dict):
        for family in difficulty:
            if family not in FAMILIES:
                raise ValueError(f"difficulty.{family}: unknown family")
    counts = apportion(n, mix)
    levels = {family: _difficulty_of(family, difficulty) for family in FAMILIES}  # validate all eagerly
    items: list[Puzzle] = []
    for family in FAMILIES:
        level = levels[family]
        for i in range(counts.get(family, 0)):
            rng = random.Random(f"{seed}:{family}:{i}")
            items.append(generate_puzzle(family, rng, level))
    random.Random(f"{seed}:shuffle").shuffle(items)
    return items


def save_items(path: str | os.PathLike[str], items: Iterable[Puzzle]) -> None:
    """Write JSONL atomically (temp file + rename), so a crash never leaves half a dataset."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for item in items:
                fh.write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_items(path: str | os.PathLike[str]) -> list[Puzzle]:
    """Read JSONL written by save_items; ValueError names the file and line of any bad record."""
    items: list[Puzzle] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                items.append(Puzzle.from_json(json.loads(line)))
            except (json.JSONDecodeError, ValueError) as exc:
                raise ValueError(f"{path}:{lineno}: {exc}") from None
    return items
