"""Mean and a two-sided 95 % Student-t interval over seeds (no scipy: a table of t quantiles)."""

from __future__ import annotations

import math
from collections.abc import Sequence

# t_{0.975, df} for df = 1..30; beyond 30 the normal quantile is within 2 % of it
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)


def t975(df: int) -> float:
    if df < 1:
        raise ValueError("a t interval needs at least 2 values")
    return _T975[df - 1] if df <= len(_T975) else 1.960


def mean_ci95(values: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    """(mean, low, high); the interval is None with fewer than two values (n/a), the mean None with none."""
    xs = [float(v) for v in values]
    if not xs:
        return None, None, None
    mean = sum(xs) / len(xs)
    if len(xs) < 2:
        return mean, None, None
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
    half = t975(len(xs) - 1) * sd / math.sqrt(len(xs))
    return mean, mean - half, mean + half
