"""The round report: exactly five sections, one schema for a whole campaign.

Numbers are computed deterministically by the collector; narrative strings come from the agent
backend (scripted: derived from the numbers; LLM: schema-constrained and validated).
"""

from __future__ import annotations

from pydantic import Field

from evotrain.schemas.common import Artifact, KeyChange
from evotrain.schemas.policy import Replicate


class CandidateSummary(Artifact):
    worker_id: str
    axis: str
    axis_category: str
    is_baseline: bool
    status: str  # ok | failed | tampered
    changes: list[KeyChange] = Field(default_factory=list)
    code_changes: list[str] = Field(default_factory=list)  # files other than the recipe the worker changed
    dev: float | None = None
    dev_by_family: dict[str, float] = Field(default_factory=dict)
    leaderboard: float | None = None  # public score; None if not submitted
    leaderboard_by_family: dict[str, float] = Field(default_factory=dict)
    chosen_step: int | None = None
    failure: str | None = None
    summary: str = ""  # narrative
    submitted: bool = False  # sent to the leaderboard this round (budget-limited)
    # re-tests exactly one of the last round's unpromoted leads (policy.leads): submitted first
    lead_retest: bool = False
    dev_gain: float | None = None  # dev minus the baseline anchor's dev
    leaderboard_gain: float | None = None  # leaderboard minus the baseline anchor's leaderboard
    # compute cost beside token dollars (the manifest's GPU-seconds x the campaign's $/GPU-hour)
    gpu_seconds: float = 0.0
    gpu_dollars: float = 0.0
    token_dollars: float = 0.0


class RoundCost(Artifact):
    """The round's cost, shown under section 1: candidates' jobs + the leaderboard's evaluation jobs."""

    gpu_hour_dollars: float = 0.0
    gpu_seconds: float = 0.0  # evaluation included
    evaluation_gpu_seconds: float = 0.0
    gpu_dollars: float = 0.0
    token_dollars: float = 0.0


class Pattern(Artifact):
    statement: str
    evidence: list[str] = Field(default_factory=list)  # worker ids / numbers backing it


class CalibrationRow(Artifact):
    worker_id: str
    dev: float
    leaderboard: float
    gap: float  # dev - leaderboard


class Replication(Artifact):
    """The last round's promoted candidate replicated by this round's anchor (same recipe, new seed).

    The promoted gain was selected as the best of several noisy candidates, so it overstates the true
    gain (the winner's curse); the anchor's re-run measures it again without that selection.
    """

    recipe_sha256: str
    promoted_round: int
    promoted_worker: str
    promoted: list[Replicate] = Field(default_factory=list)  # the promoted run(s): new noise replicates
    promoted_gain: float | None = None  # its leaderboard gain over its own round's anchor
    replicated_gain: float | None = None  # this anchor's leaderboard minus the last round's anchor's
    winners_curse: float | None = None  # promoted_gain - replicated_gain: how much the gain shrank
    promoted_dev_gain: float | None = None
    replicated_dev_gain: float | None = None


class Calibration(Artifact):
    rows: list[CalibrationRow] = Field(default_factory=list)
    rank_correlation: float | None = None  # Spearman between dev and leaderboard over rows
    mean_gap: float | None = None
    family_deltas: dict[str, float] = Field(default_factory=dict)  # best vs baseline, dev - lb per family
    noise_band: float
    baseline_dev: float | None = None
    baseline_leaderboard: float | None = None
    best_dev: float | None = None
    best_leaderboard: float | None = None
    drift_flag: bool = False
    drift_evidence: str = ""
    narrative: str = ""
    dev_band: float | None = None  # noise band on dev (same statistic, dev replicates)
    best_worker: str | None = None  # best submitted non-baseline candidate by leaderboard
    leaderboard_improvement: float | None = None  # best LB this round minus best LB of earlier rounds
    plateau: bool = False  # leaderboard_improvement below the constitution's plateau epsilon
    dev_only_rise: bool = False  # a candidate's dev gain beats the band while its LB gain does not
    drift_streak: int = 0  # consecutive rounds (this one included) with dev_only_rise
    drift_worker: str | None = None  # the candidate that inflated dev this round
    drift_axis: str | None = None
    replication: Replication | None = None  # noise replicates + winner's curse from the last promotion
    noise_dof: int = 0  # degrees of freedom behind noise_band (0: the constitution's prior)
    # noise_band widened for the best/worst of `compared` explorers (docs/META.md, "Decision band"):
    # what a promotion and a leaderboard dead end must clear. None (older reports): noise_band.
    decision_band: float | None = None
    compared: int = 0  # explorers (non-baseline candidates with a dev score) the round compared
    dev_decision_band: float | None = None  # dev_band widened the same way: the dev-only-rise test

    @property
    def promotion_band(self) -> float:
        return self.decision_band if self.decision_band is not None else self.noise_band


class Surprise(Artifact):
    statement: str
    worker_id: str | None = None


class RationaleAudit(Artifact):
    worker_id: str
    rationale: str
    consistent: bool  # did the outcome support the worker's stated rationale?
    note: str = ""


class RoundReport(Artifact):
    schema_version: int = 1
    campaign: str
    round: int
    objective: str
    search_mode: str
    # the five sections, in order
    candidates: list[CandidateSummary]
    patterns: list[Pattern]
    calibration: Calibration
    surprises: list[Surprise]
    rationale_audit: list[RationaleAudit]
    cost: RoundCost = Field(default_factory=RoundCost)  # rendered in section 1, not a section of its own
