"""The worker's system prompt carries what the brief knows about its axis (issue #13, point 4)."""

from __future__ import annotations

from pathlib import Path

import yaml

from evotrain.schemas.brief import Brief
from evotrain.schemas.policy import Axis, AxisRange, Promotion
from evotrain.schemas.substrate import SubstrateSpec
from workers.prompts import system_prompt

ROOT = Path(__file__).resolve().parents[1]
LR = Axis(name="lr", category="optimizer", key="learning_rate", range=AxisRange(kind="log", low=1e-4, high=1e-2))


def _spec() -> SubstrateSpec:
    return SubstrateSpec.model_validate(yaml.safe_load((ROOT / "substrate/default/substrate.yaml").read_text()))


def test_promotions_and_visit_reach_the_prompt() -> None:
    promo = Promotion(round=1, key="learning_rate", old=0.03, new=0.015, leaderboard_gain=0.05, evidence="e")
    brief = Brief(campaign="c", round=2, worker_id="w03", axis=LR, standing_recipe={"learning_rate": 0.015},
                  sandbox="/tmp/s", promotions=[promo], axis_visit=1)
    text = system_prompt(brief, _spec(), ["minitask/"])
    assert "Round 1 promoted `learning_rate` 0.03 → 0.015 (leaderboard +0.050)." in text
    assert "You are worker 2 on this axis this round" in text


def test_first_visit_without_history_says_neither() -> None:
    brief = Brief(campaign="c", round=1, worker_id="w02", axis=LR, standing_recipe={"learning_rate": 0.01},
                  sandbox="/tmp/s")
    text = system_prompt(brief, _spec(), ["minitask/"])
    assert "promoted" not in text and "this axis this round" not in text and "Explore axis **lr**" in text
