"""The births log (`<state>/births.jsonl`): one hash-chained line per birth attempt.

Same chaining as the campaign audit log (sha256 over the canonical JSON of an entry without its
hash, each entry naming the previous hash), so an edited, removed or reordered birth is found by
`verify()`. Kept separate because the campaign log's payload kinds are a closed union.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evotrain.errors import EvotrainError, first_validation_error
from evotrain.io import append_jsonl
from orchestrator.evolve.schemas import BirthLogEntry, BirthRecord

GENESIS = "0" * 64


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(body).encode("utf-8")).hexdigest()


class BirthsLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, record: BirthRecord) -> BirthLogEntry:
        with self._lock:
            entries = self.entries()
            body = {
                "seq": len(entries),
                "ts": time.time(),
                "record": record.model_dump(mode="json"),
                "prev_hash": entries[-1].hash if entries else GENESIS,
            }
            entry = BirthLogEntry.model_validate({**body, "hash": _hash(body)})
            append_jsonl(self.path, _canonical(entry.model_dump(mode="json")))
            return entry

    def entries(self) -> list[BirthLogEntry]:
        """Every entry, checked; an EvotrainError names the first broken line."""
        if not self.path.exists():
            return []
        out: list[BirthLogEntry] = []
        prev = GENESIS
        for lineno, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            where = f"{self.path}:{lineno}"
            try:
                data = json.loads(line)
                entry = BirthLogEntry.model_validate(data)
            except ValueError as exc:
                reason = (first_validation_error(exc, where) if isinstance(exc, ValidationError)
                          else f"{where}: not JSON")
                raise EvotrainError(reason) from exc
            body = {k: v for k, v in data.items() if k != "hash"}
            if entry.seq != lineno - 1 or entry.prev_hash != prev:
                raise EvotrainError(f"{where}: out of sequence (entry removed, inserted or reordered)")
            if _hash(body) != entry.hash:
                raise EvotrainError(f"{where}: hash mismatch (entry edited)")
            prev = entry.hash
            out.append(entry)
        return out

    def records(self) -> list[BirthRecord]:
        return [e.record for e in self.entries()]
