"""`evotrain submit`: pick a candidate, package, validate, send (unless dry-run), record.

What is sent is exactly what was validated: the local leaderboard scores the folder extracted from
the validated zip, Kaggle receives the zip. Every send that reaches a backend is appended to the
campaign's audit log (successes and backend errors alike); refused packages and dry runs send
nothing and record nothing.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from evotrain.errors import EvotrainError
from evotrain.io import read_model, write_model
from evotrain.paths import CampaignPaths
from evotrain.schemas.common import Artifact
from orchestrator.audit.log import AuditLog, SubmissionPayload
from orchestrator.campaign.view import CandidateRef, load_manifest, load_manifests, load_reports, report_rounds
from orchestrator.leaderboard.base import Leaderboard, SubmissionBudgetExceeded
from orchestrator.leaderboard.package import PackageCheck, SubmissionConfig, package_adapter, validate_package

if TYPE_CHECKING:  # the kaggle package is imported only when sending to Kaggle
    from orchestrator.leaderboard.kaggle import KaggleBackend


class SendResult(Artifact):
    status: Literal["complete", "pending", "error"]
    submission_id: str = ""
    public: float | None = None
    message: str = ""


class SubmissionRecord(Artifact):
    """Written beside the sent zip: what was sent, where, and what came back."""

    candidate: str
    round: int
    backend: str
    destination: str = ""  # e.g. "kaggle competition 'x'" or "local leaderboard"
    adapter_source: str
    check: PackageCheck
    result: SendResult | None = None  # None for a dry run
    dry_run: bool = False


class SubmissionTarget(Protocol):
    name: str

    def send(self, zip_path: Path, adapter_dir: Path, ref: CandidateRef) -> SendResult: ...


@dataclass
class LocalTarget:
    """The local hidden-split leaderboard (the Leaderboard protocol)."""

    leaderboard: Leaderboard
    name: str = "local"
    # the budget round this submission counts against; None = the candidate's own round (a campaign
    # still running), a finished campaign's user submissions get the round after its last one
    round_no: int | None = None

    def send(self, zip_path: Path, adapter_dir: Path, ref: CandidateRef) -> SendResult:
        round_no = self.round_no if self.round_no is not None else ref.round
        try:
            score = self.leaderboard.submit(ref.label, round_no, adapter_dir)
        except SubmissionBudgetExceeded as exc:
            raise EvotrainError(f"local leaderboard: submission budget of round {round_no} is spent ({exc})") from exc
        return SendResult(status="complete", submission_id=score.submission_id, public=score.public)


@dataclass
class KaggleTarget:
    backend: KaggleBackend  # uploads the zip itself; `adapter_dir` is for backends that score a folder
    name: str = "kaggle"

    def send(self, zip_path: Path, adapter_dir: Path, ref: CandidateRef) -> SendResult:
        result = self.backend.submit(zip_path, f"evotrain {ref.label}")
        return SendResult(status=result.status, submission_id=result.ref, public=result.public, message=result.message)


def best_candidate(paths: CampaignPaths) -> CandidateRef:
    """Leaderboard is authoritative: highest public score (dev breaks ties); else highest dev."""
    usable = {(m.round, m.worker_id) for m in load_manifests(paths) if m.usable}
    scored = [(c.leaderboard, c.dev or 0.0, rep.round, c.worker_id)
              for rep in load_reports(paths) for c in rep.candidates
              if c.leaderboard is not None and (rep.round, c.worker_id) in usable]
    if scored:
        _, _, round_no, worker = max(scored)
        return CandidateRef(round_no, worker)
    by_dev = [(m.dev_score, m.round, m.worker_id) for m in load_manifests(paths)
              if m.usable and m.dev_score is not None]
    if not by_dev:
        raise EvotrainError(f"--best: campaign '{paths.campaign}' has no usable candidate with a score")
    _, round_no, worker = max(by_dev)
    return CandidateRef(round_no, worker)


def adapter_dir_of(paths: CampaignPaths, ref: CandidateRef) -> Path:
    manifest = load_manifest(paths, ref)
    if not manifest.usable or manifest.chosen_adapter is None:
        raise EvotrainError(f"--candidate: {ref.label} has no chosen adapter (status {manifest.status})")
    adapter = Path(manifest.chosen_adapter)
    if not adapter.is_dir():
        raise EvotrainError(f"--candidate: {ref.label} adapter folder not found: {adapter}")
    return adapter


def prepare(adapter_dir: Path, out_dir: Path, cfg: SubmissionConfig) -> tuple[Path, PackageCheck, Path]:
    """Package + validate + unpack what was validated; returns (zip, check, unpacked folder)."""
    zip_path = package_adapter(adapter_dir, out_dir / "submission.zip")
    check = validate_package(zip_path, cfg)
    unpacked = out_dir / "adapter"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(unpacked)
    return zip_path, check, unpacked


def champion_candidate(cycle_config: Path | None, round_no: int) -> tuple[CandidateRef, Path]:
    """The continuous cycle's current champion (`evotrain submit --champion`) as a candidate of the
    submission round `round_no`: labelled `champion-<cycle id>`, its adapter from the cycle's archive."""
    from orchestrator.cycle.champion import champion_adapter
    from orchestrator.cycle.config import load_config
    from orchestrator.cycle.store import CyclePaths, load_pointer

    if cycle_config is not None and not cycle_config.is_file():
        raise EvotrainError(f"--cycle-config: file not found: {cycle_config}")
    config = load_config(cycle_config)
    paths = CyclePaths(config.state_dir)
    adapter = champion_adapter(paths)
    if adapter is None:
        raise EvotrainError(f"--champion: cycle '{config.name}' has no champion yet ({paths.champion}); "
                            "run `evotrain cycle run --once`")
    if not adapter.is_dir():
        raise EvotrainError(f"--champion: the champion's adapter folder is missing: {adapter}")
    return CandidateRef(round_no, f"champion-{load_pointer(paths).champion}"), adapter


def dry_run(paths: CampaignPaths | None, ref: CandidateRef, backend: str, cfg: SubmissionConfig,
            destination: str = "", adapter: Path | None = None) -> SubmissionRecord:
    """Package + validate in a temp folder and describe what would be sent; writes and sends nothing.
    `adapter` overrides the candidate's (the cycle's champion needs no campaign)."""
    if adapter is None:
        if paths is None:
            raise EvotrainError("dry run: a campaign candidate needs its campaign")
        adapter = adapter_dir_of(paths, ref)
    with tempfile.TemporaryDirectory(prefix="evotrain-dry-run-") as tmp:
        _, check, _ = prepare(adapter, Path(tmp), cfg)
    return SubmissionRecord(candidate=ref.label, round=ref.round, backend=backend, destination=destination,
                            adapter_source=str(adapter), check=check, dry_run=True)


def submit(paths: CampaignPaths, ref: CandidateRef, open_target: Callable[[], SubmissionTarget],
           cfg: SubmissionConfig, destination: str = "", clock: Callable[[], float] = time.time,
           adapter: Path | None = None) -> SubmissionRecord:
    """Validate, then open the backend (`open_target`) and send; a refused package never opens it.
    `adapter` overrides the candidate's (the cycle's champion, recorded in the campaign's audit log)."""
    adapter = adapter or adapter_dir_of(paths, ref)
    # prepared in a hidden temp folder and moved into place only once valid: a refused package leaves nothing
    parent = paths.submissions
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=parent))
    try:
        prepare(adapter, staging, cfg)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    out_dir = parent / f"{ref.label.replace('/', '-')}-{int(clock() * 1000)}"
    staging.rename(out_dir)
    zip_path = out_dir / "submission.zip"
    check = validate_package(zip_path, cfg)  # re-read at its final path: the record names that path
    unpacked = out_dir / "adapter"
    try:
        log_check = AuditLog(paths.audit_log).verify()  # a send that could not be recorded is not sent
        if not log_check.ok:
            raise EvotrainError(f"submit refused, audit log is broken: {log_check.error}")
        target = open_target()
    except BaseException:
        shutil.rmtree(out_dir, ignore_errors=True)  # never sent: leave no package behind
        raise
    try:
        result = target.send(zip_path, unpacked, ref)
    except Exception as exc:  # recorded whatever went wrong: the backend may have received it
        message = exc.message if isinstance(exc, EvotrainError) else f"{type(exc).__name__}: {exc}"
        result = SendResult(status="error", message=message.splitlines()[0] if message else "error")
        _record(paths, ref, target.name, destination, check, result, adapter, out_dir)
        raise
    return _record(paths, ref, target.name, destination, check, result, adapter, out_dir)


def _record(paths: CampaignPaths, ref: CandidateRef, backend: str, destination: str, check: PackageCheck,
            result: SendResult, adapter: Path, out_dir: Path) -> SubmissionRecord:
    record = SubmissionRecord(candidate=ref.label, round=ref.round, backend=backend, destination=destination,
                              adapter_source=str(adapter), check=check, result=result)
    write_model(out_dir / "submission.json", record)
    AuditLog(paths.audit_log).append(SubmissionPayload(
        candidate=ref.label, round=ref.round, backend=backend, zip_path=check.zip_path,
        zip_sha256=check.zip_sha256, zip_bytes=check.zip_bytes, status=result.status,
        submission_id=result.submission_id, public=result.public, message=result.message,
    ))
    return record


def open_local_leaderboard(paths: CampaignPaths) -> Leaderboard:
    """The campaign's local hidden-split leaderboard: same folder, records and round budget as the loop's."""
    from orchestrator.config import CampaignRecord
    from orchestrator.leaderboard.factory import open_leaderboard

    if not paths.config.is_file():
        raise EvotrainError(f"--to local: {paths.config} not found (the local leaderboard needs the campaign record)")
    from orchestrator.campaign.data_inputs import resolve_inputs
    from workers.substrate_contract import load_spec

    record = read_model(paths.config, CampaignRecord)
    # the substrate's user-given data (e.g. the CSV the held-out split is drawn from), as the loop's board has it
    root, cfg = Path(record.workspace_root), record.config
    inputs = resolve_inputs(root, cfg, load_spec(record.substrate_dir)) if cfg.inputs else {}
    return open_leaderboard(record.config.leaderboard.model_copy(update={"kind": "local"}), paths,
                            Path(record.substrate_dir), inputs={k: str(v) for k, v in inputs.items()})


def submission_round(paths: CampaignPaths) -> int | None:
    """After a campaign finished, a user's submissions count against the round after its last one."""
    if not paths.summary.is_file():
        return None
    return max(report_rounds(paths), default=0) + 1
