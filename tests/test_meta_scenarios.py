"""Meta agent on synthetic rounds: drift -> proxy-aware, plateau rotation after exactly two, A/A."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from _meta_synth import Cand, Loop, aa_round

from orchestrator.meta.constitution import enforce


def _dev_only(base_dev: float, base_lb: float, cand_dev: float, cand_lb: float) -> list[Cand]:
    """Anchor + one candidate that lifts dev (via the equation weight) while LB stays in the band."""
    eq = {"bit": base_dev, "equation": cand_dev + (cand_dev - base_dev)}
    return [
        Cand("w01", "baseline", "baseline", base_dev, base_lb),
        Cand("w02", "learning_rate", "optimizer", base_dev + 0.002, base_lb + 0.001, change=("lr", 0.002)),
        Cand("w03", "warmup", "optimizer", cand_dev, cand_lb, change=("warmup_steps", 40), dev_fam=eq),
    ]


def test_drift_two_rounds_switches_objective_and_registers_dead_end(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    r1, p2 = loop.round(_dev_only(0.80, 0.80, 0.86, 0.805))
    assert r1.calibration.dev_only_rise and r1.calibration.drift_streak == 1
    assert not r1.calibration.drift_flag and p2.objective == "raise_dev"  # one round is not drift
    r2, p3 = loop.round(_dev_only(0.80, 0.80, 0.93, 0.806))
    assert r2.calibration.drift_flag and r2.calibration.drift_streak == 2
    assert r2.calibration.drift_worker == "w03" and r2.search_mode == "Proxy exploitation"
    assert r2.calibration.family_deltas["equation"] == pytest.approx((0.93 + 0.13 - 0.80) - 0.006)
    assert p3.objective == "proxy_aware" and p3.search_mode == "Proxy-aware search"
    added = p3.dead_ends[len(p2.dead_ends):]
    assert [(d.key, d.direction, d.round) for d in added] == [("warmup_steps", "increase", 2)]
    assert "w03" in added[0].evidence and "0.930" in added[0].evidence
    assert {a.name: a.status for a in p3.axes}["warmup"] == "retired"
    assert {a.category for a in p3.active_axes()} & {"data_mix", "checkpoint_selection"}
    assert p3.standing_recipe == p2.standing_recipe  # a dev-only gain is never promoted
    # an update that ignores the drift breaks the constitution in two ways
    ignored = p3.model_copy(update={"objective": "raise_dev", "dead_ends": p2.dead_ends})
    found = enforce(p2, ignored, r2, loop.rules)
    assert any("objective not switched" in v for v in found)
    assert any("drift axis 'warmup' missing from the dead-end registry" in v for v in found)
    # the next round selects submissions by the proxy-aware objective
    r3, p4 = loop.round(_dev_only(0.80, 0.80, 0.80, 0.80))
    assert r3.objective == "proxy_aware" and p4.objective == "proxy_aware"
    back = p4.model_copy(update={"objective": "raise_dev"})
    assert any("switched back" in v for v in enforce(p3, back, r3, loop.rules))


def _plateau(best_lb: float) -> list[Cand]:
    return [
        Cand("w01", "baseline", "baseline", 0.80, 0.80),
        Cand("w02", "learning_rate", "optimizer", 0.801, best_lb, change=("lr", 0.002)),
        Cand("w03", "warmup", "optimizer", 0.799, 0.799, change=("warmup_steps", 20)),
    ]


def test_rotation_after_exactly_two_plateau_rounds(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    _, p2 = loop.round(_plateau(0.801))  # first round: nothing to plateau against
    assert {a.category for a in p2.active_axes()} == {"optimizer"} and p2.plateau_count == 0
    r2, p3 = loop.round(_plateau(0.802))
    assert r2.calibration.plateau and p3.plateau_count == 1
    assert {a.category for a in p3.active_axes()} == {"optimizer"}  # one plateau round: no rotation
    r3, p4 = loop.round(_plateau(0.803))
    assert r3.calibration.plateau
    # capacity has one axis for two explorers, so the next dormant category joins it
    assert {a.category for a in p4.active_axes()} == {"capacity", "data_mix"} and p4.plateau_count == 0
    assert {a.name: a.status for a in p4.axes}["learning_rate"] == "retired"
    assert "rotated ['optimizer'] -> ['capacity']" in p4.rationale and "activated ['data_mix']" in p4.rationale


def test_improvement_resets_the_plateau_count(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.round(_plateau(0.801))
    _, p3 = loop.round(_plateau(0.802))
    assert p3.plateau_count == 1
    r3, p4 = loop.round(_plateau(0.84))  # a real gain: promoted, plateau count resets
    assert not r3.calibration.plateau and p4.plateau_count == 0
    assert p4.standing_recipe["lr"] == 0.002 and p4.promotions[-1].round == 3


def test_aa_rounds_promote_nothing(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    start = dict(loop.policy.standing_recipe)
    rng = random.Random(7)
    positive = []
    for r in range(1, 6):
        report, policy = loop.round(aa_round(r, rng))
        assert policy.promotions == [] and policy.standing_recipe == start
        assert not report.calibration.drift_flag
        positive += [c.worker_id for c in report.candidates if not c.is_baseline and (c.leaderboard_gain or 0) > 0]
    assert positive  # seed noise did produce leaderboard "gains": the noise band is what stopped them
    assert policy.noise.n_samples == 5 and len(policy.noise.replicates) == 5
    assert policy.noise.statistic.startswith("2 x sqrt(2)")  # computed from the replicates, not the prior


def test_real_gain_is_promoted_in_policy_not_substrate(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    recipe_file = tmp_path / "recipe.yaml"
    before = recipe_file.read_bytes()
    _, p2 = loop.round([
        Cand("w01", "baseline", "baseline", 0.80, 0.80),
        Cand("w02", "learning_rate", "optimizer", 0.83, 0.84, change=("lr", 0.003)),
    ])
    assert p2.standing_recipe["lr"] == 0.003 and p2.search_mode == "Stack-and-calibrate"
    assert p2.promotions[0].leaderboard_gain == pytest.approx(0.04)
    # a numeric axis stays active after its promotion (the next round continues that way)
    assert {a.name: a.status for a in p2.axes}["learning_rate"] == "active" and "stays active" in p2.rationale
    assert recipe_file.read_bytes() == before
    assert p2.history[-1].best_leaderboard == pytest.approx(0.84) and p2.history[-1].learned == p2.rationale


def test_a_promoted_choice_axis_leaves_the_search(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.policy = loop.policy.model_copy(update={"axes": [
        a.model_copy(update={"status": "active"}) if a.name == "lora_rank" else a for a in loop.policy.axes]})
    _, p2 = loop.round([
        Cand("w01", "baseline", "baseline", 0.80, 0.80),
        Cand("w02", "lora_rank", "capacity", 0.83, 0.84, change=("lora_rank", 16)),
    ])
    assert p2.standing_recipe["lora_rank"] == 16
    assert {a.name: a.status for a in p2.axes}["lora_rank"] == "promoted" and "stays active" not in p2.rationale


def test_rotation_keeps_an_axis_with_an_open_lead(tmp_path: Path) -> None:
    """Issue #13, twelfth session: a rotation retired max_steps the round it showed a lead, and the
    lead was never re-tested."""
    loop = Loop(tmp_path)
    loop.round(_plateau(0.801))
    loop.round(_plateau(0.802))
    # a low anchor: warmup's +0.020 is a lead, yet the round's best (0.805) is still a plateau
    lead_round = [Cand("w01", "baseline", "baseline", 0.80, 0.785),
                  Cand("w02", "learning_rate", "optimizer", 0.801, 0.786, change=("lr", 0.002)),
                  Cand("w03", "warmup", "optimizer", 0.80, 0.805, change=("warmup_steps", 20))]
    p3 = loop.policy
    r3, p4 = loop.round(lead_round)  # Loop.round also checks the constitution accepts p4
    assert r3.calibration.plateau and [(x.key, x.new) for x in p4.leads] == [("warmup_steps", 20)]
    status = {a.name: a.status for a in p4.axes}
    assert status["learning_rate"] == "retired" and status["warmup"] == "active"
    assert "capacity" in {a.category for a in p4.active_axes()}  # the rotation itself still happened
    assert "kept ['warmup'] active" in p4.rationale
    # the constitution still refuses a plateaued axis without a lead left active
    kept_lr = p4.model_copy(update={"axes": [a.model_copy(update={"status": "active"}) if a.name == "learning_rate"
                                             else a for a in p4.axes]})
    assert any("['learning_rate'] still active" in v for v in enforce(p3, kept_lr, r3, loop.rules))
