"""What `evotrain bench` writes: one pydantic model (with JSON Schema) per sub-command."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from evotrain.schemas.common import Artifact, RecipeValue, RecipeValues

Method = Literal["campaign", "random", "ofat", "oracle"]
METHODS: tuple[Method, ...] = ("campaign", "random", "ofat", "oracle")  # the order of tables and summaries
WorkerSeeds = Literal["paired", "per_worker"]


class BenchRun(Artifact):
    """One training run of a baseline method (random, OFAT, oracle), scored as a campaign scores."""

    index: int = Field(ge=1)  # 1-based position in the method's run sequence (the run count after it)
    batch: int = Field(ge=1)  # the "round" of N runs it belongs to (submissions are budgeted per batch)
    recipe_sha256: str
    seed: int
    values: dict[str, RecipeValue] = Field(default_factory=dict)  # axis key -> value (on top of the baseline)
    dev: float | None = None  # the frozen judge's overall dev of the checkpoint chosen as a worker chooses
    chosen_step: int | None = None
    submitted: bool = False  # sent to the public half (counts against the submission budget)
    public: float | None = None
    private: float | None = None  # scored for submitted runs (the curve) and every oracle run
    failure: str | None = None
    cached: bool = False  # found in the bench cache, not retrained


class CurvePoint(Artifact):
    """After `runs` training runs: the recipe the method would submit and its private-half score."""

    runs: int
    chosen: str | None = None  # "run 7" or a campaign candidate "r002/w03"
    private: float | None = None


class MethodOutcome(Artifact):
    method: Method
    seed: int
    training_runs: int  # runs actually spent (the campaign's: its training jobs, smoke runs excluded)
    submissions: int  # public-half submissions spent
    submission_budget: int
    chosen: str | None = None  # what the method submits at the end (chosen from the public half)
    chosen_public: float | None = None
    chosen_private: float | None = None  # the outcome
    curve: list[CurvePoint] = Field(default_factory=list)
    runs_to_90: int | None = None  # first run count whose chosen private >= 0.9 x the oracle; None: never
    runs: list[BenchRun] = Field(default_factory=list)  # baselines only (the campaign's are on disk)
    campaign: str | None = None  # the campaign's name (its folders hold its candidates)
    worker_seeds: WorkerSeeds | None = None  # the campaign's seed mode
    note: str = ""


class MethodSummary(Artifact):
    method: Method
    n: int  # seeds with an outcome
    mean: float | None = None
    ci95_low: float | None = None  # None: fewer than two seeds (n/a)
    ci95_high: float | None = None
    runs_to_90: list[int | None] = Field(default_factory=list)  # per seed, in seed order
    reached_90: int = 0  # seeds that reached 90 % of the oracle


class CampaignDifference(Artifact):
    """The campaign's private score minus a baseline's, paired by seed (the seeds where both ran): the
    acceptance's "campaign >= random + 0.03" is a statement about this mean."""

    method: Method
    n: int
    mean: float | None = None
    ci95_low: float | None = None  # None: fewer than two paired seeds
    ci95_high: float | None = None


class BenchReport(Artifact):
    """What every bench report records: the shape it ran, its overrides, its wall time and notes."""

    schema_version: int = 1
    substrate: str
    seeds: list[int]
    rounds: int
    workers: int
    recipe_overrides: RecipeValues = Field(default_factory=dict)
    wall_s: float = 0.0
    notes: list[str] = Field(default_factory=list)
    # what a merge of reports run apart (other machines, other days) must agree on; "" / None in reports
    # written before these fields existed, which therefore cannot be merged
    substrate_fingerprint: str = ""
    split_items: int | None = None


class EfficiencyReport(BenchReport):
    runs_per_method: int  # R x N: the nominal run budget (each seed's is the campaign's count, see notes)
    oracle_runs: int  # 3 x R x N (3 x the campaign's count)
    submissions_per_batch: int  # the constitution's submission_budget_per_round
    submission_budget: int  # x R
    # the methods run (the campaign always: it sets the others' budget); reports from before --methods ran all
    methods: list[Method] = Field(default_factory=lambda: list(METHODS))
    oracle: dict[str, float | None] = Field(default_factory=dict)  # seed -> best private score; None: not run
    outcomes: list[MethodOutcome] = Field(default_factory=list)
    summary: list[MethodSummary] = Field(default_factory=list)
    campaign_minus: list[CampaignDifference] = Field(default_factory=list)  # one per baseline run


class AASeed(Artifact):
    seed: int
    campaign: str
    worker_seeds: WorkerSeeds
    rounds_run: int
    promotions: int  # promotions the meta agent made (policy files)
    rounds_with_promotion: int
    eligible_gains: int  # explorers whose leaderboard gain beat the band (what the promotion rule tests)
    rounds_with_eligible_gain: int
    dead_ends: int  # entries registered in the final policy
    drift_flags: int  # rounds whose report flagged drift
    dev_only_rises: int
    noise_bands: list[float] = Field(default_factory=list)  # the band in force each round
    stop_reason: str = ""


class AAReport(BenchReport):
    worker_seeds: WorkerSeeds = "per_worker"
    placebo_key: str
    placebo_value: RecipeValue = None
    per_seed: list[AASeed] = Field(default_factory=list)
    rounds_total: int = 0
    false_promotion_rate: float | None = None  # rounds with >= 1 promotion / rounds run
    eligible_gain_rate: float | None = None  # rounds with >= 1 explorer beating the band / rounds run
    dead_ends_total: int = 0
    drift_flags_total: int = 0


class DriftSeed(Artifact):
    seed: int
    campaign: str
    rounds_run: int
    first_dev_only_rise: int | None = None  # first round whose report has a dev-only rise
    first_rise_axis: str | None = None
    flagged_round: int | None = None  # first round whose report flags drift
    objective_switched_round: int | None = None  # first policy with objective proxy_aware (the round it governs)
    axis_dead_end: bool = False  # the planted key is on the final policy's dead-end registry
    flagged_within_2: bool = False  # flagged <= 2 rounds after the first dev-only rise
    stop_reason: str = ""


class DriftReport(BenchReport):
    axis_key: str
    axis_range: dict[str, RecipeValue] = Field(default_factory=dict)
    extra_axes: list[str] = Field(default_factory=list)
    per_seed: list[DriftSeed] = Field(default_factory=list)
    flagged_within_2: int = 0  # X of K seeds
    with_dev_only_rise: int = 0
    objective_switched: int = 0
    axis_dead_end: int = 0
