"""Collector on synthetic manifests: five sections, one schema, hand-computed calibration numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _meta_synth import Cand, FakeLeaderboard, rules, stage_round, write_substrate

from evotrain.errors import EvotrainError
from evotrain.paths import CampaignPaths
from evotrain.schemas.report import RoundReport
from llm.base import AgentError
from orchestrator.collect import calibration
from orchestrator.collect.collector import collect_round
from orchestrator.collect.narrative import Narratives
from orchestrator.meta import policy_store
from orchestrator.meta.scripted import scripted_policy

SECTIONS = ["candidates", "patterns", "calibration", "surprises", "rationale_audit"]


def test_spearman_with_ties_matches_hand_computation() -> None:
    # ranks x = [1, 2.5, 2.5, 4], y = [1, 3, 2, 4]; sxy = 4.5, sxx = 4.5, syy = 5 -> 4.5 / sqrt(22.5)
    assert calibration.spearman([1, 2, 2, 3], [10, 30, 20, 40]) == pytest.approx(4.5 / 22.5**0.5)
    assert calibration.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert calibration.spearman([1, 1, 1], [1, 2, 3]) is None
    assert calibration.average_ranks([5.0, 1.0, 5.0, 5.0]) == [3.0, 1.0, 3.0, 3.0]


def _setup(tmp_path: Path, budget: int = 4):
    paths = CampaignPaths(root=tmp_path, campaign="c1")
    r = rules(submission_budget_per_round=budget)
    recipe, axes = write_substrate(tmp_path)
    return paths, r, policy_store.initial_policy("c1", recipe, axes, r), FakeLeaderboard(budget)


KNOWN = [
    Cand("w01", "baseline", "baseline", 0.80, 0.78, dev_fam={"bit": 0.9, "equation": 0.7},
         lb_fam={"bit": 0.88, "equation": 0.68}),
    Cand("w02", "learning_rate", "optimizer", 0.84, 0.80, change=("lr", 0.002)),
    Cand("w03", "warmup", "optimizer", 0.82, 0.80, change=("warmup_steps", 20)),
    Cand("w04", "warmup", "optimizer", 0.86, 0.79, change=("warmup_steps", 50),
         dev_fam={"bit": 0.9, "equation": 0.82}, lb_fam={"bit": 0.88, "equation": 0.70}),
]


def test_known_input_gaps_and_rank_correlation(tmp_path: Path) -> None:
    paths, r, policy, board = _setup(tmp_path)
    stage_round(paths, policy, board, KNOWN)
    report = collect_round(paths, 1, policy, board, r)
    cal = report.calibration
    assert [(row.worker_id, round(row.gap, 6)) for row in cal.rows] == [
        ("w01", 0.02), ("w02", 0.04), ("w03", 0.02), ("w04", 0.07)]
    assert cal.mean_gap == pytest.approx((0.02 + 0.04 + 0.02 + 0.07) / 4)
    # dev ranks [1, 3, 2, 4]; LB ranks [1, 3.5, 3.5, 2]: sxy = 1.5, sxx = 5, syy = 4.5
    assert cal.rank_correlation == pytest.approx(1.5 / (5 * 4.5) ** 0.5)
    # w04 = highest dev: equation dev +0.12, LB +0.02 -> 0.10; bit 0 - 0 = 0
    assert cal.family_deltas == pytest.approx({"bit": 0.0, "equation": 0.10})
    assert {c.worker_id: c.leaderboard_gain for c in report.candidates} == pytest.approx(
        {"w01": 0.0, "w02": 0.02, "w03": 0.02, "w04": 0.01})
    assert cal.best_worker in {"w02", "w03"} and cal.noise_band == pytest.approx(0.03)


def test_budget_submits_anchor_then_best_by_dev(tmp_path: Path) -> None:
    paths, r, policy, board = _setup(tmp_path, budget=2)
    stage_round(paths, policy, board, KNOWN)
    report = collect_round(paths, 1, policy, board, r)
    assert [c.worker_id for c in report.candidates if c.submitted] == ["w01", "w04"]
    assert [s.candidate for s in board.history()] == ["r001/w01", "r001/w04"]
    assert len(report.calibration.rows) == 2


def test_three_rounds_share_one_schema_and_five_sections(tmp_path: Path) -> None:
    paths, r, policy, board = _setup(tmp_path)
    for _ in range(3):
        stage_round(paths, policy, board, KNOWN)
        report = collect_round(paths, policy.round, policy, board, r)
        policy = scripted_policy(policy, report, r)
    raw = [json.loads(paths.report(n).read_text()) for n in (1, 2, 3)]
    assert all(set(d) == set(raw[0]) for d in raw) and set(SECTIONS) <= set(raw[0])
    for d in raw:
        RoundReport.model_validate(d)
        assert d["candidates"] and d["rationale_audit"] and d["calibration"]["rows"]
    md = paths.report(3).with_suffix(".md").read_text()
    heads = [line for line in md.splitlines() if line.startswith("## ")]
    assert heads == ["## 1. Per-candidate summaries", "## 2. Cross-candidate patterns",
                     "## 3. Dev/leaderboard calibration", "## 4. Surprises", "## 5. Design-rationale audit"]


def test_failed_candidate_is_summarised_not_submitted(tmp_path: Path) -> None:
    paths, r, policy, board = _setup(tmp_path)
    cands = [*KNOWN[:2], Cand("w03", "warmup", "optimizer", 0.0, 0.0, status="failed")]
    stage_round(paths, policy, board, cands)
    report = collect_round(paths, 1, policy, board, r)
    failed = next(c for c in report.candidates if c.worker_id == "w03")
    assert failed.failure == "failed" and not failed.submitted and "failed" in failed.summary


def test_invalid_manifest_is_one_line_error_and_nothing_written(tmp_path: Path) -> None:
    paths, r, policy, board = _setup(tmp_path)
    stage_round(paths, policy, board, KNOWN)
    bad = paths.manifest(1, "w02")
    bad.write_text(bad.read_text().replace('"status": "ok"', '"status": "great"'))
    with pytest.raises(EvotrainError, match=r"w02\.json: field 'status'"):
        collect_round(paths, 1, policy, board, r)
    assert not paths.report(1).exists()


def test_missing_anchor_is_refused(tmp_path: Path) -> None:
    paths, r, policy, board = _setup(tmp_path)
    stage_round(paths, policy, board, KNOWN[1:])
    with pytest.raises(EvotrainError, match="exactly one baseline anchor"):
        collect_round(paths, 1, policy, board, r)


class CannedBackend:
    """Fake AgentBackend.complete_json: replays canned JSON strings, validating like a real one."""

    name = "canned"

    def __init__(self, outputs: list[str]) -> None:
        self.outputs = list(outputs)
        self.calls = 0

    def complete_json(self, system: str, user: str, schema, max_attempts: int = 3):
        self.calls += 1
        text = self.outputs.pop(0) if self.outputs else "not json"
        try:
            return schema.model_validate_json(text)
        except ValueError as exc:
            raise AgentError(str(exc)) from exc


def _narr(ids: list[str]) -> str:
    return Narratives(candidate_summaries={i: f"summary of {i}" for i in ids}, patterns=[], surprises=[],
                      calibration="llm calibration text").model_dump_json()


def test_llm_narratives_retry_on_invalid_then_used(tmp_path: Path) -> None:
    from orchestrator.collect.narrative import LLMNarrativeWriter

    paths, r, policy, board = _setup(tmp_path)
    stage_round(paths, policy, board, KNOWN)
    backend = CannedBackend(["{oops", _narr(["w01"]), _narr(["w01", "w02", "w03", "w04"])])
    report = collect_round(paths, 1, policy, board, r, narrator=LLMNarrativeWriter(backend))
    assert backend.calls == 3
    assert report.calibration.narrative == "llm calibration text"
    assert report.candidates[1].summary == "summary of w02"
    assert report.calibration.rank_correlation == pytest.approx(1.5 / (5 * 4.5) ** 0.5)  # numbers untouched


def test_llm_narratives_always_invalid_fall_back_to_scripted(tmp_path: Path) -> None:
    from orchestrator.collect.narrative import LLMNarrativeWriter

    paths, r, policy, board = _setup(tmp_path)
    stage_round(paths, policy, board, KNOWN)
    report = collect_round(paths, 1, policy, board, r, narrator=LLMNarrativeWriter(CannedBackend([]), 2))
    assert "scripted fallback" in report.calibration.narrative
    assert report.candidates[1].summary.startswith("learning_rate [lr]")


def test_rerun_after_crash_reuses_scores_and_keeps_the_budget(tmp_path: Path) -> None:
    paths, r, policy, board = _setup(tmp_path, budget=3)
    stage_round(paths, policy, board, KNOWN)
    first = collect_round(paths, 1, policy, board, r)
    paths.report(1).unlink()  # as if killed before the report was written
    again = collect_round(paths, 1, policy, board, r)
    assert len(board.history()) == 3 and again == first


def test_manifest_worker_id_must_match_file_name(tmp_path: Path) -> None:
    paths, r, policy, board = _setup(tmp_path)
    stage_round(paths, policy, board, KNOWN)
    paths.manifest(1, "w02").rename(paths.manifest(1, "w09"))
    with pytest.raises(EvotrainError, match=r"w09\.json: field 'worker_id'"):
        collect_round(paths, 1, policy, board, r)
