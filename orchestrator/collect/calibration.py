"""Dev/leaderboard calibration: rank correlation with ties, gaps, per-family deltas, drift."""

from __future__ import annotations

import math
from collections.abc import Sequence


def average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks; tied values share the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        mean_rank = (i + j) / 2.0 + 1.0
        for k in range(i, j + 1):
            ranks[order[k]] = mean_rank
        i = j + 1
    return ranks


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    n = len(xs)
    if n != len(ys) or n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None  # a constant column has no rank order to agree with
    return sxy / math.sqrt(sxx * syy)


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rho as the Pearson correlation of average ranks (correct with ties)."""
    if len(xs) != len(ys):
        raise ValueError("spearman needs two sequences of equal length")
    return pearson(average_ranks(xs), average_ranks(ys))


def gaps(dev: Sequence[float], leaderboard: Sequence[float]) -> list[float]:
    """dev - leaderboard per candidate: the calibration signal of the constitution."""
    return [d - lb for d, lb in zip(dev, leaderboard, strict=True)]


def family_deltas(
    dev: dict[str, float], lb: dict[str, float], base_dev: dict[str, float], base_lb: dict[str, float]
) -> dict[str, float]:
    """Per family: (dev gain over the anchor) - (leaderboard gain over the anchor).

    Large positive = dev moved in that family without the leaderboard following (the paper's
    equation-domain signature).
    """
    families = sorted(set(dev) & set(lb) & set(base_dev) & set(base_lb))
    return {f: (dev[f] - base_dev[f]) - (lb[f] - base_lb[f]) for f in families}


def is_dev_only_rise(dev_gain: float, lb_gain: float, dev_band: float, lb_band: float) -> bool:
    """Dev rose beyond its noise band while the leaderboard did not rise beyond its band."""
    return dev_gain > dev_band and lb_gain <= lb_band


def drift_streak(previous_flags: Sequence[bool], this_round: bool) -> int:
    """Consecutive dev-only-rise rounds ending with this one (0 if this round has none)."""
    if not this_round:
        return 0
    streak = 1
    for flag in reversed(previous_flags):
        if not flag:
            break
        streak += 1
    return streak
