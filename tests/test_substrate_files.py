"""substrate.yaml and axes.yaml conform to evotrain's schemas; every axis range is a valid recipe."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from evotrain.schemas.common import set_path
from evotrain.schemas.policy import Axis
from evotrain.schemas.substrate import SubstrateSpec

ROOT = Path(__file__).resolve().parents[1]
SUBSTRATE = ROOT / "substrate" / "default"
sys.path.insert(0, str(SUBSTRATE))

from minitask.puzzle import FAMILIES  # noqa: E402
from minitask.recipe import Recipe  # noqa: E402


def load_axes() -> list[Axis]:
    return [Axis.model_validate(a) for a in yaml.safe_load((SUBSTRATE / "axes.yaml").read_text())]


def test_substrate_yaml_conforms() -> None:
    spec = SubstrateSpec.model_validate(yaml.safe_load((SUBSTRATE / "substrate.yaml").read_text()))
    assert tuple(spec.families) == FAMILIES
    assert "recipe.yaml" in spec.editable and "base/**" in spec.frozen
    assert "{seed}" in spec.run_command and "{report}" in spec.evaluate_command
    assert not set(spec.editable) & set(spec.frozen)


def test_axes_cover_categories() -> None:
    axes = load_axes()
    categories = {a.category for a in axes}
    assert {"optimizer", "schedule", "lora_capacity", "regularisation", "data_mix", "traces",
            "checkpoint_selection"} <= categories
    assert len({a.name for a in axes}) == len(axes)


@pytest.mark.parametrize("axis", load_axes(), ids=lambda a: a.name)
def test_axis_range_ends_are_valid_recipes(axis: Axis) -> None:
    standing = yaml.safe_load((SUBSTRATE / "recipe.yaml").read_text())
    r = axis.range
    values = r.choices if r.kind == "choice" else [r.low, r.high]
    for value in values:
        if r.kind == "int":
            value = int(value)
        changed = set_path(standing, axis.key, value)
        if axis.key == "max_steps":  # checkpoints must lie within the run
            changed["save_steps"] = [int(value)]
        Recipe.model_validate(changed)
