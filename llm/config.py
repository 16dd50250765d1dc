"""How to reach a model: the typed AgentConfig every role (worker, collector, meta) is configured with."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from evotrain.errors import first_validation_error
from evotrain.io import read_model
from evotrain.schemas.common import Artifact
from llm.common import AgentConfigError, RetryPolicy
from llm.context import ContextPolicy
from llm.pricing import PriceTable

AgentKind = Literal["scripted", "anthropic", "openai"]
LLM_KINDS: frozenset[str] = frozenset({"anthropic", "openai"})
DEFAULT_KEY_ENV: dict[str, str] = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class AgentConfig(Artifact):
    """How to reach a model. Holds the NAME of the key's environment variable, never the key."""

    # hide_input_in_errors: a key pasted into the wrong field must not be echoed by an error.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, hide_input_in_errors=True)

    kind: AgentKind = "scripted"  # the offline default; orchestrator configs build AgentConfig()
    model: str = ""  # required for anthropic/openai, e.g. "claude-sonnet-4-5", "gpt-4.1-mini"
    base_url: str | None = None  # OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (vLLM)
    api_key_env: str | None = None  # default ANTHROPIC_API_KEY / OPENAI_API_KEY
    api_key_optional: bool = False  # local servers without auth: a placeholder key is sent
    max_retries: int = Field(default=4, ge=0, le=20)  # transient errors: 408/409/429/5xx/connection
    backoff_initial_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    timeout_s: float = Field(default=120.0, gt=0)
    max_tokens_per_call: int = Field(default=4096, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)  # None: the server's default
    max_tokens_param: Literal["max_completion_tokens", "max_tokens"] = "max_completion_tokens"  # openai
    json_mode: Literal["json_schema", "json_object", "prompt"] = "json_schema"  # openai complete_json
    # openai: "responses" (api.openai.com; reasoning items carried between turns) or "chat" (Chat
    # Completions: any OpenAI-compatible server such as vLLM)
    openai_api: Literal["chat", "responses"] = "chat"
    prompt_cache: bool = True  # anthropic: cache_control on tools, system and the stable prefix
    context: ContextPolicy = Field(default_factory=ContextPolicy)  # what is re-sent each turn
    prices: PriceTable = Field(default_factory=PriceTable)

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError("must be the name of an environment variable (e.g. ANTHROPIC_API_KEY), not a key")
        return value

    @model_validator(mode="after")
    def _model_for_llm(self) -> AgentConfig:
        if self.kind in LLM_KINDS and not self.model.strip():
            raise ValueError(f"model is required for kind '{self.kind}'")
        return self

    @property
    def key_env(self) -> str:
        return self.api_key_env or DEFAULT_KEY_ENV.get(self.kind, "")

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_retries=self.max_retries,
            backoff_initial_s=self.backoff_initial_s,
            backoff_max_s=self.backoff_max_s,
        )


def load_agent_config(path: Path | str) -> AgentConfig:
    """Read an AgentConfig from YAML/JSON; bad input → one-line EvotrainError naming the field."""
    return read_model(path, AgentConfig)


def with_kind(config: AgentConfig, kind: AgentKind) -> AgentConfig:
    """The config with `kind` set (a config file that leaves `kind` out takes the requested one)."""
    try:
        return AgentConfig.model_validate({**config.model_dump(exclude_unset=True), "kind": kind})
    except ValidationError as exc:
        raise AgentConfigError(first_validation_error(exc, "agent")) from None
