"""Noise band: how far apart two single runs of one recipe land by seed noise alone.

Statistic (documented in docs/META.md): the baseline anchor re-runs the standing recipe every
round, and the anchor after a promotion re-runs the promoted candidate's recipe with a new seed
(replication.py). Group these replicates by recipe hash, take the pooled within-group standard deviation
s (degrees of freedom = sum(n_g - 1)); a candidate-vs-anchor difference of two single runs has sd
s * sqrt(2), so the band is max(floor, multiplier * sqrt(2) * s). The constitution's prior band counts
as `prior_dof` degrees of freedom of an sd s0 = prior / (multiplier * sqrt(2)), pooled with the
replicates: s^2 = (prior_dof * s0^2 + sum of squares) / (prior_dof + dof). With no degrees of freedom
yet that is the prior itself (never below the floor).

Decision band: a round compares k explorers with the anchor and acts on the best (promotion) and the
worst (dead end), so the chance that ONE of k placebo candidates clears a one-comparison band is about
k times the band's. With `best_of_k` the band is widened to keep the one-comparison error rate
alpha = 1 - Phi(multiplier) for the whole round (Sidak): alpha_k = 1 - (1 - alpha)^(1/k), z_k =
Phi^-1(1 - alpha_k), decision band = band * z_k / multiplier (k = 3: x1.21; k = 7: x1.36).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from statistics import NormalDist
from typing import Literal

from evotrain.schemas.common import RecipeValues
from evotrain.schemas.constitution import NoiseStatistic
from evotrain.schemas.policy import NoiseRule, Replicate

Metric = Literal["dev", "leaderboard"]


def recipe_sha256(recipe: RecipeValues) -> str:
    """Stable hash of a recipe (sorted-key JSON), used to group anchor replicates."""
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def pooled_sd(replicates: list[Replicate], metric: Metric) -> tuple[float | None, int]:
    """Pooled within-recipe standard deviation and its degrees of freedom."""
    groups: dict[str, list[float]] = defaultdict(list)
    for rep in replicates:
        value = getattr(rep, metric)
        if value is not None:
            groups[rep.recipe_sha256].append(float(value))
    dof = sum(len(v) - 1 for v in groups.values())
    if dof == 0:
        return None, 0
    ss = 0.0
    for values in groups.values():
        mean = sum(values) / len(values)
        ss += sum((x - mean) ** 2 for x in values)
    return math.sqrt(ss / dof), dof


def band(replicates: list[Replicate], metric: Metric, stat: NoiseStatistic) -> float:
    s, dof = pooled_sd(replicates, metric)
    if s is None:
        return max(stat.floor, stat.prior)
    scale = stat.multiplier * math.sqrt(2.0)
    s0 = stat.prior / scale  # the sd the prior band stands for
    pooled = math.sqrt((stat.prior_dof * s0**2 + dof * s**2) / (stat.prior_dof + dof))
    return min(1.0, max(stat.floor, scale * pooled))


def best_of_k_z(multiplier: float, k: int) -> float:
    """The z a single comparison must clear so that the best of k keeps the error rate of one."""
    if k <= 1:
        return multiplier
    normal = NormalDist()
    alpha = 1.0 - normal.cdf(multiplier)
    alpha_k = 1.0 - (1.0 - alpha) ** (1.0 / k)
    return normal.inv_cdf(1.0 - alpha_k)


def decision_band(noise_band: float, compared: int, stat: NoiseStatistic) -> float:
    """The band a candidate's leaderboard gain must clear when it is one of `compared` explorers."""
    if not stat.best_of_k or compared <= 1:
        return noise_band
    return min(1.0, max(stat.floor, noise_band * best_of_k_z(stat.multiplier, compared) / stat.multiplier))


def describe(stat: NoiseStatistic, dof: int) -> str:
    if dof == 0:
        return f"prior {stat.prior:g} (no replicate of one recipe yet; floor {stat.floor:g})"
    return (
        f"{stat.multiplier:g} x sqrt(2) x pooled within-recipe sd of replicates (baseline anchors and "
        f"promoted candidates re-run by the next anchor; {dof} dof, pooled with the prior "
        f"{stat.prior:g} worth {stat.prior_dof:g} dof; floor {stat.floor:g})"
    )


def next_noise_rule(current: NoiseRule, new: list[Replicate], stat: NoiseStatistic) -> NoiseRule:
    """The noise rule after adding this round's replicates (the promoted run it re-ran, its anchor)."""
    replicates = [*current.replicates, *new]
    samples = [r.leaderboard for r in replicates if r.leaderboard is not None]
    _, dof = pooled_sd(replicates, "leaderboard")
    return NoiseRule(
        statistic=describe(stat, dof),
        threshold=band(replicates, "leaderboard", stat),
        n_samples=len(samples),
        samples=samples,
        dev_threshold=band(replicates, "dev", stat),
        replicates=replicates,
    )
