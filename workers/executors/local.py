"""Local executor (the default): one detached subprocess per job, CPU-slot accounting, re-attach.

Each job runs under `job_wrapper` in its own session, so it survives the orchestrator being killed;
its state lives in `state_dir/<job_id>/` (see job_files). Every call first refreshes the job table
under a file lock and starts queued jobs oldest-first while their CPU slots (and GPUs) fit, so two
executors on one campaign dir, or a restarted one, agree on what runs and never oversubscribe.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from filelock import FileLock

from evotrain.errors import EvotrainError
from evotrain.io import write_model
from workers.executors.base import JobSpec, JobState, JobStatus
from workers.executors.job_files import (
    CancelRequest,
    JobFiles,
    JobTable,
    JobTableExecutor,
    LaunchRecord,
    ProcessRef,
    host_base_env,
    is_alive,
    job_env,
    kill_group,
    list_jobs,
    process_ref,
    refresh,
)

# How often one job's wrapper may be started: the first launch plus two requeues after an executor
# died between recording a launch and starting it. A wrapper that never starts at all still fails.
MAX_LAUNCHES = 3


class LocalExecutor(JobTableExecutor):
    name = "local"

    def __init__(
        self,
        state_dir: Path | str,
        total_slots: int | None = None,
        total_gpus: int = 0,
        launch_grace_s: float = 30.0,
        kill_grace_s: float = 5.0,
        lock_timeout_s: float = 120.0,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.total_slots = total_slots if total_slots is not None else (os.cpu_count() or 1)
        if self.total_slots < 1:
            raise EvotrainError(f"executor options: field 'total_slots': must be >= 1, got {self.total_slots}")
        if total_gpus < 0:
            raise EvotrainError(f"executor options: field 'total_gpus': must be >= 0, got {total_gpus}")
        self.total_gpus = total_gpus
        self.launch_grace_s = launch_grace_s
        self.kill_grace_s = kill_grace_s
        self.jobs = JobTable(self.state_dir)
        # The file lock orders executors across processes; the RLock orders threads of this one.
        self._file_lock = FileLock(str(self.state_dir / ".jobs.lock"), timeout=lock_timeout_s)
        self._thread_lock = threading.RLock()
        self._children: dict[str, subprocess.Popen[bytes]] = {}  # reaped so they do not linger as zombies
        # Final states stick, so a finished job is never refreshed again: every status call used to
        # re-read every job of the campaign, O(jobs) per poll and O(jobs²) per campaign (issue #17).
        self._finished: set[str] = set()

    # -- the Executor protocol -------------------------------------------------------------------

    def submit(self, spec: JobSpec) -> JobStatus:
        self._check_fits(spec)
        with self._locked():
            files, _ = self.jobs.record(spec)
            self._pump()
            return files.read_status()

    def status(self, job_id: str) -> JobStatus:
        files = self.jobs.known(job_id)
        with self._locked():
            self._pump()
            return files.read_status()

    def cancel(self, job_id: str) -> JobStatus:
        files = self.jobs.known(job_id)
        with self._locked():
            st = refresh(files, self.launch_grace_s)
            if st.state.finished:
                return st
            write_model(files.cancel, CancelRequest(requested_at=time.time()))
            self._signal(files, signal.SIGTERM)
        deadline = time.monotonic() + self.kill_grace_s
        while time.monotonic() < deadline and self._wrapper_alive(files):
            time.sleep(0.05)
        if self._wrapper_alive(files):
            self._signal(files, signal.SIGKILL)
        return self.wait(job_id, poll_s=0.05, timeout_s=self.kill_grace_s + self.launch_grace_s)

    # -- internals ---------------------------------------------------------------------------------

    def _locked(self) -> _BothLocks:
        return _BothLocks(self._thread_lock, self._file_lock)

    def _check_fits(self, spec: JobSpec) -> None:
        if spec.cpu_slots > self.total_slots:
            raise EvotrainError(
                f"job {spec.job_id}: field 'cpu_slots': needs {spec.cpu_slots}, the local executor has "
                f"{self.total_slots} slots"
            )
        if spec.gpus > self.total_gpus:
            raise EvotrainError(
                f"job {spec.job_id}: field 'gpus': needs {spec.gpus}, the local executor has {self.total_gpus}"
            )
        if not spec.command:
            raise EvotrainError(f"job {spec.job_id}: field 'command': must not be empty")
        if not Path(spec.cwd).is_absolute() or not Path(spec.cwd).is_dir():
            raise EvotrainError(f"job {spec.job_id}: field 'cwd': {spec.cwd} is not an absolute path to a directory")

    def _pump(self) -> None:
        """Refresh every job; start queued ones, oldest first, while they fit (caller holds the lock)."""
        for job_id, proc in list(self._children.items()):
            if proc.poll() is not None:
                del self._children[job_id]
        used_slots, used_gpus = 0, set[int]()
        pending: list[tuple[float, str, JobFiles]] = []
        for files in list_jobs(self.state_dir, skip=self._finished):
            st = refresh(files, self.launch_grace_s, stored=self._requeue_unstarted(files))
            if st.state.finished:
                self._finished.add(files.job_id)
            elif st.state == JobState.RUNNING:
                used_slots += files.read_spec().cpu_slots
                launch = files.read_optional(files.launch, LaunchRecord)
                if isinstance(launch, LaunchRecord):
                    used_gpus.update(launch.gpu_ids)
            elif st.state == JobState.PENDING:
                pending.append((st.submitted_at or 0.0, files.job_id, files))
        for _, _, files in sorted(pending, key=lambda p: (p[0], p[1])):
            spec = files.read_spec()
            free_gpus = [i for i in range(self.total_gpus) if i not in used_gpus]
            if used_slots + spec.cpu_slots > self.total_slots or spec.gpus > len(free_gpus):
                break  # strict FIFO: a big job is not starved by smaller ones behind it
            gpu_ids = free_gpus[: spec.gpus]
            self._launch(files, spec, gpu_ids)
            used_slots += spec.cpu_slots
            used_gpus.update(gpu_ids)

    def _requeue_unstarted(self, files: JobFiles) -> JobStatus:
        """Put a launch whose wrapper never started back in the queue (up to MAX_LAUNCHES starts);
        return the job's stored status, requeued or not (read once per pump: this is the hot path).

        An executor killed between recording a launch and starting its wrapper leaves a RUNNING job
        with no process; failing it would cost the worker a training attempt for nothing. Past the
        launch grace without a pid file, no wrapper ran, and the wrapper's flock makes a very late
        one exit instead of running the command twice.
        """
        stored = files.read_status()
        if (stored.state != JobState.RUNNING or files.pid.is_file() or files.exit.is_file()
                or files.cancel.is_file()):
            return stored
        launch = files.read_optional(files.launch, LaunchRecord)
        if (not isinstance(launch, LaunchRecord) or launch.launches >= MAX_LAUNCHES
                or time.time() - launch.launched_at <= self.launch_grace_s):
            return stored
        requeued = stored.model_copy(update={
            "state": JobState.PENDING, "started_at": None,
            "message": f"requeued: its wrapper never started within {self.launch_grace_s:g}s "
                       f"(launch {launch.launches} of {MAX_LAUNCHES})"})
        files.write_status(requeued)
        return requeued

    def _launch(self, files: JobFiles, spec: JobSpec, gpu_ids: list[int]) -> None:
        now = time.time()
        previous = files.read_optional(files.launch, LaunchRecord)
        launches = previous.launches + 1 if isinstance(previous, LaunchRecord) else 1
        write_model(files.launch, LaunchRecord(launched_at=now, gpu_ids=gpu_ids, launches=launches))
        files.write_status(files.read_status().model_copy(
            update={"state": JobState.RUNNING, "started_at": now, "message": "starting"}))
        env = job_env(spec, host_base_env(spec), gpu_ids)  # always set: a CPU job sees no GPU ("")
        with open(files.wrapper_log, "ab") as wlog:
            proc = subprocess.Popen(
                [sys.executable, "-m", "workers.executors.job_wrapper", str(files.dir.resolve())],
                cwd=files.dir, env=env, stdin=subprocess.DEVNULL, stdout=wlog, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own session: an orchestrator kill -9 does not reach it
            )
        self._children[spec.job_id] = proc
        ref = process_ref(proc.pid)
        if ref is not None and not files.pid.is_file():
            write_model(files.pid, ref)  # the wrapper writes it too; this covers a wrapper that dies early

    def _wrapper_alive(self, files: JobFiles) -> bool:
        self._reap()
        pid = files.read_optional(files.pid, ProcessRef)
        return isinstance(pid, ProcessRef) and is_alive(pid)

    def _reap(self) -> None:
        for proc in list(self._children.values()):
            proc.poll()

    def _signal(self, files: JobFiles, sig: int) -> None:
        """Signal the command's group and the wrapper, only if they are still the job's processes."""
        child = files.read_optional(files.child, ProcessRef)
        if isinstance(child, ProcessRef) and is_alive(child):
            kill_group(child.pid, sig)
        pid = files.read_optional(files.pid, ProcessRef)
        if isinstance(pid, ProcessRef) and is_alive(pid):
            kill_group(pid.pid, sig)


class _BothLocks:
    """Take the thread lock then the file lock (a FileLock alone is per-thread in filelock >= 3.12)."""

    def __init__(self, thread_lock: threading.RLock, file_lock: FileLock) -> None:
        self._thread_lock = thread_lock
        self._file_lock = file_lock

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        try:
            self._file_lock.acquire()
        except BaseException:
            self._thread_lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        self._file_lock.release()
        self._thread_lock.release()
