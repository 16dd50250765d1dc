"""Campaign config: one typed YAML file a user writes (or `evotrain demo` writes for them)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, JsonValue, field_validator

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.schemas.brief import WorkerBudget
from evotrain.schemas.common import Artifact, RecipeValues
from evotrain.schemas.constitution import ConstitutionRecord
from llm.config import AgentConfig


class Limits(Artifact):
    """A budget; None = unlimited. compute_s counts CPU/GPU-seconds of jobs (wall × slots)."""

    tokens: int | None = Field(default=None, ge=0)
    dollars: float | None = Field(default=None, ge=0)
    compute_s: float | None = Field(default=None, ge=0)
    wall_clock_s: float | None = Field(default=None, gt=0)


class ExecutorConfig(Artifact):
    kind: Literal["local", "ray", "kubernetes"] = "local"
    options: dict[str, JsonValue] = Field(default_factory=dict)  # backend-specific: address=, namespace=


class AgentRoles(Artifact):
    worker: AgentConfig = Field(default_factory=AgentConfig)
    collector: AgentConfig = Field(default_factory=AgentConfig)
    meta: AgentConfig = Field(default_factory=AgentConfig)


class LeaderboardConfig(Artifact):
    kind: Literal["local", "kaggle"] = "local"
    submissions_per_round: int = Field(default=3, ge=1)
    competition: str = "nvidia-nemotron-model-reasoning-challenge"
    split_items: int = Field(default=300, ge=10)  # items in each half (public, private) of the hidden split
    # Kaggle: the competition's daily submission limit (UTC day) and the submission zip's size cap
    submissions_per_day: int = Field(default=5, ge=1)
    max_zip_bytes: int = Field(default=4 * 1024**3, ge=1)
    score_timeout_s: float = Field(default=3600.0, gt=0)  # then the score is carried to a later round
    # where the local leaderboard scores: host (a subprocess here), executor (a job with the substrate's
    # `resources.evaluate`, e.g. a GPU), auto = executor unless the campaign's executor is local
    evaluate_on: Literal["auto", "host", "executor"] = "auto"


class MlflowTracking(Artifact):
    uri: str  # a tracking server (http://mlflow:5000), a database (sqlite:///mlflow.db, full mlflow) or file:DIR
    experiment: str | None = None  # default: the campaign's name


class TrackingConfig(Artifact):
    """Optional experiment tracking (orchestrator/collect/tracking.py); off unless configured."""

    mlflow: MlflowTracking | None = None


class CampaignConfig(Artifact):
    schema_version: int = 1
    name: str
    substrate: str = "substrate/default"
    constitution: str = "constitution"
    rounds: int = Field(default=3, ge=1)
    workers_per_round: int = Field(default=4, ge=2)  # one baseline anchor + at least one explorer
    parallel_jobs: int = Field(default=2, ge=1)
    cpu_slots_per_job: int = Field(default=1, ge=1)
    gpu_hour_dollars: float = Field(default=0.0, ge=0)  # $/GPU-hour: compute cost beside token dollars
    seed: int = 0
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    agents: AgentRoles = Field(default_factory=AgentRoles)
    worker_budget: WorkerBudget = Field(default_factory=WorkerBudget)
    round_budget: Limits = Field(default_factory=Limits)
    campaign_budget: Limits = Field(default_factory=Limits)
    leaderboard: LeaderboardConfig = Field(default_factory=LeaderboardConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    # applied on top of the substrate's recipe.yaml to form round 1's standing recipe (e.g. fewer steps
    # for a quick test campaign); the substrate itself is never written
    recipe_overrides: RecipeValues = Field(default_factory=dict)
    # How workers' code runs on this host: auto = bubblewrap when available. An LLM worker never runs
    # unconfined unless allow_unisolated is true (`--allow-unisolated`); scripted agents may.
    isolation: Literal["auto", "bwrap", "none"] = "auto"
    allow_unisolated: bool = False
    # host paths (relative to the workspace root) of the files the substrate declares in substrate.yaml
    # `inputs`, e.g. {train_csv: data/train.csv}; jobs see them read-only (workers only their visible part)
    inputs: dict[str, str] = Field(default_factory=dict)
    # paired: all workers of a round share the anchor's seed (paired comparison); per_worker: each explorer
    # gets its own seed (the anchor keeps the round's), so explorers are seed replicates (`evotrain bench aa`)
    worker_seeds: Literal["paired", "per_worker"] = "paired"
    # a YAML list of Axis (relative to the workspace root) replacing the substrate's axes.yaml as round 1's
    # search space, e.g. a planted or a placebo axis (`evotrain bench drift|aa`); None = the substrate's
    axes_file: str | None = None

    @field_validator("name")
    @classmethod
    def _name_is_a_folder_name(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,40}", v):
            raise ValueError("must be 1-41 chars of a-z, 0-9 and '-', starting with a letter or digit")
        return v


def load_config(path: Path) -> CampaignConfig:
    return read_model(path, CampaignConfig)


def resolve_under(root: Path, value: str, field: str) -> Path:
    """Resolve a config path against the workspace root; error names the field when missing."""
    p = Path(value)
    p = p if p.is_absolute() else (root / p)
    if not p.exists():
        raise EvotrainError(f"config field '{field}': path not found: {p}")
    return p.resolve()


class CampaignRecord(Artifact):
    """campaigns/<name>/campaign.json: written once at `campaign start`, never changed."""

    schema_version: int = 1
    config: CampaignConfig
    workspace_root: str
    substrate_dir: str
    constitution: ConstitutionRecord
    created_at: float


class ForkRecord(Artifact):
    commit: str
    tree: str
