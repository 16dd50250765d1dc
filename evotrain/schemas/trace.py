"""Append-only trace events: one per tool call / result / job state change."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, JsonValue

from evotrain.schemas.common import Artifact

TraceKind = Literal[
    "start", "agent_turn", "tool_call", "tool_result", "refusal", "job_state", "budget", "error", "finish"
]


class TraceEvent(Artifact):
    seq: int
    ts: float
    worker_id: str
    kind: TraceKind
    tool: str | None = None
    args: dict[str, JsonValue] = Field(default_factory=dict)  # tool-call arguments as sent (JSON)
    ok: bool = True
    detail: str = ""
