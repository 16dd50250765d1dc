"""The campaign's closing summary: trajectory, best vs. baseline anchor, noise band, overhead, budgets."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import Field

from evotrain.io import write_model
from evotrain.paths import CampaignPaths, candidate_label
from evotrain.schemas.common import Artifact
from evotrain.schemas.report import RoundReport
from orchestrator.audit.trajectory import Trajectory, load_trajectory
from orchestrator.campaign import accounting
from orchestrator.campaign.view import load_reports
from orchestrator.meta import policy_store

# The private-half score of a candidate label ("r002/w03"), or None when it has no adapter.
PrivateScorer = Callable[[str], float | None]


ALL_FAILED = "every worker of round"  # a stop reason starting with this is a failed campaign (CLI exit 1)


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
    # round 1's anchor runs the substrate's recipe unchanged: the campaign's starting point
    substrate_baseline: CandidateScore | None = None
    best_round_baseline: CandidateScore | None = None  # the anchor of the round the best came from
    noise_band: float
    best_beats_baseline_by: float | None = None  # best vs. the substrate baseline (leaderboard)
    best_beats_round_anchor_by: float | None = None
    beats_noise_band: bool = False
    overhead: accounting.Overhead
    usage: accounting.UsageTotals
    reports_dir: str
    policies_dir: str
    notes: list[str] = Field(default_factory=list)


def _anchor(rep: RoundReport) -> CandidateScore | None:
    base = next((b for b in rep.candidates if b.is_baseline), None)
    if base is None:
        return None
    return CandidateScore(candidate=candidate_label(rep.round, base.worker_id), axis=base.axis, dev=base.dev,
                          public=base.leaderboard)


def _best_and_anchor(reports: list[RoundReport]) -> tuple[CandidateScore | None, CandidateScore | None]:
    """The best candidate by public leaderboard (authoritative) and the anchor of its round."""
    best, anchor = None, None
    for rep in reports:
        for c in rep.candidates:
            if c.leaderboard is None:
                continue
            if best is None or (best.public is not None and c.leaderboard > best.public):
                best = CandidateScore(candidate=candidate_label(rep.round, c.worker_id), axis=c.axis, dev=c.dev,
                                      public=c.leaderboard)
                anchor = _anchor(rep)
    return best, anchor


def _gain(best: CandidateScore | None, base: CandidateScore | None) -> float | None:
    if best is None or base is None or best.public is None or base.public is None:
        return None
    return best.public - base.public


def build_summary(
    paths: CampaignPaths, private_score: PrivateScorer, rounds_completed: int, reason: str
) -> CampaignSummary:
    reports = load_reports(paths)
    best, anchor = _best_and_anchor(reports)
    first = next((r for r in sorted(reports, key=lambda r: r.round) if r.round == 1), None)
    substrate = _anchor(first) if first else None
    band = policy_store.latest(paths.policies).noise.threshold
    gain = _gain(best, substrate)
    roles = [s for s in (best, anchor, substrate) if s is not None]
    private = {c: private_score(c) for c in {s.candidate for s in roles}}  # one candidate, several roles
    for score in roles:
        score.private = private[score.candidate]
    return CampaignSummary(
        campaign=paths.campaign, stop_reason=reason, rounds_completed=rounds_completed,
        trajectory=load_trajectory(paths), best=best, substrate_baseline=substrate, best_round_baseline=anchor,
        noise_band=band, best_beats_baseline_by=gain, best_beats_round_anchor_by=_gain(best, anchor),
        beats_noise_band=gain is not None and gain > band,
        overhead=accounting.overhead(paths), usage=accounting.usage(paths),
        reports_dir=str(paths.reports), policies_dir=str(paths.policies),
    )


def write_summary(
    paths: CampaignPaths, private_score: PrivateScorer, rounds_completed: int, reason: str
) -> CampaignSummary:
    summary = build_summary(paths, private_score, rounds_completed, reason)
    write_model(paths.summary, summary)
    return summary
