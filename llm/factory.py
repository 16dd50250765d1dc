"""Build an LLM backend (Anthropic or OpenAI-compatible) from a typed AgentConfig.

The SDKs are imported only when asked for, so nothing here needs an API key until a backend is made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evotrain.schemas.brief import WorkerBudget
from llm.base import AgentBackend
from llm.call_log import CallRecorder
from llm.common import AgentConfigError, LLMBudget
from llm.config import LLM_KINDS, AgentConfig


def make_llm_backend(
    config: AgentConfig,
    budget: LLMBudget | WorkerBudget | None,
    *,
    recorder: CallRecorder | None = None,
    sleep: Callable[[float], None] | None = None,
) -> AgentBackend:
    """An Anthropic or OpenAI backend for `config` (kind must be an LLM kind) within `budget`."""
    if config.kind not in LLM_KINDS:
        raise AgentConfigError(f"agent.kind: '{config.kind}' is not an LLM kind (anthropic, openai)")
    if budget is None:
        raise AgentConfigError(f"agent: kind '{config.kind}' needs a token and dollar budget")
    llm_budget = LLMBudget.from_worker_budget(budget) if isinstance(budget, WorkerBudget) else budget
    extra: dict[str, Any] = {"recorder": recorder}
    if sleep is not None:
        extra["sleep"] = sleep
    if config.kind == "anthropic":
        from llm.anthropic_backend import AnthropicAgent

        return AnthropicAgent(config, llm_budget, **extra)
    if config.openai_api == "responses":
        from llm.openai_responses import OpenAIResponsesAgent

        return OpenAIResponsesAgent(config, llm_budget, **extra)
    from llm.openai_backend import OpenAIAgent

    return OpenAIAgent(config, llm_budget, **extra)
