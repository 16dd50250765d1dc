"""Reward filtering: top share, per-version recalibration on a held-out set (constructed scores on
both sides of the cut), the offline reward model's verifier, and the teacher's provenance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("faiss")

from evotrain.errors import EvotrainError
from orchestrator.evolve.reward import (
    Calibration,
    CalibrationStore,
    OfflineRewardModel,
    calibrate,
    calibration_for,
    fit_calibration,
    select_top,
)
from orchestrator.evolve.substrate_bridge import load_minitask
from orchestrator.evolve.teacher import make_item, regenerate_answer, teach

SUBSTRATE = Path(__file__).resolve().parents[1] / "substrate" / "default"


def test_select_top_keeps_the_top_75_percent_in_order() -> None:
    scores = [0.1, 0.9, 0.5, 0.7, 0.3, 0.8, 0.2, 0.6]
    assert select_top(scores, 0.75) == [1, 2, 3, 4, 5, 7]  # drops 0.1 and 0.2
    assert select_top([0.5, 0.5, 0.5, 0.5], 0.5) == [0, 1]  # ties: earlier first
    assert select_top([0.3], 0.75) == [0]
    assert select_top([], 0.75) == []


def test_calibration_maps_each_version_onto_one_scale() -> None:
    # version v2 scores everything 0.3 higher and twice as spread as v1 (reward-model drift)
    v1_heldout = [0.2, 0.4, 0.6, 0.8]
    v2_heldout = [0.3 + 2 * (x - 0.5) + 0.5 for x in v1_heldout]
    flags = [True, True, False, False]
    c1 = fit_calibration("v1", "x", v1_heldout, flags)
    c2 = fit_calibration("v2", "x", v2_heldout, flags)
    assert c1.separation == pytest.approx(c2.separation) and c1.separation > 0
    assert calibrate([0.7], c1)[0] == pytest.approx(calibrate([0.3 + 2 * (0.7 - 0.5) + 0.5], c2)[0])


def test_recalibration_changes_which_items_survive_a_pooled_cut() -> None:
    # four items of true quality q scored by v1 (raw = q) and four by v2 (raw = q + 0.3, drifted)
    quality = [0.9, 0.7, 0.5, 0.3]
    raw = quality + [q + 0.3 for q in quality]
    versions = ["v1"] * 4 + ["v2"] * 4
    heldout = [0.2, 0.4, 0.6, 0.8]
    cals = {"v1": fit_calibration("v1", "x", heldout, [True, True, False, False]),
            "v2": fit_calibration("v2", "x", [h + 0.3 for h in heldout], [True, True, False, False])}
    # raw pooled cut at 50 %: every v2 item wins, including v2's worst (true quality 0.3) over v1's best (0.9)
    raw_kept = select_top(raw, 0.5)
    assert raw_kept == [0, 4, 5, 6]
    calibrated = [calibrate([r], cals[v])[0] for r, v in zip(raw, versions, strict=True)]
    kept = select_top(calibrated, 0.5)
    assert sorted(quality[i % 4] for i in kept) == [0.7, 0.7, 0.9, 0.9]  # the best of both, 2 each


def test_a_version_that_cannot_separate_clean_from_flawed_is_refused(tmp_path: Path) -> None:
    class Flat:
        version = "flat-v1"

        def score(self, items, centroid):
            return [0.5 + 0.01 * (i % 2) for i in range(len(items))]  # unrelated to quality

    class Store:
        def __init__(self) -> None:
            self.saved: list[Calibration] = []

        def get(self, version, intent):
            return None

        def put(self, cal):
            self.saved.append(cal)

    mt = load_minitask(SUBSTRATE)
    # clean, flawed, clean, flawed ...: Flat scores flawed items higher -> separation < 0
    items = [make_item(mt, "numeral_system", f"s{i}", 0, flawed=bool(i % 2)) for i in range(6)]
    store = Store()
    with pytest.raises(EvotrainError, match="do not separate"):
        calibration_for(store, Flat(), "numeral_system", items, np.zeros(4))  # type: ignore[arg-type]
    assert store.saved == []


def test_teacher_items_carry_provenance_and_the_verifier_catches_flawed_ones() -> None:
    mt = load_minitask(SUBSTRATE)
    prompts = [p.prompt for p in mt.generate.generate_items(4, {"equations": 1.0}, 3, 0)]
    items, families = teach(mt, [*prompts, "hello, what's the weather?"], 5, 100, 0.3, salt="t")
    assert families == {"equations": 4, "<not a puzzle>": 1}
    assert len(items) == 20 and {it.ref.family for it in items} == {"equations"}
    flawed = [it for it in items if it.ref.flawed]
    clean = [it for it in items if not it.ref.flawed]
    assert flawed and clean
    for it in clean:
        assert regenerate_answer(mt, it.ref) == it.puzzle.answer
    for it in flawed:
        assert regenerate_answer(mt, it.ref) != it.puzzle.answer
        assert it.puzzle.trace[-1] == f"\\boxed{{{it.puzzle.answer}}}"  # a consistent (wrong) item


class FixedEmbedder:
    """Relevance from a label in the prompt: puzzles of `family` point along e0, others along e1."""

    dim = 4
    version = "fixed"

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.array([[1, 0, 0, 0] if self.marker in t else [0, 1, 0, 0] for t in texts], dtype=np.float32)


def test_offline_reward_ranks_flawed_and_off_intent_items_last(tmp_path: Path) -> None:
    from orchestrator.evolve.registry import Registry

    mt = load_minitask(SUBSTRATE)
    model = OfflineRewardModel(mt, FixedEmbedder("numbers are secretly converted"))
    good = [make_item(mt, "numeral_system", f"g{i}", 0, False) for i in range(6)]
    bad = [make_item(mt, "numeral_system", "f0", 0, True), make_item(mt, "gravity", "o0", 0, False)]
    items = bad + good  # bad first: novelty (earlier = less redundant) alone would favour them
    centroid = np.array([1, 0, 0, 0], dtype=np.float32)
    heldout = [make_item(mt, "numeral_system", f"h{i}", 0, bool(i % 2)) for i in range(8)]
    store = CalibrationStore(Registry(tmp_path / "r.sqlite"))
    cal = calibration_for(store, model, "numeral_system", heldout, centroid)
    assert cal.separation > 0 and store.get(model.version, "numeral_system") == cal
    kept = select_top(calibrate(model.score(items, centroid), cal), 0.75)
    assert kept == [2, 3, 4, 5, 6, 7]  # 6 of 8: the flawed and the off-intent item are the ones dropped
