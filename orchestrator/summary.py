"""The campaign's closing summary: trajectory, best vs. baseline anchor, noise band, overhead, budgets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from evotrain.io import write_model
from evotrain.schemas.common import Artifact
from evotrain.schemas.report import RoundReport
from orchestrator import accounting, policy_store
from orchestrator.campaign_view import load_reports
from orchestrator.trajectory import Trajectory, load_trajectory

if TYPE_CHECKING:
    from orchestrator.campaign import Campaign


class CandidateScore(Artifact):
    candidate: str  # "r002/w03"
    axis: str
    dev: float | None = None
    public: float | None = None
    private: float | None = None


class CampaignSummary(Artifact):
    schema_version: int = 1
    campaign: str
    stop_reason: str
    rounds_completed: int
    trajectory: Trajectory
    best: CandidateScore | None = None
    best_round_baseline: CandidateScore | None = None  # the anchor of the round the best came from
    noise_band: float
    best_beats_baseline_by: float | None = None
    beats_noise_band: bool = False
    overhead: accounting.Overhead
    usage: accounting.UsageTotals
    reports_dir: str
    policies_dir: str
    notes: list[str] = Field(default_factory=list)


def _best_and_anchor(reports: list[RoundReport]) -> tuple[CandidateScore | None, CandidateScore | None]:
    best, anchor = None, None
    for rep in reports:
        for c in rep.candidates:
            if c.leaderboard is None:
                continue
            if best is None or (best.public is not None and c.leaderboard > best.public):
                best = CandidateScore(candidate=f"r{rep.round:03d}/{c.worker_id}", axis=c.axis, dev=c.dev,
                                      public=c.leaderboard)
                base = next((b for b in rep.candidates if b.is_baseline), None)
                anchor = None if base is None else CandidateScore(
                    candidate=f"r{rep.round:03d}/{base.worker_id}", axis=base.axis, dev=base.dev,
                    public=base.leaderboard)
    return best, anchor


def build_summary(campaign: Campaign, rounds_completed: int, reason: str) -> CampaignSummary:
    paths = campaign.paths
    reports = load_reports(paths)
    best, anchor = _best_and_anchor(reports)
    latest = policy_store.latest(paths.policies)
    band = latest.noise.threshold
    gain = None
    if best and anchor and best.public is not None and anchor.public is not None:
        gain = best.public - anchor.public
    for score in (best, anchor):
        if score is not None:
            score.private = campaign.private_score(score.candidate)
    return CampaignSummary(
        campaign=paths.campaign, stop_reason=reason, rounds_completed=rounds_completed,
        trajectory=load_trajectory(paths), best=best, best_round_baseline=anchor, noise_band=band,
        best_beats_baseline_by=gain, beats_noise_band=gain is not None and gain > band,
        overhead=accounting.overhead(paths), usage=accounting.usage(paths),
        reports_dir=str(paths.reports), policies_dir=str(paths.policies),
    )


def write_summary(campaign: Campaign, rounds_completed: int, reason: str) -> CampaignSummary:
    summary = build_summary(campaign, rounds_completed, reason)
    write_model(campaign.paths.state / "summary.json", summary)
    return summary
