"""Build a worker's agent backend from its kind: scripted (offline default) or an LLM.

`scripted` is imported lazily and the LLM SDKs only when asked for, so `make_agent("scripted", ...)`
never needs an API key or the network.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evotrain.schemas.brief import WorkerBudget
from llm.base import AgentBackend
from llm.call_log import CallRecorder
from llm.common import AgentConfigError, LLMBudget
from llm.config import LLM_KINDS, AgentConfig, AgentKind, load_agent_config, with_kind
from llm.factory import make_llm_backend

__all__ = ["AgentConfig", "load_agent_config", "make_agent"]


def make_agent(
    kind: AgentKind,
    config: AgentConfig | None = None,
    budget: LLMBudget | WorkerBudget | None = None,
    *,
    recorder: CallRecorder | None = None,
    sleep: Callable[[float], None] | None = None,
    **scripted_options: Any,
) -> AgentBackend:
    """An AgentBackend of `kind`.

    - scripted: `ScriptedAgent(**scripted_options)` (no config or budget needed);
    - anthropic / openai: need `config` (kind must match) and `budget` (tokens + dollars);
      `recorder` logs every API call; `sleep` replaces time.sleep for backoff (tests).
    Missing key / unknown model / bad config → AgentConfigError (one line, exit 2; also an AgentError).
    """
    if config is not None and config.kind != kind:
        if "kind" in config.model_fields_set:
            raise AgentConfigError(f"agent.kind: config says '{config.kind}' but '{kind}' was requested")
        config = with_kind(config, kind)
    if kind == "scripted":
        from workers.agents.scripted import ScriptedAgent

        agent: AgentBackend = ScriptedAgent(**scripted_options)
        return agent
    if kind not in LLM_KINDS:
        raise AgentConfigError(f"agent.kind: unknown agent kind '{kind}' (scripted, anthropic, openai)")
    if config is None:
        raise AgentConfigError(f"agent: kind '{kind}' needs an agent config with at least `model`")
    if scripted_options:
        raise AgentConfigError(f"agent: unexpected options for '{kind}': {sorted(scripted_options)}")
    return make_llm_backend(config, budget, recorder=recorder, sleep=sleep)
