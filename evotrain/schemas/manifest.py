"""A worker's typed result manifest: the only way a worker reports."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from evotrain.schemas.brief import Brief
from evotrain.schemas.common import Artifact, KeyChange, RecipeValues
from evotrain.schemas.results import CheckpointEval, LossPoint


class FailureMode(StrEnum):
    CRASH = "crash"
    TIMEOUT = "timeout"
    NAN_LOSS = "nan_loss"
    INVALID_RECIPE = "invalid_recipe"
    TAMPERED = "tampered"
    BUDGET_EXCEEDED = "budget_exceeded"
    AGENT_ERROR = "agent_error"
    SANDBOX_VIOLATION = "sandbox_violation"
    NO_RESULTS = "no_results"


class Failure(Artifact):
    mode: FailureMode
    message: str
    fatal: bool = True


class Cost(Artifact):
    input_tokens: int = 0
    output_tokens: int = 0
    dollars: float = 0.0
    cpu_seconds: float = 0.0
    gpu_seconds: float = 0.0
    agent_calls: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            dollars=self.dollars + other.dollars,
            cpu_seconds=self.cpu_seconds + other.cpu_seconds,
            gpu_seconds=self.gpu_seconds + other.gpu_seconds,
            agent_calls=self.agent_calls + other.agent_calls,
        )


class TrainingMetrics(Artifact):
    steps: int = 0
    final_loss: float | None = None
    loss_curve: list[LossPoint] = Field(default_factory=list)
    nan_loss: bool = False
    train_seconds: float = 0.0
    eval_seconds: float = 0.0


ManifestStatus = Literal["ok", "failed", "tampered"]


class Manifest(Artifact):
    schema_version: int = 1
    campaign: str
    round: int
    worker_id: str
    axis: str  # axis name, or "baseline" for the anchor
    axis_category: str = "baseline"
    is_baseline: bool
    seed: int = 0
    status: ManifestStatus
    recipe: RecipeValues = Field(default_factory=dict)
    recipe_changes: list[KeyChange] = Field(default_factory=list)
    recipe_diff: str = ""  # unified diff of the sandbox against the substrate
    training: TrainingMetrics = Field(default_factory=TrainingMetrics)
    checkpoints: list[CheckpointEval] = Field(default_factory=list)
    chosen_step: int | None = None
    chosen_adapter: str | None = None  # absolute path of the chosen adapter directory
    dev_score: float | None = None  # overall dev of the chosen checkpoint
    scores_judged: bool = False  # dev scores from the substrate's frozen judge (else the run's own telemetry)
    failures: list[Failure] = Field(default_factory=list)
    cost: Cost = Field(default_factory=Cost)
    wall_time_s: float = 0.0
    job_ids: list[str] = Field(default_factory=list)
    rationale: str = ""  # the worker's own design rationale (audited by the collector)
    trace_path: str = ""

    @classmethod
    def for_brief(cls, brief: Brief, **fields: object) -> Manifest:
        """A manifest with the brief's identity fields (campaign, round, worker, axis, seed) filled in.

        The one constructor for every manifest, so the identity of a candidate is copied in one place.
        """
        identity = {
            "campaign": brief.campaign, "round": brief.round, "worker_id": brief.worker_id,
            "axis": brief.axis_name, "axis_category": brief.axis.category if brief.axis else "baseline",
            "is_baseline": brief.is_baseline, "seed": brief.seed,
        }
        return cls.model_validate({**identity, **fields})

    @classmethod
    def failed_for_brief(cls, brief: Brief, mode: FailureMode, message: str, **fields: object) -> Manifest:
        """A failed manifest for a candidate that never produced results (crash, budget, skip)."""
        return cls.for_brief(brief, status="failed", failures=[Failure(mode=mode, message=message[:500])], **fields)

    @property
    def usable(self) -> bool:
        return self.status == "ok" and self.chosen_adapter is not None
