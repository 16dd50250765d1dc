"""The evolve loop's configuration (`evotrain evolve ... --config evolve.yaml`): every field typed.

Unknown keys are errors, like the campaign config. The defaults are the embedded offline setting:
the default substrate, MiniLM embeddings, births sized so that `evotrain evolve simulate` on the
embedded stream finishes in a few minutes on 2 CPU cores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.schemas.common import Artifact, RecipeValues

REPO_ROOT = Path(__file__).resolve().parents[2]


class RouterConfig(Artifact):
    # a specialist's own threshold comes from its birth cluster (mean - z*sd of member similarities),
    # clipped into [threshold_floor, threshold_ceil]; z is shared with the clustering
    threshold_floor: float = Field(default=0.55, ge=-1.0, le=1.0)
    threshold_ceil: float = Field(default=0.85, ge=-1.0, le=1.0)
    # served requests pull a specialist's centroid along (temporal adaptation); half-life in requests
    centroid_half_life: float = Field(default=200.0, gt=0)


class ClusteringConfig(Artifact):
    base_threshold: float = Field(default=0.75, ge=-1.0, le=1.0)  # young clusters (< min_members_adaptive)
    threshold_floor: float = Field(default=0.6, ge=-1.0, le=1.0)
    threshold_ceil: float = Field(default=0.9, ge=-1.0, le=1.0)
    z: float = Field(default=3.0, ge=0.0)  # adaptive threshold = mean - z * sd of within-cluster similarity
    min_members_adaptive: int = Field(default=5, ge=2)
    half_life: float = Field(default=150.0, gt=0)  # time decay of a cluster's mass, in stream time units
    min_weight: float = Field(default=0.5, ge=0.0)  # a cluster decayed below this (and idle) is forgotten
    max_members: int = Field(default=400, ge=10)  # recent members kept per cluster (teacher seeds)


class BirthConfig(Artifact):
    volume: int = Field(default=40, ge=2)  # unserved requests of one cluster within `window` -> birth
    window: float = Field(default=300.0, gt=0)
    teacher_items_per_request: int = Field(default=12, ge=1)
    teacher_max_items: int = Field(default=400, ge=10)
    teacher_flawed_fraction: float = Field(default=0.1, ge=0.0, lt=1.0)  # teacher mistakes the verifier must catch
    keep_fraction: float = Field(default=0.75, gt=0.0, le=1.0)  # the seed's top 75 %
    heldout_items: int = Field(default=60, ge=4)  # gate: held-out requests of the intent
    calibration_items: int = Field(default=40, ge=4)  # reward calibration set per reward-model version
    # the student: the substrate's recipe with these changes (a tuned recipe for one family)
    student_recipe: RecipeValues = Field(
        default_factory=lambda: {
            "learning_rate": 0.003, "max_grad_norm": 1.0, "max_steps": 150, "save_steps": [150], "dev_items": 12,
        }
    )
    min_gain: float = Field(default=0.0, ge=0.0)  # the student must beat the generalist by more than this
    retry_after: float = Field(default=200.0, ge=0.0)  # a cluster whose birth failed waits this long


class PriceConfig(Artifact):
    """Dollars per 1k tokens (prompt + completion), to report cost saved by specialists."""

    generalist_per_1k: float = Field(default=0.01, ge=0.0)
    specialist_per_1k: float = Field(default=0.001, ge=0.0)


class EvolveConfig(Artifact):
    schema_version: int = 1
    state_dir: str = "runs/evolve"
    substrate: str = "substrate/default"
    # the generalist: the embedded base with the substrate's baseline recipe (plus these changes)
    generalist_recipe: RecipeValues = Field(default_factory=lambda: {"dev_items": 12})
    router: RouterConfig = Field(default_factory=RouterConfig)
    clustering: ClusteringConfig = Field(default_factory=ClusteringConfig)
    birth: BirthConfig = Field(default_factory=BirthConfig)
    prices: PriceConfig = Field(default_factory=PriceConfig)
    threads: int = Field(default=1, ge=1)  # training and evaluation subprocesses (1 is faster on 2 shared cores)
    # in-process embedding and answering: one thread, because small models gain nothing from a second
    # one and torch's spinning worker threads slow everything down on a shared, loaded machine
    inference_threads: int = Field(default=1, ge=1)
    # router embeddings: onnx (ONNX Runtime, same vectors, half the CPU per request), torch, or auto
    # (onnx when onnxruntime is installed)
    embedding_engine: Literal["auto", "onnx", "torch"] = "auto"
    # the router embeds a request's first `embedding_tokens` word pieces (the instruction: where the intent
    # is) with `embedding_threads` ONNX threads; 40 tokens x 2 threads: p50 17 ms on 2 quiet cores, and the
    # six families stay separable (docs/BENCHMARKS.md, router latency)
    embedding_tokens: int = Field(default=64, ge=8, le=256)
    embedding_threads: int = Field(default=2, ge=1)
    embedding_precision: Literal["fp32", "int8"] = "int8"  # int8: ONNX dynamic quantisation (onnx engine only)
    seed: int = Field(default=0, ge=0)

    def state_path(self) -> Path:
        return Path(self.state_dir).resolve()

    def substrate_path(self) -> Path:
        """The substrate folder: relative to the working directory, else to the repository root."""
        p = Path(self.substrate)
        for candidate in (p, REPO_ROOT / p):
            if (candidate / "substrate.yaml").is_file():
                return candidate.resolve()
        raise EvotrainError(f"substrate: {self.substrate}: no substrate.yaml found")


def load_config(path: Path | None) -> EvolveConfig:
    return EvolveConfig() if path is None else read_model(path, EvolveConfig)
