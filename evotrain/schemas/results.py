"""The substrate's output contract: what `train + evaluate` writes as results.json.

A substrate (the default mini task, or a GPU template) imports this model so that workers and
the collector read one typed format, whatever trained the model.
"""

from __future__ import annotations

from pydantic import Field

from evotrain.schemas.common import Artifact


class LossPoint(Artifact):
    step: int
    loss: float


class CheckpointEval(Artifact):
    step: int
    adapter_dir: str  # relative to the results file's directory
    overall: float = Field(ge=0.0, le=1.0)
    by_family: dict[str, float]
    n_items: int


class SavedCheckpoint(Artifact):
    step: int
    adapter_dir: str  # relative to the results file's directory


class RunResults(Artifact):
    schema_version: int = 1
    substrate: str
    recipe_sha256: str
    seed: int
    steps: int
    train_seconds: float
    eval_seconds: float
    loss_curve: list[LossPoint]
    final_loss: float | None
    nan_loss: bool = False
    # Scores a job reports about itself are telemetry: in a campaign they are replaced by the judge's.
    checkpoints: list[CheckpointEval] = Field(default_factory=list)
    saved: list[SavedCheckpoint] = Field(default_factory=list)  # every adapter the run saved
    device: str = "cpu"


class EvalReport(Artifact):
    """What a substrate's evaluate command writes: one adapter scored on one items file."""

    schema_version: int = 1
    overall: float = Field(ge=0.0, le=1.0)
    by_family: dict[str, float]
    n_items: int = Field(ge=0)
    n_by_family: dict[str, int] = Field(default_factory=dict)
    items_sha256: str = ""
    adapter_dir: str = ""


class JudgeReport(Artifact):
    """What a substrate's frozen judge writes: every saved checkpoint of one run scored on the dev split.

    Computed by frozen code from a verified checkout of the substrate, in a separate isolated process
    that reads only the run's saved adapters: the only dev scores a campaign trusts.
    """

    schema_version: int = 1
    checkpoints: list[CheckpointEval]
    items_sha256: str = ""
    eval_seconds: float = 0.0
