"""Everything `campaign start` checks before writing anything (also what `--dry-run` checks)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evotrain.errors import EvotrainError
from evotrain.schemas.policy import Policy
from evotrain.schemas.substrate import SubstrateSpec
from orchestrator.campaign import data_inputs, llm_spend
from orchestrator.config import CampaignConfig, resolve_under
from orchestrator.meta import constitution, policy_store
from workers.isolation import resolve_mode
from workers.substrate_contract import check_recipe_values, load_spec


@dataclass(frozen=True)
class CheckedInputs:
    substrate: Path
    spec: SubstrateSpec
    constitution_dir: Path
    constitution: constitution.Constitution
    policy: Policy  # round 1's policy, derived and validated, not yet written


def initial_axes_path(root: Path, cfg: CampaignConfig, substrate: Path, spec: SubstrateSpec) -> Path:
    """Round 1's search space: the config's axes_file when set, else the substrate's axes.yaml."""
    if cfg.axes_file is None:
        return substrate / spec.axes_file
    return resolve_under(root, cfg.axes_file, "axes_file")


def check_inputs(root: Path, cfg: CampaignConfig) -> CheckedInputs:
    """The config's paths and inputs, checked; one-line EvotrainError naming the field otherwise."""
    substrate = resolve_under(root, cfg.substrate, "substrate")
    spec = load_spec(substrate)
    data_inputs.resolve_inputs(root, cfg, spec)  # the data the substrate declares is given and present
    const_dir = resolve_under(root, cfg.constitution, "constitution")
    const = constitution.load(const_dir)
    constitution.check_round_shape(cfg.workers_per_round, 1, const.rules)
    # round 1's policy must be derivable: recipe + axes load and agree
    try:
        policy = policy_store.initial_policy(cfg.name, substrate / spec.recipe_file,
                                             initial_axes_path(root, cfg, substrate, spec), const.rules,
                                             overrides=cfg.recipe_overrides, min_active=cfg.workers_per_round - 1)
    except EvotrainError as exc:
        if cfg.axes_file is None:
            raise
        raise EvotrainError(f"config field 'axes_file': {exc.message}") from exc
    check_recipe_values(substrate, policy.standing_recipe, "config field 'recipe_overrides'")
    # an LLM worker never runs unconfined unless the user said so
    resolve_mode(cfg.isolation, llm_agent=cfg.agents.worker.kind != "scripted", allow_unisolated=cfg.allow_unisolated)
    llm_spend.check_prices(cfg)  # an unknown model under a dollar cap is refused
    return CheckedInputs(substrate, spec, const_dir, const, policy)
