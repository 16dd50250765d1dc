"""Noise band from real replicates: a promoted candidate re-run by the next round's anchor (issue #13).

Expected values are computed here by hand from the scores the test sets, never by the code under test.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from _meta_synth import Cand, Loop

from evotrain.schemas.constitution import NoiseStatistic
from orchestrator.collect.render import render_report

PRIOR, PRIOR_DOF = 0.03, 4  # NoiseStatistic's defaults (evotrain/schemas/constitution.py)


def _band(sd: float, dof: int) -> float:
    """2 * sqrt(2) * the replicates' sd pooled with the prior's sd (0.03 / (2 * sqrt(2))) worth 4 dof."""
    s0 = PRIOR / (2 * math.sqrt(2))
    return 2 * math.sqrt(2) * math.sqrt((PRIOR_DOF * s0**2 + dof * sd**2) / (PRIOR_DOF + dof))


def _round1() -> list[Cand]:
    return [
        Cand("w01", "baseline", "baseline", 0.50, 0.40),
        Cand("w02", "learning_rate", "optimizer", 0.62, 0.52, change=("lr", 0.002)),  # promoted: +0.12
        Cand("w03", "warmup", "optimizer", 0.51, 0.41, change=("warmup_steps", 20)),
    ]


def test_promoted_recipe_rerun_by_next_anchor_measures_the_band_and_the_winners_curse(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    r1, p2 = loop.round(_round1())
    assert r1.calibration.replication is None and r1.calibration.noise_dof == 0
    assert r1.calibration.noise_band == pytest.approx(0.03)  # the prior: nothing replicated yet
    assert p2.standing_recipe["lr"] == 0.002  # w02 promoted
    # round 2's anchor re-runs lr=0.002 with round 2's seed: 0.46 on the leaderboard, not 0.52
    r2, p3 = loop.round([
        Cand("w01", "baseline", "baseline", 0.58, 0.46),
        Cand("w02", "warmup", "optimizer", 0.57, 0.45, change=("warmup_steps", 20)),
        Cand("w03", "lora_rank", "capacity", 0.56, 0.44, change=("lora_rank", 16)),
    ])
    rep = r2.calibration.replication
    assert rep is not None and (rep.promoted_round, rep.promoted_worker) == (1, "w02")
    assert [(x.source, x.worker_id, x.leaderboard) for x in rep.promoted] == [("promoted", "w02", 0.52)]
    assert rep.promoted_gain == pytest.approx(0.52 - 0.40)
    assert rep.replicated_gain == pytest.approx(0.46 - 0.40)
    assert rep.winners_curse == pytest.approx(0.12 - 0.06)
    assert rep.promoted_dev_gain == pytest.approx(0.12) and rep.replicated_dev_gain == pytest.approx(0.08)
    # one pair (0.52, 0.46) of one recipe: sd = |a - b| / sqrt(2), 1 dof; alone it would give a band of
    # 2 * sqrt(2) * sd = 0.12; pooled with the prior: sqrt((4 * 0.0106^2 + 0.0424^2) / 5) * 2 * sqrt(2) = 0.06
    assert r2.calibration.noise_dof == 1
    assert r2.calibration.noise_band == pytest.approx(_band(abs(0.52 - 0.46) / math.sqrt(2), 1))
    assert r2.calibration.noise_band == pytest.approx(0.06)
    assert r2.calibration.dev_band == pytest.approx(_band(abs(0.62 - 0.58) / math.sqrt(2), 1))
    # the policy the meta agent wrote carries the same replicates (the constitution checks them)
    assert [(x.round, x.source) for x in p3.noise.replicates] == [(1, "anchor"), (1, "promoted"), (2, "anchor")]
    assert p3.noise.threshold == pytest.approx(0.06) and "1 dof" in p3.noise.statistic
    md = render_report(r2)
    assert "winner's curse +0.060" in md and "measured: 1 replicate degree of freedom" in md
    assert "winner's curse +0.060" in r2.calibration.narrative
    # a third round with no promotion in round 2: the anchor replicates the same recipe again (2 dof)
    r3, _ = loop.round([
        Cand("w01", "baseline", "baseline", 0.60, 0.50),
        Cand("w02", "warmup", "optimizer", 0.57, 0.45, change=("warmup_steps", 30)),
    ])
    assert r3.calibration.replication is None  # nothing was promoted in round 2
    xs = [0.52, 0.46, 0.50]
    mean = sum(xs) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / 2)
    assert r3.calibration.noise_dof == 2
    assert r3.calibration.noise_band == pytest.approx(_band(sd, 2))


def test_a_promoted_candidate_that_changed_code_is_not_a_replicate(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    _, p2 = loop.round(_round1())
    assert p2.standing_recipe["lr"] == 0.002
    # the promoted w02 also edited code (as its round-1 report records): the next anchor does not re-run that
    report_file = loop.paths.report(1)
    report = json.loads(report_file.read_text())
    [w02] = [c for c in report["candidates"] if c["worker_id"] == "w02"]
    w02["code_changes"] = ["train.py"]
    report_file.write_text(json.dumps(report))
    r2, _ = loop.round([
        Cand("w01", "baseline", "baseline", 0.58, 0.46),
        Cand("w02", "warmup", "optimizer", 0.57, 0.45, change=("warmup_steps", 20)),
    ])
    assert r2.calibration.replication is None and r2.calibration.noise_dof == 0


def test_the_prior_weighs_prior_dof_degrees_of_freedom() -> None:
    from evotrain.schemas.constitution import NoiseStatistic
    from evotrain.schemas.policy import Replicate
    from orchestrator.collect.noise import band

    pair = [Replicate(round=r, recipe_sha256="a", leaderboard=x) for r, x in ((1, 0.20), (2, 0.10))]
    sd = 0.10 / math.sqrt(2)  # one pair, 1 dof
    assert band(pair, "leaderboard", NoiseStatistic(prior_dof=0)) == pytest.approx(2 * math.sqrt(2) * sd)
    assert band(pair, "leaderboard", NoiseStatistic()) == pytest.approx(_band(sd, 1))
    assert band([], "leaderboard", NoiseStatistic()) == pytest.approx(PRIOR)
    # many replicates outweigh the prior: 40 alternating 0.20/0.10 (sd 0.0506, 39 dof)
    many = [Replicate(round=i, recipe_sha256="b", leaderboard=0.20 if i % 2 else 0.10) for i in range(40)]
    sd40 = math.sqrt(40 * 0.05**2 / 39)
    assert band(many, "leaderboard", NoiseStatistic()) == pytest.approx(_band(sd40, 39))
    assert band(many, "leaderboard", NoiseStatistic()) > 0.9 * 2 * math.sqrt(2) * sd40


# Sidak z for the best of k at the one-comparison rate of z = 2 (alpha = 1 - Phi(2) = 0.0227501), worked
# by hand: alpha_k = 1 - 0.9772499 ** (1 / k); k = 3: 0.0076416 -> Phi^-1(0.9923584), between the normal
# table's Phi(2.42) = 0.99224 and Phi(2.43) = 0.99245: 2.4256; k = 7: 0.0032822 -> between Phi(2.71) =
# 0.99664 and Phi(2.72) = 0.99674: 2.7178.
Z_BEST_OF_3, Z_BEST_OF_7 = 2.4256, 2.7178


def test_best_of_k_z_matches_the_normal_table() -> None:
    from orchestrator.collect.noise import best_of_k_z

    assert best_of_k_z(2.0, 1) == 2.0
    assert best_of_k_z(2.0, 3) == pytest.approx(Z_BEST_OF_3, abs=0.001)
    assert best_of_k_z(2.0, 7) == pytest.approx(Z_BEST_OF_7, abs=0.001)


def _three_explorers(lb_gain: float) -> list[Cand]:
    """Anchor + three explorers; w02 moves the leaderboard by lb_gain, the others by nothing."""
    return [
        Cand("w01", "baseline", "baseline", 0.50, 0.40),
        Cand("w02", "learning_rate", "optimizer", 0.52, 0.40 + lb_gain, change=("lr", 0.002)),
        Cand("w03", "warmup", "optimizer", 0.50, 0.40, change=("warmup_steps", 20)),
        Cand("w04", "learning_rate", "optimizer", 0.49, 0.40, change=("lr", 0.0005)),
    ]


@pytest.mark.parametrize("lb_gain", [0.033, -0.033])
def test_the_best_or_worst_of_three_must_clear_the_widened_band(tmp_path: Path, lb_gain: float) -> None:
    """+/-0.033 beats the one-comparison prior band (0.030) but not 0.030 x 2.4256 / 2 = 0.0364."""
    loop = Loop(tmp_path)
    r1, p2 = loop.round(_three_explorers(lb_gain))
    cal = r1.calibration
    assert cal.noise_band == pytest.approx(PRIOR) and cal.compared == 3
    assert cal.decision_band == pytest.approx(PRIOR * Z_BEST_OF_3 / 2, abs=1e-4)
    assert p2.promotions == [] and p2.dead_ends == []
    assert p2.standing_recipe["lr"] == 0.001
    assert "decision band: leaderboard 0.036, dev 0.036" in render_report(r1)
    # the same round judged one comparison at a time (best_of_k off) acts on the 0.033
    (tmp_path / "plain").mkdir()
    plain = Loop(tmp_path / "plain", noise=NoiseStatistic(best_of_k=False))
    r1p, p2p = plain.round(_three_explorers(lb_gain))
    assert r1p.calibration.decision_band == pytest.approx(PRIOR)
    if lb_gain > 0:
        assert [(p.key, p.new) for p in p2p.promotions] == [("lr", 0.002)]
    else:
        assert [(d.key, d.direction) for d in p2p.dead_ends] == [("lr", "increase")]


def test_a_gain_beyond_the_widened_band_is_still_promoted(tmp_path: Path) -> None:
    r1, p2 = Loop(tmp_path).round(_three_explorers(0.04))  # 0.040 > 0.0364
    assert r1.calibration.decision_band < 0.04
    assert [(p.key, p.new) for p in p2.promotions] == [("lr", 0.002)]
    assert "best of 3" in p2.promotions[0].evidence


def test_a_dev_only_rise_is_the_largest_of_k_dev_gains_and_must_clear_the_widened_dev_band(tmp_path: Path) -> None:
    """Dev +0.033 with the leaderboard flat: a rise against one comparison (0.030), not against the best
    of three (0.0364): the A/A bench flagged drift on a placebo with the one-comparison dev band."""
    cands = _three_explorers(0.0)
    cands[1] = Cand("w02", "learning_rate", "optimizer", 0.533, 0.40, change=("lr", 0.002))
    r1, _ = Loop(tmp_path).round(cands)
    assert r1.calibration.dev_decision_band == pytest.approx(PRIOR * Z_BEST_OF_3 / 2, abs=1e-4)
    assert not r1.calibration.dev_only_rise and r1.calibration.drift_worker is None
    (tmp_path / "plain").mkdir()
    r1p, _ = Loop(tmp_path / "plain", noise=NoiseStatistic(best_of_k=False)).round(cands)
    assert r1p.calibration.dev_only_rise and r1p.calibration.drift_worker == "w02"
