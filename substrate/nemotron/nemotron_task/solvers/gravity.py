"""d = 0.5 * g * t^2 with a secret g: estimate g by least squares, then compute the query distance."""

from __future__ import annotations

from ..families import Puzzle
from .base import Solution


def solve(puzzle: Puzzle) -> Solution | None:
    pairs = [(float(t), float(d)) for t, d in puzzle.examples]
    denom = sum(0.25 * t**4 for t, _ in pairs)
    if denom == 0:
        return None
    g = sum(0.5 * t * t * d for t, d in pairs) / denom
    if any(abs(0.5 * g * t * t - d) > 0.011 + 2e-3 * abs(d) for t, d in pairs):
        return None
    steps = ["g = 2d / t^2 for each example:"]
    steps += [f"2 * {d} / {t}^2 = {2 * d / (t * t):.4f}" for t, d in pairs]
    steps.append(f"g = {g:.4f}")
    t = float(puzzle.query)
    answer = f"{0.5 * g * t * t:.2f}"
    steps.append(f"d = 0.5 * {g:.4f} * {t}^2 = {answer}")
    return Solution(answer=answer, steps=tuple(steps), rule=f"g:{g:.4f}")
