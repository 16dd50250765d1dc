"""Append-only JSONL log of LLM calls (one line per API call, usage + cost), redacted.

The worker loop (or the meta agent) passes a `CallRecorder` to a backend; the backend records every
call it makes, successful or not. Text goes through `redact` with the backend's key before it is
written, so the log can be kept with the campaign's other artifacts.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import Field

from evotrain.io import append_jsonl
from evotrain.schemas.common import Artifact
from llm.base import AgentTurn, ToolCall, Usage
from llm.common import Secret, redact

CallKind = Literal["step", "complete_json"]
Role = Literal["worker", "collector", "meta", "other"]


class CallRecord(Artifact):
    ts: float
    backend: str
    model: str
    kind: CallKind
    attempt: int = 1  # complete_json attempt number (validation retries), 1 for step
    ok: bool = True
    usage: Usage = Field(default_factory=Usage)
    stop_reason: str = ""
    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    error: str = ""  # one line: API failure, budget stop or validation error
    retries: int = 0  # transient-error retries that preceded this record
    role: Role = "other"  # who spent it: the campaign budget counts collector and meta calls from here
    label: str = ""  # e.g. "r001/w02" for a worker, "r001" for the collector and meta agent
    latency_s: float = 0.0  # wall time of the request incl. transient-error retries
    request_chars: int = 0  # size of the request body (context-growth checks)


class CallRecorder:
    """Writes CallRecords to a JSONL file, flushed per line (crash-safe like the trace)."""

    def __init__(self, path: Path | str, role: Role = "other", label: str = "") -> None:
        self.path = Path(path)
        self.role: Role = role
        self.label = label
        self._secrets: tuple[Secret, ...] = ()

    def bind_secrets(self, secrets: Iterable[Secret]) -> None:
        """Called by a backend so its key is scrubbed from everything recorded."""
        self._secrets = (*self._secrets, *secrets)

    def record(self, record: CallRecord) -> None:
        line = redact(record.model_dump_json(), self._secrets)
        append_jsonl(self.path, line)

    def record_turn(self, backend: str, model: str, turn: AgentTurn, retries: int = 0, latency_s: float = 0.0,
                    request_chars: int = 0) -> None:
        self.record(
            CallRecord(
                ts=time.time(),
                backend=backend,
                model=model,
                kind="step",
                usage=turn.usage,
                stop_reason=turn.stop_reason,
                text=turn.text,
                tool_calls=turn.tool_calls,
                retries=retries,
                role=self.role,
                label=self.label,
                latency_s=round(latency_s, 4),
                request_chars=request_chars,
            )
        )

    def record_failure(self, backend: str, model: str, kind: CallKind, error: str, attempt: int = 1) -> None:
        self.record(
            CallRecord(ts=time.time(), backend=backend, model=model, kind=kind, attempt=attempt, ok=False, error=error,
                       role=self.role, label=self.label)
        )


def read_call_log(path: Path | str) -> list[CallRecord]:
    """Load a call log (tests, reports); a torn last line (kill -9 mid-append) is skipped."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                records.append(CallRecord.model_validate_json(line))
            except ValueError:
                continue
    return records


def spend_by_role(records: Iterable[CallRecord]) -> dict[str, Usage]:
    """Summed usage per role (worker, collector, meta, other)."""
    out: dict[str, Usage] = {}
    for r in records:
        out[r.role] = out.get(r.role, Usage()).plus(r.usage)
    return out
