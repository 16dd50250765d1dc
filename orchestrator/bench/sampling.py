"""The search space of the baselines: the substrate's axes, sampled or gridded on top of its recipe.

Random search samples every axis independently per draw: log-uniform for `log`, uniform for
`linear`, a uniform integer for `int`, a uniform pick for `choice`. Draw i of seed s is a pure
function of (s, i), so the oracle's 3·R·N draws for seed s begin with random search's R·N draws.
One-factor-at-a-time tries a 3-point grid per numeric axis (low, middle, high; the geometric middle
for `log`) and every choice of a `choice` axis.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from evotrain.schemas.common import RecipeValue, RecipeValues, Scalar, get_path, set_path
from evotrain.schemas.policy import Axis
from orchestrator.meta import policy_store
from workers.substrate_contract import load_spec


def substrate_space(substrate: Path, overrides: RecipeValues) -> tuple[RecipeValues, list[Axis]]:
    """(baseline recipe = recipe.yaml + overrides, axes.yaml) as a campaign's round 1 sees them."""
    spec = load_spec(substrate)
    recipe = {**policy_store.load_recipe(substrate / spec.recipe_file), **overrides}
    return recipe, policy_store.load_axes(substrate / spec.axes_file)


def _tidy(axis: Axis, value: float) -> RecipeValue:
    return round(value) if axis.range.kind == "int" else float(f"{value:.6g}")


def recipe_value(choice: Scalar, old: RecipeValue) -> RecipeValue:
    """A choice for a list-valued key is written "a,b" in axes.yaml: that is the list [a, b]."""
    if isinstance(old, list) and isinstance(choice, str):
        return [int(p) if p.strip().isdigit() else p.strip() for p in choice.split(",") if p.strip()]
    return choice


def sample_value(axis: Axis, rng: random.Random, old: RecipeValue) -> RecipeValue:
    r = axis.range
    if r.kind == "choice":
        return recipe_value(rng.choice(list(r.choices or [])), old)
    low, high = float(r.low), float(r.high)  # type: ignore[arg-type]  # numeric ranges have bounds
    if r.kind == "log":
        return _tidy(axis, math.exp(rng.uniform(math.log(low), math.log(high))))
    if r.kind == "int":
        return rng.randint(math.ceil(low), math.floor(high))
    return _tidy(axis, rng.uniform(low, high))


def draw(baseline: RecipeValues, axes: list[Axis], seed: int, index: int) -> dict[str, RecipeValue]:
    """Draw `index` (0-based) of seed `seed`'s stream: one value per axis key."""
    rng = random.Random(f"evotrain-bench-random/{seed}/{index}")
    return {a.key: sample_value(a, rng, get_path(baseline, a.key)) for a in axes}


def grid(axis: Axis, old: RecipeValue) -> list[RecipeValue]:
    """The values OFAT tries along one axis (the current value excluded)."""
    r = axis.range
    if r.kind == "choice":
        values = [recipe_value(c, old) for c in (r.choices or [])]
    else:
        low, high = float(r.low), float(r.high)  # type: ignore[arg-type]
        mid = math.sqrt(low * high) if r.kind == "log" else (low + high) / 2
        values = [_tidy(axis, v) for v in (low, mid, high)]
    out: list[RecipeValue] = []
    for v in values:
        if v not in out and not _same(v, old):
            out.append(v)
    return out


def _same(a: RecipeValue, b: RecipeValue) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def apply(baseline: RecipeValues, values: dict[str, RecipeValue]) -> RecipeValues:
    recipe = dict(baseline)
    for key, value in values.items():
        recipe = set_path(recipe, key, value)
    return recipe
