"""Unit tests of the campaign's own pieces: planning, lock, overhead accounting, config errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from evotrain.errors import EvotrainError
from evotrain.paths import CampaignPaths
from evotrain.schemas.brief import WorkerBudget
from evotrain.schemas.policy import Axis, AxisRange, DeadEnd, Policy, Promotion
from orchestrator.campaign.accounting import union_length
from orchestrator.campaign.lock import CampaignLock, lock_holder
from orchestrator.config import load_config
from orchestrator.plan import assign_axes, plan_round


def _axis(name: str, key: str, category: str = "optimizer", status: str = "active") -> Axis:
    return Axis(name=name, category=category, key=key, range=AxisRange(kind="log", low=1e-4, high=1e-2),
                status=status)  # type: ignore[arg-type]


def _policy(axes: list[Axis], dead_ends: list[DeadEnd] | None = None) -> Policy:
    return Policy(campaign="c", round=1, standing_recipe={"learning_rate": 1e-3, "warmup_steps": 10},
                  axes=axes, dead_ends=dead_ends or [])


def test_plan_has_one_anchor_and_distinct_axes(tmp_path: Path) -> None:
    axes = [_axis("lr", "learning_rate"), _axis("wd", "weight_decay"), _axis("wu", "warmup_steps"),
            _axis("dormant", "lora_r", status="dormant")]
    briefs = plan_round(_policy(axes), CampaignPaths(tmp_path, "c"), 1, 4, 0, WorkerBudget(), "abc")
    assert [b.worker_id for b in briefs] == ["w01", "w02", "w03", "w04"]
    assert briefs[0].is_baseline and not any(b.is_baseline for b in briefs[1:])
    assert sorted(b.axis_name for b in briefs[1:]) == ["lr", "wd", "wu"]  # dormant axis never planned
    assert {b.seed for b in briefs} == {briefs[0].seed}  # paired comparison within a round
    assert all(b.substrate_commit == "abc" and Path(b.sandbox).is_absolute() for b in briefs)


def test_plan_excludes_fully_dead_axes_and_passes_concerning_dead_ends(tmp_path: Path) -> None:
    dead = [DeadEnd(what="x", key="learning_rate", direction=d, why="w", evidence="e", round=1)  # type: ignore[arg-type]
            for d in ("increase", "decrease")]
    half = DeadEnd(what="y", key="weight_decay", direction="increase", why="w", evidence="e", round=1)
    axes = [_axis("lr", "learning_rate"), _axis("wd", "weight_decay")]
    briefs = plan_round(_policy(axes, [*dead, half]), CampaignPaths(tmp_path, "c"), 2, 3, 0, WorkerBudget(), "abc")
    assert [b.axis_name for b in briefs] == ["baseline", "wd", "wd"]
    assert all(d.key == "weight_decay" for d in briefs[1].dead_ends) and len(briefs[1].dead_ends) == 1
    assert briefs[1].seed != briefs[2].seed  # a revisit steps differently
    assert [b.axis_visit for b in briefs] == [0, 0, 1]  # the scripted agent's second worker flips direction


def test_plan_passes_the_axis_promotions_only(tmp_path: Path) -> None:
    promos = [Promotion(round=1, key=k, old=1e-3, new=5e-4, leaderboard_gain=0.05, evidence="e")
              for k in ("learning_rate", "weight_decay")]
    policy = _policy([_axis("lr", "learning_rate")]).model_copy(update={"promotions": promos})
    briefs = plan_round(policy, CampaignPaths(tmp_path, "c"), 2, 2, 0, WorkerBudget(), "abc")
    assert briefs[0].promotions == [] and [p.key for p in briefs[1].promotions] == ["learning_rate"]


def test_axis_rotation_covers_all_axes_over_rounds() -> None:
    axes = [_axis(f"a{i}", f"k{i}") for i in range(5)]
    seen = {a.name for r in (1, 2) for a in assign_axes(_policy(axes), 3, r)}
    assert seen == {f"a{i}" for i in range(5)}


def _promoted(key: str, old: float, new: float, round_no: int = 1) -> Promotion:
    return Promotion(round=round_no, key=key, old=old, new=new, leaderboard_gain=0.06, evidence="e")


def test_last_rounds_numeric_promotion_is_followed_up_first() -> None:
    axes = [_axis(f"a{i}", f"k{i}") for i in range(6)]
    plain = [a.name for a in assign_axes(_policy(axes), 3, 2)]
    assert plain == ["a3", "a4", "a5"]  # the rotation alone
    policy = _policy(axes).model_copy(update={"promotions": [_promoted("k1", 1e-3, 2e-3)]})
    assert [a.name for a in assign_axes(policy, 3, 2)] == ["a1", "a3", "a4"]
    # an older promotion is not momentum, and a step that reached the range's edge has nowhere to go
    older = _policy(axes).model_copy(update={"promotions": [_promoted("k1", 1e-3, 2e-3, round_no=1)]})
    assert [a.name for a in assign_axes(older, 3, 3)] == [a.name for a in assign_axes(_policy(axes), 3, 3)]
    at_edge = _policy(axes).model_copy(update={"promotions": [_promoted("k1", 5e-3, 1e-2)]})
    assert [a.name for a in assign_axes(at_edge, 3, 2)] == plain
    down_to_edge = _policy(axes).model_copy(update={"promotions": [_promoted("k1", 2e-4, 1e-4)]})
    assert [a.name for a in assign_axes(down_to_edge, 3, 2)] == plain


def test_momentum_ignores_choice_axes_and_numeric_strings_count() -> None:
    choice = Axis(name="sched", category="schedule", key="lr_scheduler",
                  range=AxisRange(kind="choice", choices=["constant", "cosine"]))
    axes = [_axis("a0", "k0"), _axis("a1", "k1"), _axis("a2", "k2"), choice]
    promos = [Promotion(round=1, key="lr_scheduler", old="constant", new="cosine", leaderboard_gain=0.06,
                        evidence="e"), _promoted("k0", 1e-3, 5e-4)]
    promos[1] = promos[1].model_copy(update={"old": "1e-3", "new": "5e-4"})  # YAML reads 1e-3 as a string
    policy = _policy(axes).model_copy(update={"promotions": promos})
    assert [a.name for a in assign_axes(_policy(axes), 2, 2)] == ["a2", "sched"]  # the rotation alone
    assert [a.name for a in assign_axes(policy, 2, 2)] == ["a0", "a2"]


def test_surplus_explorers_go_where_a_move_is_left() -> None:
    """7 explorers on 4 axes (issue #13, eleventh session, seed 2 round 4): two workers ran
    trace_style's one other choice and train_difficulty had no third value; now the surplus goes to
    axes with moves left, and only when none is left does an axis get a repeat."""
    trace = Axis(name="trace", category="traces", key="trace_style",
                 range=AxisRange(kind="choice", choices=["answer_only", "step_by_step"]))
    difficulty = Axis(name="difficulty", category="data_mix", key="train_difficulty",
                      range=AxisRange(kind="int", low=0, high=2))
    axes = [trace, difficulty, _axis("lr", "learning_rate")]
    policy = _policy(axes).model_copy(update={"standing_recipe": {"trace_style": "step_by_step",
                                                                  "train_difficulty": 0, "learning_rate": 1e-3}})
    # from 0 in 0..2 a step either way reaches only 1; lr: x2, /2, xsqrt2, /sqrt2
    assert [a.name for a in assign_axes(policy, 6, 1)] == ["trace", "difficulty", "lr", "lr", "lr", "lr"]
    many = [a.name for a in assign_axes(policy, 8, 1)]  # more explorers than moves: the least visited repeats
    assert [many.count(n) for n in ("trace", "difficulty", "lr")] == [2, 2, 4]
    at_one = policy.model_copy(update={"standing_recipe": {**policy.standing_recipe, "train_difficulty": 1}})
    assert [a.name for a in assign_axes(at_one, 7, 1)].count("difficulty") == 2  # 0 and 2


def test_union_length_counts_overlaps_once_and_clips_to_sessions() -> None:
    spans = [(0.0, 10.0), (5.0, 15.0), (20.0, 30.0)]
    assert union_length(spans, [(0.0, 100.0)]) == pytest.approx(25.0)
    assert union_length(spans, [(8.0, 22.0)]) == pytest.approx(9.0)  # 8..15 and 20..22
    assert union_length(spans, [(0.0, 12.0), (25.0, 40.0)]) == pytest.approx(17.0)


def test_second_lock_is_refused_with_holder_named(tmp_path: Path) -> None:
    path = tmp_path / "campaign.lock"
    with CampaignLock(path, "c"):
        assert lock_holder(path) is not None
        with pytest.raises(EvotrainError, match="already being run"):
            CampaignLock(path, "c").acquire()
    assert lock_holder(path) is None


def test_lock_of_a_killed_process_is_stale(tmp_path: Path) -> None:
    path = tmp_path / "campaign.lock"
    code = textwrap.dedent(f"""
        import os, signal
        from orchestrator.campaign.lock import CampaignLock
        CampaignLock(__import__('pathlib').Path({str(path)!r}), 'c').acquire()
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    subprocess.run([sys.executable, "-c", code], check=False)
    assert "pid" in path.read_text()  # the dead holder's note is still there ...
    with CampaignLock(path, "c"):  # ... but the lock itself died with the process
        pass


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("name: demo\nworkers_per_round: 0\n", "workers_per_round"),
        ("name: demo\nroundz: 3\n", "roundz"),
        ("name: Demo Campaign\n", "name"),
        ("name: demo\nexecutor: {kind: slurm}\n", "executor.kind"),
    ],
)
def test_bad_config_names_the_field(tmp_path: Path, body: str, field: str) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(body)
    with pytest.raises(EvotrainError) as err:
        load_config(cfg)
    assert f"'{field}'" in err.value.message and "\n" not in err.value.message
