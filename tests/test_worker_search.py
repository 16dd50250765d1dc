"""The scripted agent's search strategy and checkpoint rule, as pure functions."""

from __future__ import annotations

import pytest

from evotrain.schemas.policy import Axis, AxisRange, DeadEnd, Promotion
from evotrain.schemas.results import CheckpointEval
from workers.agents.scripted_search import back_off, propose_change
from workers.checkpoint_choice import choose_checkpoint

LR = Axis(name="lr", category="optimizer", key="learning_rate", range=AxisRange(kind="log", low=1e-4, high=3e-2))
RANK = Axis(name="rank", category="capacity", key="lora_r", range=AxisRange(kind="int", low=2, high=32))
WD = Axis(name="wd", category="regularisation", key="weight_decay", range=AxisRange(kind="linear", low=0, high=0.2))
SCHED = Axis(name="sched", category="optimizer", key="lr_scheduler",
             range=AxisRange(kind="choice", choices=["constant", "linear", "cosine"]))
MIX = Axis(name="mix_eq", category="data", key="mixture_weights.equation",
           range=AxisRange(kind="linear", low=0, high=4))


def dead(key: str, direction: str, value: object = None) -> DeadEnd:
    return DeadEnd(what=f"{direction} {key}", key=key, direction=direction, value=value, why="hurt lb",
                   evidence="r001/w02", round=1)


def test_log_step_doubles_or_halves_and_is_deterministic() -> None:
    a = propose_change(LR, {"learning_rate": 0.003}, [], 7)
    b = propose_change(LR, {"learning_rate": 0.003}, [], 7)
    assert a == b and a is not None
    assert a.new in (0.006, 0.0015)
    assert a.direction == ("increase" if a.new == 0.006 else "decrease")


def test_first_step_goes_towards_the_middle_and_the_second_visit_the_other_way() -> None:
    # LR's geometric middle is sqrt(1e-4 * 3e-2) = 0.00173: 0.003 sits above it, so visit 0 halves
    for seed in range(4):  # the seed no longer decides a numeric direction
        assert propose_change(LR, {"learning_rate": 0.003}, [], seed).new == 0.0015  # type: ignore[union-attr]
        assert propose_change(LR, {"learning_rate": 0.003}, [], seed, visit=1).new == 0.006  # type: ignore[union-attr]
    assert propose_change(LR, {"learning_rate": 0.001}, [], 0).new == 0.002  # type: ignore[union-attr]
    # linear middle 0.1: from 0 up by a quarter of the width; int (positive) geometric middle 8
    assert propose_change(WD, {"weight_decay": 0.0}, [], 0).new == 0.05  # type: ignore[union-attr]
    assert propose_change(RANK, {"lora_r": 16}, [], 0).new == 8  # type: ignore[union-attr]
    assert propose_change(RANK, {"lora_r": 8}, [], 0).new == 16  # type: ignore[union-attr]  # at the middle: up
    picks = {propose_change(SCHED, {"lr_scheduler": "cosine"}, [], s).new for s in range(4)}  # type: ignore[union-attr]
    assert picks == {"constant", "linear"}


def test_a_promotion_of_the_key_sets_the_first_direction() -> None:
    up = Promotion(round=1, key="learning_rate", old=0.0015, new=0.003, leaderboard_gain=0.05, evidence="r001/w02")
    other = Promotion(round=2, key="lora_r", old=8, new=4, leaderboard_gain=0.04, evidence="r002/w03")
    p = propose_change(LR, {"learning_rate": 0.003}, [], 0, [up, other])
    assert p is not None and p.new == 0.006 and "round 1 promoted" in p.reason  # above the middle, still up
    # visit 1 takes the side visit 0 does not, but not back to 0.0015 (promoted away from): half a step
    p = propose_change(LR, {"learning_rate": 0.003}, [], 0, [up], visit=1)
    assert p is not None and p.new == pytest.approx(0.003 / 2 ** 0.5)
    # after a downward promotion 0.006 -> 0.003, visit 1 neither re-tests 0.006 nor repeats visit 0's
    # 0.0015: a half step up, 0.003 * sqrt(2)
    down = Promotion(round=1, key="learning_rate", old=0.006, new=0.003, leaderboard_gain=0.05, evidence="e")
    assert propose_change(LR, {"learning_rate": 0.003}, [], 0, [down]).new == 0.0015  # type: ignore[union-attr]
    p = propose_change(LR, {"learning_rate": 0.003}, [], 0, [down], visit=1)
    assert p is not None and p.new == pytest.approx(0.003 * 2 ** 0.5)
    # a dead end beats momentum (and 0.0015 was promoted away from: half a step down)
    p = propose_change(LR, {"learning_rate": 0.003}, [dead("learning_rate", "increase")], 0, [up])
    assert p is not None and p.new == pytest.approx(0.003 / 2 ** 0.5)


@pytest.mark.parametrize("blocked,expected", [("increase", 0.0015), ("decrease", 0.006)])
def test_dead_end_direction_is_never_proposed(blocked: str, expected: float) -> None:
    for seed in range(8):
        p = propose_change(LR, {"learning_rate": 0.003}, [dead("learning_rate", blocked)], seed)
        assert p is not None and p.new == expected


def test_dead_end_set_value_falls_back_to_half_step() -> None:
    ends = [dead("learning_rate", "set", 0.006), dead("learning_rate", "set", 0.0015)]
    p = propose_change(LR, {"learning_rate": 0.003}, ends, 1)
    assert p is not None and p.new in (pytest.approx(0.00424264), pytest.approx(0.00212132))


def test_range_edge_flips_direction() -> None:
    for seed in range(8):
        p = propose_change(LR, {"learning_rate": 3e-2}, [], seed)
        assert p is not None and p.direction == "decrease" and p.new == pytest.approx(0.015)


def test_everything_blocked_gives_none() -> None:
    ends = [dead("lr", "increase"), dead("lr", "decrease")]
    assert propose_change(LR, {"learning_rate": 0.003}, ends, 0) is None


def test_int_axis_moves_geometrically_and_stays_int() -> None:
    p = propose_change(RANK, {"lora_r": 8}, [], 3)
    assert p is not None and p.new in (16, 4) and isinstance(p.new, int)
    top = propose_change(RANK, {"lora_r": 32}, [], 3)
    assert top is not None and top.new == 16


def test_linear_axis_steps_a_quarter_of_the_range() -> None:
    p = propose_change(WD, {"weight_decay": 0.1}, [], 0)
    assert p is not None and p.new in (pytest.approx(0.15), pytest.approx(0.05))


def test_choice_axis_picks_an_unused_unblocked_choice() -> None:
    p = propose_change(SCHED, {"lr_scheduler": "cosine"}, [dead("lr_scheduler", "set", "linear")], 0)
    assert p is not None and p.new == "constant"
    everything = [dead("lr_scheduler", "set", "linear"), dead("lr_scheduler", "set", "constant")]
    assert propose_change(SCHED, {"lr_scheduler": "cosine"}, everything, 0) is None


def test_nested_key_reads_the_map_entry() -> None:
    p = propose_change(MIX, {"mixture_weights": {"equation": 1.0, "bits": 1.0}}, [], 0)
    assert p is not None and p.old == 1.0 and p.new in (2.0, 0.0)


def test_numeric_string_from_yaml_is_understood() -> None:
    p = propose_change(LR, {"learning_rate": "1e-3"}, [], 0)
    assert p is not None and p.new in (0.002, 0.0005)


def test_back_off_goes_halfway_back() -> None:
    p = propose_change(LR, {"learning_rate": 0.004}, [dead("lr", "decrease")], 0)
    assert p is not None and p.new == 0.008
    soft = back_off(LR, p, [])
    assert soft is not None and soft.new == pytest.approx(0.00565685)
    rank = propose_change(RANK, {"lora_r": 8}, [dead("rank", "decrease")], 0)
    assert rank is not None and back_off(RANK, rank, []).new == 12  # type: ignore[union-attr]
    assert back_off(SCHED, propose_change(SCHED, {"lr_scheduler": "cosine"}, [], 0), []) is None  # type: ignore[arg-type]


def _ck(step: int, alpha: float, beta: float, overall: float) -> CheckpointEval:
    return CheckpointEval(step=step, adapter_dir=f"c{step}", overall=overall, by_family={"a": alpha, "b": beta},
                          n_items=10)


def test_checkpoint_choice_by_objective() -> None:
    lopsided = _ck(10, 0.95, 0.20, 0.70)  # one easy, over-represented family carries overall dev
    balanced = _ck(20, 0.60, 0.58, 0.59)
    assert choose_checkpoint([lopsided, balanced], "raise_dev") is lopsided
    assert choose_checkpoint([lopsided, balanced], "proxy_aware") is balanced
    assert choose_checkpoint([_ck(30, 0.5, 0.5, 0.5), _ck(10, 0.5, 0.5, 0.5)], "raise_dev").step == 10  # type: ignore[union-attr]
    assert choose_checkpoint([], "raise_dev") is None


def test_comma_joined_choice_for_a_list_valued_key_is_a_list() -> None:
    modules = Axis(name="mods", category="lora_capacity", key="lora_target_modules",
                   range=AxisRange(kind="choice", choices=["q_proj,v_proj", "q_proj,k_proj,v_proj,o_proj"]))
    p = propose_change(modules, {"lora_target_modules": ["q_proj", "v_proj"]}, [], 0)
    assert p is not None and p.new == ["q_proj", "k_proj", "v_proj", "o_proj"]  # the current one is skipped
    blocked = [dead("lora_target_modules", "set", "q_proj,k_proj,v_proj,o_proj")]
    assert propose_change(modules, {"lora_target_modules": ["q_proj", "v_proj"]}, blocked, 0) is None


def test_a_second_visit_of_a_choice_axis_takes_another_choice_or_replicates_the_only_one() -> None:
    # the planner gives visit v the seed base + v; whatever visit 0 picks, visit 1 picks the other one
    for base in range(4):
        first = propose_change(SCHED, {"lr_scheduler": "cosine"}, [], base)
        second = propose_change(SCHED, {"lr_scheduler": "cosine"}, [], base + 1, visit=1)
        assert first is not None and second is not None
        assert {first.new, second.new} == {"constant", "linear"}
    # one other choice only: the second visit repeats it (a replicate under its own seed), never idles
    two = Axis(name="trace", category="traces", key="trace_style",
               range=AxisRange(kind="choice", choices=["answer_only", "step_by_step"]))
    again = propose_change(two, {"trace_style": "step_by_step"}, [], 5, visit=1)
    assert again is not None and again.new == "answer_only"


def test_a_listed_choice_of_integers_is_the_list_of_integers() -> None:
    steps = Axis(name="save", category="checkpoint_selection", key="save_steps",
                 range=AxisRange(kind="choice", choices=["50,100", "25,50,75,100", "100"]))
    picks = {str(propose_change(steps, {"save_steps": [50, 100]}, [], s).new) for s in range(6)}  # type: ignore[union-attr]
    assert picks == {"[25, 50, 75, 100]", "[100]"}  # never "50,100" again as strings: that is the standing value
