"""A worker's whole world: what it is told at the start of its (memory-free) run."""

from __future__ import annotations

from pydantic import Field

from evotrain.schemas.common import Artifact, RecipeValues
from evotrain.schemas.policy import Axis, DeadEnd, FlatMove, Lead, Objective, Promotion

BASELINE = "baseline"


class WorkerBudget(Artifact):
    max_turns: int = Field(default=40, ge=1)
    wall_clock_s: float = Field(default=900.0, gt=0)
    max_tokens: int = Field(default=400_000, ge=0)
    max_dollars: float = Field(default=2.0, ge=0)
    job_timeout_s: float = Field(default=600.0, gt=0)


class Brief(Artifact):
    schema_version: int = 1
    campaign: str
    round: int = Field(ge=1)
    worker_id: str  # "w01"
    seed: int = 0
    axis: Axis | None = None  # None for the baseline anchor
    objective: Objective = "raise_dev"
    standing_recipe: RecipeValues
    rules: list[str] = Field(default_factory=list)
    dead_ends: list[DeadEnd] = Field(default_factory=list)  # only those that concern this axis
    # Earlier promotions of this axis' key (oldest first): which way along the key has paid off so far
    promotions: list[Promotion] = Field(default_factory=list)
    # Last round's changes of this axis' key that beat the anchor but were not promoted: re-test one
    # on top of the new standing recipe (empty unless the planner gave this worker such a lead)
    leads: list[Lead] = Field(default_factory=list)
    # Moves of this axis' key already measured on this standing recipe without a signal: try others first
    flat_moves: list[FlatMove] = Field(default_factory=list)
    # 0 for the first worker on this axis this round, 1 for the second, ...: lets two memory-free
    # workers on one axis split its two directions without talking to each other
    axis_visit: int = Field(default=0, ge=0)
    budget: WorkerBudget = Field(default_factory=WorkerBudget)
    sandbox: str  # absolute path of the worker's fork
    substrate_commit: str = ""
    # Recipe keys the constitution freezes (globs, e.g. seed, dev_items, base_checkpoint): the worker's
    # recipe must keep the standing values; checked at validation, launch and collection.
    frozen_recipe_keys: list[str] = Field(default_factory=list)
    # The substrate's user-given inputs (substrate.yaml `inputs`) as this worker's jobs may read them:
    # name -> host path of the worker-visible copy (never the held-out part), bound read-only into jobs.
    inputs: dict[str, str] = Field(default_factory=dict)

    @property
    def axis_name(self) -> str:
        return self.axis.name if self.axis else BASELINE

    @property
    def is_baseline(self) -> bool:
        return self.axis is None
