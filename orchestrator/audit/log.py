"""Hash-chained, append-only audit log (`campaigns/<c>/audit.jsonl`).

Each line is one `AuditEntry`; `hash` is sha256 over the canonical JSON of the entry without its
`hash`, and `prev_hash` is the previous line's hash, so editing, removing, reordering or inserting
a line breaks the chain at a line `verify()` names. A chain alone cannot notice its last lines
being cut off, so every append also rewrites a small head file (`audit.head.json`: count + last
hash) that `verify()` compares against. The hash is unkeyed: this is tamper-evidence against
accidental or naive edits, not a defence against someone who rewrites the whole chain and head.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from filelock import FileLock
from pydantic import Field, ValidationError, model_validator

from evotrain.errors import EvotrainError, first_validation_error
from evotrain.io import append_jsonl, write_model
from evotrain.schemas.common import Artifact

GENESIS_HASH = "0" * 64


class PolicyChangePayload(Artifact):
    """A new policy version became the rolling policy."""

    kind: Literal["policy_change"] = "policy_change"
    round: int
    policy_path: str
    policy_sha256: str
    search_mode: str
    objective: str
    dead_ends: int
    rationale: str = ""


class SubmissionPayload(Artifact):
    """One submission attempt that reached a backend (dry runs and refused packages are not sent)."""

    kind: Literal["submission"] = "submission"
    candidate: str  # "r001/w03"
    round: int
    backend: str  # local | kaggle
    zip_path: str
    zip_sha256: str
    zip_bytes: int
    status: str  # complete | pending | error
    submission_id: str = ""
    public: float | None = None
    message: str = ""


class ManifestPayload(Artifact):
    """A worker's manifest as the orchestrator received it: later changes to the file are tampering."""

    kind: Literal["manifest"] = "manifest"
    candidate: str  # "r001/w03"
    round: int
    manifest_path: str
    manifest_sha256: str
    status: str
    note: str = ""


AuditPayload = Annotated[PolicyChangePayload | SubmissionPayload | ManifestPayload, Field(discriminator="kind")]
AuditKind = Literal["policy_change", "submission", "manifest"]


class AuditEntry(Artifact):
    seq: int = Field(ge=0)
    ts: float
    kind: AuditKind
    payload: AuditPayload
    prev_hash: str
    hash: str

    @model_validator(mode="after")
    def _kind_matches_payload(self) -> AuditEntry:
        if self.kind != self.payload.kind:
            raise ValueError(f"kind '{self.kind}' does not match payload kind '{self.payload.kind}'")
        return self


class AuditHead(Artifact):
    """The last entry the writer appended: lets verify() notice a truncated tail."""

    entries: int
    last_hash: str


class VerifyResult(Artifact):
    ok: bool
    entries: int
    error: str = ""  # one line naming the first broken line


def canonical_json(data: Any) -> str:
    """Key-sorted, compact JSON: the byte string that is hashed."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def entry_hash(entry_without_hash: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(entry_without_hash).encode("utf-8")).hexdigest()


@dataclass
class _Verified:
    size: int  # bytes of whole lines already verified
    digest: bytes  # sha256 of those bytes: a later call re-hashes the prefix instead of re-parsing it
    entries: list[AuditEntry]


# The verified prefix of each log, per process. Every worker's manifest is recorded here and the
# collector reads the log each round, so re-validating every line on every read made a campaign
# O(entries²) (issue #17, docs/BENCHMARKS.md); an edited prefix has another digest and is verified again.
_VERIFIED: dict[Path, _Verified] = {}


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.stem + ".head.json")
        self._lock = FileLock(str(self.path.with_name(self.path.name + ".lock")))

    def append(self, payload: PolicyChangePayload | SubmissionPayload | ManifestPayload) -> AuditEntry:
        """Append one entry (refuses to extend a log that no longer verifies)."""
        with self._lock:
            check = self.verify()
            if not check.ok:
                raise EvotrainError(f"audit log refuses to append: {check.error}")
            entries = self._read_lines()
            prev = json.loads(entries[-1])["hash"] if entries else GENESIS_HASH
            body: dict[str, Any] = {
                "seq": len(entries),
                "ts": time.time(),
                "kind": payload.kind,
                "payload": payload.model_dump(mode="json"),
                "prev_hash": prev,
            }
            entry = AuditEntry.model_validate({**body, "hash": entry_hash(body)})
            append_jsonl(self.path, canonical_json(entry.model_dump(mode="json")))
            write_model(self.head_path, AuditHead(entries=entry.seq + 1, last_hash=entry.hash))
            return entry

    def entries(self) -> list[AuditEntry]:
        """All entries, validated; raises EvotrainError naming the line if the chain is broken."""
        check, entries = self._scan()
        if not check.ok:
            raise EvotrainError(check.error)
        return entries

    def verify(self) -> VerifyResult:
        return self._scan()[0]

    def _scan(self) -> tuple[VerifyResult, list[AuditEntry]]:
        """Verify the chain and head; lines of an unchanged, already verified prefix are not re-parsed.

        Under the lock (re-entrant for an append), so a reader never sees an append half-done (its
        line written, the head not yet): with many workers recording manifests at once, it did."""
        with self._lock:
            raw = self.path.read_bytes() if self.path.exists() else b""
            whole = raw.rfind(b"\n") + 1
            cached = _VERIFIED.get(self.path)
            start, entries = 0, []
            if (cached is not None and whole >= cached.size
                    and hashlib.sha256(raw[:cached.size]).digest() == cached.digest):
                start, entries = cached.size, list(cached.entries)
            prev = entries[-1].hash if entries else GENESIS_HASH
            chunks = raw[start:].split(b"\n")
            if chunks and chunks[-1] == b"":
                chunks.pop()
            for chunk in chunks:
                index = len(entries)
                # bytes → text strictly: a flipped byte that breaks UTF-8 is tampering too, reported per line
                line = chunk.decode("utf-8", errors="replace")
                problem = _check_line(line, index, prev, f"{self.path}:{index + 1}")
                if problem:
                    return VerifyResult(ok=False, entries=index, error=problem), entries
                entries.append(AuditEntry.model_validate_json(line))
                prev = entries[-1].hash
            n_whole = raw[:whole].count(b"\n")
            _VERIFIED[self.path] = _Verified(size=whole, digest=hashlib.sha256(raw[:whole]).digest(),
                                             entries=entries[:n_whole])
            return self._check_head(len(entries), prev), entries

    def complete_interrupted_append(self) -> bool:
        """Finish an append cut by kill -9 between its line and its head (call it only as the log's one
        writer, e.g. when an orchestrator resumes under the campaign lock): if the log has exactly one
        line more than the head records and that line chains onto the head, record it. True if done."""
        with self._lock:
            lines = self._read_lines()
            head = (AuditHead.model_validate_json(self.head_path.read_text(encoding="utf-8"))
                    if self.head_path.exists() else AuditHead(entries=0, last_hash=GENESIS_HASH))
            if len(lines) != head.entries + 1 or _check_line(lines[-1], head.entries, head.last_hash,
                                                              f"{self.path}:{len(lines)}"):
                return False
            entry = AuditEntry.model_validate_json(lines[-1])
            write_model(self.head_path, AuditHead(entries=entry.seq + 1, last_hash=entry.hash))
            return True

    def _check_head(self, count: int, last_hash: str) -> VerifyResult:
        if not self.head_path.exists():
            if count == 0:
                return VerifyResult(ok=True, entries=0)
            return VerifyResult(ok=False, entries=count, error=f"{self.head_path}: missing (log has entries)")
        try:
            head = AuditHead.model_validate_json(self.head_path.read_text(encoding="utf-8"))
        except ValidationError as exc:
            return VerifyResult(ok=False, entries=count, error=first_validation_error(exc, str(self.head_path)))
        if head.entries > count:
            return VerifyResult(
                ok=False,
                entries=count,
                error=f"{self.path}: {head.entries - count} entr(y/ies) removed from the end "
                f"(head records {head.entries}, log has {count})",
            )
        if head.entries < count:
            return VerifyResult(
                ok=False,
                entries=count,
                error=f"{self.path}:{head.entries + 1}: entry not recorded in {self.head_path.name} "
                "(appended outside AuditLog, or an append was interrupted)",
            )
        if head.last_hash != last_hash:
            return VerifyResult(
                ok=False, entries=count, error=f"{self.head_path}: last_hash does not match line {count}"
            )
        return VerifyResult(ok=True, entries=count)

    def _read_lines(self) -> list[str]:
        if not self.path.exists():
            return []
        # bytes → text strictly: a flipped byte that breaks UTF-8 is tampering too, reported per line
        raw = self.path.read_bytes().split(b"\n")
        if raw and raw[-1] == b"":
            raw.pop()
        return [chunk.decode("utf-8", errors="replace") for chunk in raw]


def _check_line(line: str, index: int, prev: str, where: str) -> str:
    """The first problem with line `index` (0-based), or '' when it chains correctly."""
    try:
        data = json.loads(line)
    except ValueError:
        return f"{where}: not valid JSON (edited or corrupted)"
    if not isinstance(data, dict):
        return f"{where}: not a JSON object"
    try:
        entry = AuditEntry.model_validate(data)
    except ValidationError as exc:
        return first_validation_error(exc, where)
    if entry.seq != index:
        return f"{where}: seq is {entry.seq}, expected {index} (entry removed, inserted or reordered)"
    if entry.prev_hash != prev:
        return f"{where}: prev_hash does not match line {index} (entry removed, inserted or reordered)"
    body = {k: v for k, v in data.items() if k != "hash"}
    if entry_hash(body) != entry.hash:
        return f"{where}: hash mismatch (entry edited)"
    if canonical_json(data) != line:
        return f"{where}: not in canonical form (entry edited)"
    return ""
