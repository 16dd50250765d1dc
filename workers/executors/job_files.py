"""The on-disk record of one job, `state_dir/<job_id>/`, and how its state is read back from it.

Shared by the local and Ray executors and by the job wrapper. The files are the truth: an executor
keeps nothing in memory that a restarted one could not rebuild, so a job started before a kill -9 is
re-attached (still running) or picked up (finished) instead of being started again.

    spec.json      JobSpec, written once at submit
    status.json    JobStatus, the last observed state (rewritten atomically on every change)
    launch.json    LaunchRecord: the executor decided to start it (time, GPUs it holds)
    pid.json       ProcessRef of the wrapper (pid + start time, so a recycled pid is not the job)
    child.json     ProcessRef of the command's process group leader (coreutils `timeout`)
    exit.json      JobExit, written by the wrapper once the command ended
    cancel.json    CancelRequest: someone asked for the job to stop
    job.log        the command's stdout+stderr;  wrapper.log: the wrapper's own errors
    wrapper.lock   flock held by the one wrapper running the job (a requeued launch never runs twice)
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import psutil
from pydantic import Field

from evotrain.errors import EvotrainError
from evotrain.io import read_model, write_model
from evotrain.schemas.common import Artifact
from evotrain.secrets import job_environment
from workers.executors.base import JobSpec, JobState, JobStatus, poll_until_finished
from workers.isolation import JOB_HOME

# Job ids name a directory (and, mapped, a Kubernetes object), so keep them to a portable alphabet.
JOB_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")

# Exit codes of coreutils `timeout`: 124 = the command got the TERM signal at the deadline;
# a KILL after --kill-after kills `timeout` itself, which a parent sees as -9 (or 137 through a shell).
TIMEOUT_EXIT_CODES = frozenset({124, 137, -9})


class ProcessRef(Artifact):
    """A process identity that survives pid recycling: pid plus the kernel's start time.

    `start_ticks` (Linux: clock ticks from boot to the process's start) is what identifies it;
    `create_time` (epoch seconds) is psutil's boot time plus those ticks, and the boot time moves
    when the wall clock is stepped or slewed, so two processes can compute it a second apart for the
    same process. Then a running job's wrapper looks recycled and the job fails as "died without an
    exit code" (the likely cause of a CI flake: this VM's boot time sits 0.014 s from a second's edge)."""

    pid: int = Field(gt=0)
    create_time: float
    start_ticks: int | None = None  # None where /proc is absent: create_time is compared instead


class LaunchRecord(Artifact):
    launched_at: float
    gpu_ids: list[int] = Field(default_factory=list)
    launches: int = Field(default=1, ge=1)  # the how-many-th start of this job's wrapper (see local.py's requeue)


class JobExit(Artifact):
    """Written by the wrapper, atomically, when the command has ended."""

    exit_code: int
    timed_out: bool = False
    started_at: float
    ended_at: float


class CancelRequest(Artifact):
    requested_at: float


def check_job_id(job_id: str) -> str:
    if not JOB_ID_PATTERN.fullmatch(job_id):
        raise EvotrainError(
            f"job spec: field 'job_id': {job_id!r} must be 1-200 chars of A-Z a-z 0-9 . _ -, "
            "starting with a letter or digit"
        )
    return job_id


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start ticks) from one read of /proc/<pid>/stat: the state is field 3 ("Z": zombie), the
    start (field 22) is in clock ticks since boot, fixed for the process's life and independent of the
    wall clock. None without /proc or for a gone pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()  # the command name may hold spaces and parentheses
    return (fields[0], int(fields[19])) if len(fields) > 19 and fields[19].isdigit() else None


def start_ticks(pid: int) -> int | None:
    stat = _proc_stat(pid)
    return None if stat is None else stat[1]


def process_ref(pid: int) -> ProcessRef | None:
    """The identity of a live process, or None if it is already gone."""
    try:
        return ProcessRef(pid=pid, create_time=psutil.Process(pid).create_time(), start_ticks=start_ticks(pid))
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def is_alive(ref: ProcessRef) -> bool:
    """True if that very process (same pid AND same start) still runs (zombies are dead)."""
    stat = _proc_stat(ref.pid) if ref.start_ticks is not None else None
    if stat is not None:  # one read gives both; the executor's pump asks this of every running job
        state, ticks = stat
        return ticks == ref.start_ticks and state != "Z"  # other ticks: the pid was recycled
    try:
        proc = psutil.Process(ref.pid)
        if abs(proc.create_time() - ref.create_time) > 0.05:
            return False
        return proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def kill_group(pgid: int, sig: int) -> None:
    """Signal a whole process group; a group that is already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def host_base_env(spec: JobSpec) -> dict[str, str]:
    """The allow-listed base environment of a job run on this host (never a copy of os.environ)."""
    isolated = spec.isolation is not None and spec.isolation.kind != "none"
    return job_environment({}, home=JOB_HOME if isolated else spec.cwd, python_bin=str(Path(sys.executable).parent))


def job_env(spec: JobSpec, base: dict[str, str], gpu_ids: list[int] | None = None) -> dict[str, str]:
    """The job's environment: base env + spec.env, thread counts pinned to the job's CPU slots."""
    env = dict(base)
    env.update(spec.env)
    threads = str(spec.cpu_slots)
    env.update({"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "EVOTRAIN_NUM_THREADS": threads})
    if gpu_ids is not None:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in gpu_ids)
    return env


@dataclass(frozen=True)
class JobFiles:
    dir: Path

    @property
    def job_id(self) -> str:
        return self.dir.name

    spec = property(lambda self: self.dir / "spec.json")
    status = property(lambda self: self.dir / "status.json")
    launch = property(lambda self: self.dir / "launch.json")
    pid = property(lambda self: self.dir / "pid.json")
    child = property(lambda self: self.dir / "child.json")
    exit = property(lambda self: self.dir / "exit.json")
    cancel = property(lambda self: self.dir / "cancel.json")
    log = property(lambda self: self.dir / "job.log")
    wrapper_log = property(lambda self: self.dir / "wrapper.log")
    wrapper_lock = property(lambda self: self.dir / "wrapper.lock")

    def exists(self) -> bool:
        return self.spec.is_file()

    def read_spec(self) -> JobSpec:
        return read_model(self.spec, JobSpec)

    def read_status(self) -> JobStatus:
        return read_model(self.status, JobStatus)

    def write_status(self, status: JobStatus) -> JobStatus:
        write_model(self.status, status)
        return status

    def read_optional(self, path: Path, model: type[Artifact]) -> Artifact | None:
        return read_model(path, model) if path.is_file() else None


def job_files(state_dir: Path, job_id: str) -> JobFiles:
    return JobFiles(Path(state_dir) / check_job_id(job_id))


def tail_text(path: Path, tail: int | None, max_bytes: int = 4 << 20) -> str:
    """The last `tail` lines of a log (all if None), reading at most the last `max_bytes`."""
    if not path.is_file():
        return ""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(max(0, size - max_bytes))
        data = fh.read()
    text = data.decode("utf-8", errors="replace")
    if tail is None:
        return text
    lines = text.splitlines(keepends=True)
    return "".join(lines[-tail:]) if tail > 0 else ""


def _finished_from_exit(files: JobFiles, stored: JobStatus, cancelled: bool) -> JobStatus:
    ex = read_model(files.exit, JobExit)
    if cancelled:
        state, msg = JobState.CANCELLED, "cancelled"
    elif ex.timed_out:
        state, msg = JobState.TIMEOUT, "killed at its timeout"
    elif ex.exit_code == 0:
        state, msg = JobState.SUCCEEDED, ""
    else:
        state, msg = JobState.FAILED, f"exit code {ex.exit_code}"
    return stored.model_copy(
        update={"state": state, "exit_code": ex.exit_code, "started_at": stored.started_at or ex.started_at,
                "ended_at": ex.ended_at, "message": msg}
    )


def observe(files: JobFiles, stored: JobStatus, launch_grace_s: float) -> JobStatus:
    """The job's state now, from its files and the liveness of its wrapper. Final states stick."""
    if stored.state.finished:
        return stored
    cancelled = files.cancel.is_file()
    if files.exit.is_file():
        return _finished_from_exit(files, stored, cancelled)
    pid = files.read_optional(files.pid, ProcessRef)
    alive = isinstance(pid, ProcessRef) and is_alive(pid)
    if alive:
        msg = "cancelling" if cancelled else ""
        return stored.model_copy(update={"state": JobState.RUNNING, "message": msg})
    if files.exit.is_file():  # it ended between the two checks
        return _finished_from_exit(files, stored, cancelled)
    now = time.time()
    if cancelled and (pid is not None or not files.launch.is_file()):
        return stored.model_copy(update={"state": JobState.CANCELLED, "ended_at": now, "message": "cancelled"})
    if pid is not None:
        return stored.model_copy(
            update={"state": JobState.FAILED, "ended_at": now,
                    "message": f"job wrapper died without recording an exit code (see {files.wrapper_log})"}
        )
    launch = files.read_optional(files.launch, LaunchRecord)
    if stored.state == JobState.RUNNING and isinstance(launch, LaunchRecord):  # a requeued job stays PENDING
        if now - launch.launched_at <= launch_grace_s:
            return stored.model_copy(update={"state": JobState.RUNNING, "message": "starting"})
        return stored.model_copy(
            update={"state": JobState.FAILED, "ended_at": now,
                    "message": f"job wrapper never started within {launch_grace_s:g}s (see {files.wrapper_log})"}
        )
    return stored


def refresh(files: JobFiles, launch_grace_s: float, stored: JobStatus | None = None) -> JobStatus:
    """Observe the job and persist the status if it changed (`stored`: the status file, if the caller
    has just read it under the same lock)."""
    stored = stored if stored is not None else files.read_status()
    current = observe(files, stored, launch_grace_s)
    if current != stored:
        files.write_status(current)
    return current


def list_jobs(state_dir: Path, skip: Collection[str] = ()) -> list[JobFiles]:
    """Every job folder, except the ids in `skip` (not even stat'ed: a caller's known-finished jobs)."""
    if not Path(state_dir).is_dir():
        return []
    return [JobFiles(d) for d in sorted(Path(state_dir).iterdir())
            if d.name not in skip and d.is_dir() and (d / "spec.json").is_file()]


class JobTable:
    """The file-backed job table every executor keeps under its state dir: one folder per job id.

    Shared by the local, Ray and Kubernetes executors so that submit-twice, lookup, attach and the
    recorded statuses behave the same whatever runs the job.
    """

    def __init__(self, state_dir: Path | str) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)

    def files(self, job_id: str) -> JobFiles:
        return job_files(self.state_dir, job_id)

    def known(self, job_id: str) -> JobFiles:
        """The job's files; an unknown id is a one-line error."""
        files = self.files(job_id)
        if not files.exists():
            raise EvotrainError(f"job {job_id}: unknown job id (nothing under {files.dir})")
        return files

    def record(self, spec: JobSpec) -> tuple[JobFiles, bool]:
        """Write the spec and a PENDING status for a new job; (files, True) if new, (files, False) if known.

        The same id with a different spec is refused: a changed job needs a new id (the next attempt).
        """
        files = self.files(spec.job_id)
        if files.exists():
            if files.read_spec() != spec:
                raise EvotrainError(
                    f"job {spec.job_id}: already submitted with a different spec ({files.spec}); "
                    "use a new job_id (e.g. the next attempt) for a changed job"
                )
            return files, False
        files.dir.mkdir(parents=True, exist_ok=True)
        write_model(files.spec, spec)
        files.write_status(JobStatus(job_id=spec.job_id, state=JobState.PENDING, submitted_at=time.time()))
        return files, True

    def attach(self, job_id: str, status: Callable[[str], JobStatus]) -> JobStatus | None:
        """`status(job_id)` for a known job, None for one never submitted (after an orchestrator restart)."""
        return status(job_id) if self.files(job_id).exists() else None

    def logs(self, job_id: str, tail: int | None) -> str:
        return tail_text(self.known(job_id).log, tail)

    def statuses(self) -> list[JobStatus]:
        """Every job's last recorded status (what accounting reads, without knowing the file layout)."""
        return [f.read_status() for f in list_jobs(self.state_dir) if f.status.is_file()]


class JobTableExecutor:
    """attach / wait / logs shared by the executors whose job table is a JobTable (local, Ray, instant).

    A subclass sets `self.jobs` and implements `status`; Kubernetes and Ray Jobs override `wait`/`logs`.
    """

    jobs: JobTable

    def status(self, job_id: str) -> JobStatus:
        raise NotImplementedError

    def attach(self, job_id: str) -> JobStatus | None:
        return self.jobs.attach(job_id, self.status)

    def wait(self, job_id: str, poll_s: float = 1.0, timeout_s: float | None = None) -> JobStatus:
        return poll_until_finished(self.status, job_id, poll_s, timeout_s)

    def logs(self, job_id: str, tail: int | None = 200) -> str:
        return self.jobs.logs(job_id, tail)
