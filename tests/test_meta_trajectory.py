"""Four synthetic rounds shaped like the paper's Table 2: the loop changes what it optimises."""

from __future__ import annotations

from pathlib import Path

from _meta_synth import Cand, Loop


def test_paper_shaped_trajectory(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    eq_fit = {"bit": 0.84, "equation": 0.95}
    loop.round([  # round 1: a basic lever moves both dev and leaderboard
        Cand("w01", "baseline", "baseline", 0.79, 0.80),
        Cand("w02", "learning_rate", "optimizer", 0.82, 0.84, change=("lr", 0.002)),
        Cand("w03", "warmup", "optimizer", 0.80, 0.80, change=("warmup_steps", 20)),
    ])
    loop.round([  # round 2: a dev-only rise (one round is not yet drift)
        Cand("w01", "baseline", "baseline", 0.82, 0.84),
        Cand("w02", "warmup", "optimizer", 0.88, 0.845, change=("warmup_steps", 60), dev_fam=eq_fit),
    ])
    r3, p4 = loop.round([  # round 3: dev to record highs, leaderboard stuck -> drift
        Cand("w01", "baseline", "baseline", 0.82, 0.84),
        Cand("w02", "warmup", "optimizer", 0.93, 0.845, change=("warmup_steps", 80), dev_fam=eq_fit),
    ])
    _, p5 = loop.round([  # round 4: down-weighting the inflated family lowers dev, lifts the leaderboard
        Cand("w01", "baseline", "baseline", 0.82, 0.84),
        Cand("w02", "equation_weight", "data_mix", 0.80, 0.88, change=("mixture_weights.equation", 0.5)),
    ])
    modes = [h.search_mode for h in p5.history]
    assert modes == ["Recipe stabilisation", "Stack-and-calibrate", "Proxy exploitation", "Proxy-aware search"]
    assert [h.objective for h in p5.history] == ["raise_dev", "raise_dev", "raise_dev", "proxy_aware"]
    assert r3.calibration.drift_flag and p4.objective == "proxy_aware"
    assert [d.round for d in p5.dead_ends] == [3]
    assert p5.standing_recipe["lr"] == 0.002 and p5.standing_recipe["mixture_weights"]["equation"] == 0.5
    assert all(h.learned for h in p5.history)
