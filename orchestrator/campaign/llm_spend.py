"""LLM spend of a campaign, from its call log: budgets for the collector and meta agent, totals per role.

Workers' spend is in their manifests (and the call log); the collector's and the meta agent's only in
the call log, so the campaign budget adds the non-worker records to the manifests' totals.
"""

from __future__ import annotations

from evotrain.errors import EvotrainError
from evotrain.paths import CampaignPaths
from llm.base import Usage
from llm.call_log import CallRecorder, Role, read_call_log, spend_by_role
from llm.common import LLMBudget
from orchestrator.config import CampaignConfig, Limits

# A collector or meta call with no campaign token cap still needs a token ceiling for the meter.
UNCAPPED_TOKENS = 10**12


def recorder(paths: CampaignPaths, role: Role, label: str) -> CallRecorder:
    return CallRecorder(paths.llm_calls, role=role, label=label)


def role_spend(paths: CampaignPaths) -> dict[str, Usage]:
    """Usage per role (worker, collector, meta) over every recorded call."""
    return spend_by_role(read_call_log(paths.llm_calls))


def non_worker_usage(paths: CampaignPaths) -> Usage:
    """Collector + meta spend (workers are counted from their manifests)."""
    total = Usage()
    for role, used in role_spend(paths).items():
        if role != "worker":
            total = total.plus(used)
    return total


def check_prices(cfg: CampaignConfig) -> None:
    """Refuse to start when an LLM role's model has no price but a dollar cap applies to it (one line
    naming agents.<role>.prices.models); without a cap the model runs at $0 and tokens are counted."""
    caps = {"worker": cfg.worker_budget.max_dollars, "collector": cfg.campaign_budget.dollars,
            "meta": cfg.campaign_budget.dollars}
    for role, cap in caps.items():
        agent = getattr(cfg.agents, role)
        if agent.kind != "scripted":
            try:
                agent.prices.for_budget(agent.model, cap)
            except EvotrainError as exc:
                raise EvotrainError(f"agents.{role}.{exc.message.removeprefix('agent.')}") from None


def remaining_budget(limits: Limits, tokens_used: int, dollars_used: float) -> LLMBudget:
    """What a collector or meta call may still spend of the campaign budget (no dollar cap -> None)."""
    tokens = UNCAPPED_TOKENS if limits.tokens is None else max(0, limits.tokens - tokens_used)
    dollars = None if limits.dollars is None else max(0.0, limits.dollars - dollars_used)
    return LLMBudget(max_tokens=tokens, max_dollars=dollars)
