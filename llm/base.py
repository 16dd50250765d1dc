"""The agent seam.

A backend is asked two kinds of thing:
- `step`: the worker loop's tool-use conversation (one assistant turn per call);
- `complete_json`: a one-shot structured answer validated against a pydantic model (collector
  narratives, meta-agent policy proposals), retried on invalid output.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from pydantic import BaseModel, Field, JsonValue

from evotrain.schemas.common import Artifact

M = TypeVar("M", bound=BaseModel)


class ToolSpec(Artifact):
    name: str
    description: str
    parameters: dict[str, JsonValue]  # JSON Schema of the arguments object


class ToolCall(Artifact):
    id: str
    name: str
    arguments: dict[str, JsonValue] = Field(default_factory=dict)
    parse_error: str | None = None  # set when the model emitted arguments that are not a JSON object


class ToolResult(Artifact):
    call_id: str
    name: str
    ok: bool
    content: str


class Usage(Artifact):
    input_tokens: int = 0  # every input token, cached or not
    output_tokens: int = 0
    dollars: float = 0.0
    calls: int = 0
    cached_input_tokens: int = 0  # of input_tokens: read from the provider's prompt cache
    cache_write_tokens: int = 0  # of input_tokens: written to the prompt cache (Anthropic)

    def plus(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            dollars=self.dollars + other.dollars,
            calls=self.calls + other.calls,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
        )


class AgentTurn(Artifact):
    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    stop_reason: str = ""


class AgentError(Exception):
    """The backend failed for good (retries exhausted, malformed output past the retry limit)."""


class ModelRefused(AgentError):
    """The provider ended the turn with a refusal / content filter: the conversation cannot go on."""


class ContextOverflow(AgentError):
    """The request no longer fits the model's context window, even after compaction."""


class BudgetExceeded(Exception):
    """A token or dollar budget would be exceeded: the worker stops cleanly."""


class AgentBackend(Protocol):
    name: str

    def start(self, system: str, user: str, tools: list[ToolSpec]) -> None:
        """Begin a fresh (memory-free) conversation."""
        ...

    def step(self, results: list[ToolResult]) -> AgentTurn:
        """Send the results of the previous turn's tool calls; get the next assistant turn."""
        ...

    def complete_json(self, system: str, user: str, schema: type[M], max_attempts: int = 3) -> M:
        """One structured answer, validated against `schema`; AgentError after max_attempts."""
        ...
