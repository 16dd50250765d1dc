"""The constitution's machine-checked meta-rules (`constitution/rules.yaml`).

The words in `constitution/constitution.md` are the meta agent's frozen system prompt; these typed
rules are what code enforces on every policy update, whatever the agent wrote.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from evotrain.schemas.common import Artifact


class SearchModes(Artifact):
    """The labels of the paper's trajectory table (Appendix A, Table 2)."""

    stabilisation: str = "Recipe stabilisation"
    stacking: str = "Stack-and-calibrate"
    exploitation: str = "Proxy exploitation"  # a round in which proxy drift was detected
    proxy_aware: str = "Proxy-aware search"


class NoiseStatistic(Artifact):
    """Parameters of the noise-band statistic (docs/META.md, "Noise band")."""

    multiplier: float = Field(default=2.0, gt=0)
    floor: float = Field(default=0.01, ge=0, le=1)
    prior: float = Field(default=0.03, ge=0, le=1)  # the band before any two replicates of one recipe
    # How many replicate degrees of freedom the prior is worth: the band's variance is the prior's and
    # the replicates' pooled together, so one or two noisy replicate pairs cannot drop the band far
    # below the prior (a 1-dof sd estimate is off by 2x or more; the A/A bench promoted a placebo on it).
    # 0 = the replicates alone, as soon as there is one degree of freedom.
    prior_dof: float = Field(default=4.0, ge=0)
    # A round promotes the best of k explorers (and registers the worst as a dead end), so a band set
    # for ONE comparison fires more often than its multiplier says (A/A bench: 1 false promotion in 9
    # rounds). With best_of_k the decision band keeps the one-comparison error rate for the whole round
    # (Sidak): docs/META.md, "Decision band". False = compare every candidate against the plain band.
    best_of_k: bool = True


class ConstitutionRules(Artifact):
    schema_version: int = 1
    # meta-rules of the paper, spelled out so code can check them
    leaderboard_authoritative: Literal[True] = True
    calibration_signal: Literal["dev_minus_leaderboard"] = "dev_minus_leaderboard"
    dead_ends_append_only: Literal[True] = True
    substrate_read_only: Literal[True] = True
    plateau_rounds: int = Field(default=2, ge=1)  # rotate the axis category after this many
    plateau_epsilon: float = Field(default=0.005, ge=0, le=1)  # LB improvement below this = plateau
    drift_rounds: int = Field(default=2, ge=1)  # dev-only rises in a row that flag proxy drift
    # a campaign config picks its worker count within these bounds; one worker is the baseline anchor
    min_workers_per_round: int = Field(default=2, ge=2)
    max_workers_per_round: int = Field(default=16, ge=2)
    baseline_anchors_per_round: Literal[1] = 1
    submission_budget_per_round: int = Field(default=3, ge=1)  # baseline anchor included
    noise: NoiseStatistic = Field(default_factory=NoiseStatistic)
    search_modes: SearchModes = Field(default_factory=SearchModes)
    # categories whose changes should transfer to the leaderboard (preferred in proxy-aware mode)
    proxy_aware_categories: list[str] = Field(default_factory=list)
    # what the meta agent may write (relative to the workspace root) and what nobody rewrites
    editable_paths: list[str] = Field(default_factory=lambda: ["policies/"])
    frozen_paths: list[str] = Field(default_factory=lambda: ["constitution/", "substrate/"])
    # policy fields and recipe keys (fnmatch patterns) a policy update may never change
    frozen_policy_fields: list[str] = Field(default_factory=lambda: ["schema_version", "campaign"])
    frozen_recipe_keys: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> ConstitutionRules:
        if self.min_workers_per_round > self.max_workers_per_round:
            raise ValueError("min_workers_per_round exceeds max_workers_per_round")
        if self.submission_budget_per_round < self.baseline_anchors_per_round:
            raise ValueError("submission_budget_per_round must cover the baseline anchor")
        overlap = {p.rstrip("/") for p in self.editable_paths} & {p.rstrip("/") for p in self.frozen_paths}
        if overlap:
            raise ValueError(f"paths both editable and frozen: {sorted(overlap)}")
        return self


class ConstitutionRecord(Artifact):
    """Hashes taken when a campaign starts; `verify` compares the files against them."""

    schema_version: int = 1
    directory: str
    constitution_md_sha256: str
    rules_yaml_sha256: str
