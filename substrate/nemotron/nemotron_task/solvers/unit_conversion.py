"""A hidden constant factor: output = factor * input, estimated by least squares over the examples."""

from __future__ import annotations

from ..families import Puzzle
from .base import Solution


def solve(puzzle: Puzzle) -> Solution | None:
    pairs = [(float(a), float(b)) for a, b in puzzle.examples]
    denom = sum(x * x for x, _ in pairs)
    if denom == 0:
        return None
    factor = sum(x * y for x, y in pairs) / denom
    # Examples are rounded to 2 decimals; a factor that misses one by more than rounding is not the rule.
    if any(abs(factor * x - y) > 0.011 + 1e-3 * abs(y) for x, y in pairs):
        return None
    steps = ["Each output is the input times a constant factor:"]
    steps += [f"{y} / {x} = {y / x:.4f}" for x, y in pairs]
    steps.append(f"factor = {factor:.4f}")
    q = float(puzzle.query)
    answer = f"{factor * q:.2f}"
    steps.append(f"{q} * {factor:.4f} = {answer}")
    return Solution(answer=answer, steps=tuple(steps), rule=f"factor:{factor:.4f}")
