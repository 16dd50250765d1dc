"""Typed artifacts that cross boundaries. Each is a pydantic model with a JSON Schema."""

from evotrain.schemas.brief import BASELINE, Brief, WorkerBudget
from evotrain.schemas.common import Artifact, KeyChange, RecipeValue, RecipeValues, diff_values
from evotrain.schemas.manifest import Cost, Failure, FailureMode, Manifest, TrainingMetrics
from evotrain.schemas.policy import Axis, AxisRange, DeadEnd, NoiseRule, Policy, Promotion
from evotrain.schemas.results import CheckpointEval, EvalReport, LossPoint, RunResults
from evotrain.schemas.trace import TraceEvent

__all__ = [
    "BASELINE", "Artifact", "Axis", "AxisRange", "Brief", "CheckpointEval", "Cost", "DeadEnd", "EvalReport",
    "Failure", "FailureMode", "KeyChange", "LossPoint", "Manifest", "NoiseRule", "Policy",
    "Promotion", "RecipeValue", "RecipeValues", "RunResults", "TraceEvent", "TrainingMetrics",
    "WorkerBudget", "diff_values",
]
