"""The worker's append-only trace: one TraceEvent per line, fsynced as it happens.

The trace is the recovery source after a crash: a resumed worker reads it to learn which training
jobs it already launched (and re-attaches to them) and how many attempts it has used.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from pydantic import JsonValue, ValidationError

from evotrain.io import append_jsonl
from evotrain.schemas.trace import TraceEvent, TraceKind
from evotrain.secrets import redact_secrets

MAX_DETAIL_CHARS = 4000


def read_trace(path: Path | str) -> list[TraceEvent]:
    """All complete events; a torn last line (kill -9 mid-write) is skipped, not fatal."""
    path = Path(path)
    if not path.is_file():
        return []
    events: list[TraceEvent] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            events.append(TraceEvent.model_validate_json(line))
        except ValidationError:
            continue
    return events


def _jsonable(args: dict[str, object]) -> dict[str, JsonValue]:
    # round-trip through JSON so anything an agent sent is stored as plain JSON values, secrets redacted
    return json.loads(redact_secrets(json.dumps(args, default=str)))


class TraceWriter:
    """Appends events for one worker; `seq` continues from an existing trace on resume."""

    def __init__(self, path: Path | str, worker_id: str) -> None:
        self.path = Path(path)
        self.worker_id = worker_id
        existing = read_trace(self.path)
        self._seq = existing[-1].seq + 1 if existing else 0
        self.resumed_events = existing

    def emit(
        self,
        kind: TraceKind,
        *,
        tool: str | None = None,
        args: dict[str, object] | None = None,
        ok: bool = True,
        detail: str = "",
    ) -> TraceEvent:
        event = TraceEvent(
            seq=self._seq,
            ts=time.time(),
            worker_id=self.worker_id,
            kind=kind,
            tool=tool,
            args=_jsonable(args or {}),
            ok=ok,
            detail=redact_secrets(detail)[:MAX_DETAIL_CHARS],
        )
        append_jsonl(self.path, event.model_dump_json())
        self._seq += 1
        return event

