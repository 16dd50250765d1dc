"""Manifests are evidence only as the orchestrator received them.

When a worker's step ends, the manifest's sha256 goes into the hash-chained audit log. Before a round
is collected every manifest is checked against that record, and its chosen adapter must be a real
folder inside that worker's own run directory. A manifest changed after it was recorded (a daemon left
behind by a job, a hand edit) or one that points elsewhere is replaced by a `tampered` manifest with
no adapter, so nothing it claims can reach a report, a promotion or a submission.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from evotrain.io import read_model, write_model
from evotrain.paths import CampaignPaths, candidate_label, job_id_prefix
from evotrain.schemas.brief import Brief
from evotrain.schemas.manifest import Failure, FailureMode, Manifest
from orchestrator.audit.log import AuditLog, ManifestPayload


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _recorded(audit: AuditLog) -> dict[str, ManifestPayload]:
    """The latest recorded manifest of each candidate."""
    out: dict[str, ManifestPayload] = {}
    for e in audit.entries():
        if isinstance(e.payload, ManifestPayload):
            out[e.payload.candidate] = e.payload
    return out


def record_manifest(paths: CampaignPaths, round_no: int, worker_id: str, note: str = "") -> None:
    """Put the manifest's hash in the audit log (once; idempotent on resume)."""
    path = paths.manifest(round_no, worker_id)
    audit = AuditLog(paths.audit_log)
    label = candidate_label(round_no, worker_id)
    if label in _recorded(audit) and not note:
        return
    status = read_model(path, Manifest).status
    audit.append(ManifestPayload(candidate=label, round=round_no, manifest_path=str(path),
                                 manifest_sha256=_sha256(path), status=status, note=note))


def _adapter_problem(paths: CampaignPaths, m: Manifest) -> str | None:
    """The chosen adapter must be one the judge scored for THIS worker (its copy outside the sandbox),
    or, for a substrate without a judge, a folder inside the worker's own run directory."""
    if m.chosen_adapter is None:
        return None
    adapter = Path(m.chosen_adapter)
    if m.scores_judged:
        root = (paths.judge / "reports").resolve()
        prefix = job_id_prefix(paths.campaign, m.round, m.worker_id) + "-"
        real = adapter.resolve()
        ok = real.is_relative_to(root) and real.relative_to(root).parts[0].startswith(prefix)
        where = f"the judge's copies of this worker's runs under {root}"
    else:
        root = (paths.sandbox(m.round, m.worker_id) / "runs").resolve()
        ok = adapter.resolve().is_relative_to(root)
        where = f"the worker's run directory {root}"
    if adapter.is_symlink() or not ok or not adapter.resolve().is_dir():
        return f"chosen_adapter {m.chosen_adapter} is not a folder inside {where}"
    return None


def verify_round_manifests(paths: CampaignPaths, round_no: int) -> list[str]:
    """Check every manifest of the round; replace a tampered one. Returns the problems found."""
    folder = paths.round_state(round_no) / "manifests"
    recorded = _recorded(AuditLog(paths.audit_log))
    problems: list[str] = []
    for path in sorted(folder.glob("w*.json")) if folder.is_dir() else []:
        worker_id = path.stem
        label = candidate_label(round_no, worker_id)
        rec = recorded.get(label)
        problem = None
        if rec is None:
            problem = "manifest was never recorded in the audit log"
        elif rec.manifest_sha256 != _sha256(path):
            problem = "manifest changed after the orchestrator recorded it"
        if problem is None:
            problem = _adapter_problem(paths, read_model(path, Manifest))
        if problem is None:
            continue
        problems.append(f"{label}: {problem}")
        brief = read_model(paths.brief(round_no, worker_id), Brief)
        write_model(path, Manifest.for_brief(brief, status="tampered",
                                             failures=[Failure(mode=FailureMode.TAMPERED, message=problem)]))
        record_manifest(paths, round_no, worker_id, note=problem)
    return problems

