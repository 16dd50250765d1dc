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
    input_tokens: int = 0
    output_tokens: int = 0
    dollars: float = 0.0
    calls: int = 0


class AgentTurn(Artifact):
    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    stop_reason: str = ""


class AgentError(Exception):
    """The backend failed for good (retries exhausted, malformed output past the retry limit)."""


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
