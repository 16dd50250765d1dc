"""Ray executor: each job is a Ray task holding `num_cpus=cpu_slots, num_gpus=gpus`.

The task runs the same `job_wrapper` as the local executor (same command, same cwd, `timeout`
deadline, exit code and log written to `state_dir/<job_id>/`), so status/logs/attach read the same
files. `address=None` starts a local Ray (`num_cpus=` caps it); an address joins an existing cluster,
which must see `state_dir` and the sandboxes at the same paths (a shared filesystem).

Ray tasks die with the driver that submitted them, so after an orchestrator restart a job that had
not recorded its exit is reported FAILED ("lost") rather than silently started a second time; the
campaign retries it under a new attempt id. A finished job is picked up from its files as usual.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from filelock import FileLock

from evotrain.errors import EvotrainError
from evotrain.io import read_model, write_model
from evotrain.schemas.common import Artifact
from evotrain.schemas.substrate import quantity_bytes
from workers.executors.base import JobSpec, JobState, JobStatus
from workers.executors.job_files import (
    CancelRequest,
    JobFiles,
    JobTable,
    JobTableExecutor,
    ProcessRef,
    host_base_env,
    is_alive,
    job_env,
    kill_group,
    observe,
    process_ref,
)

# ObjectRefs of the tasks this driver process submitted, shared by its executor instances.
_REFS: dict[tuple[str, str], Any] = {}
_REMOTE: Any = None


def task_resources(spec: JobSpec) -> dict[str, Any]:
    """Ray's resource arguments for a job: CPUs, GPUs and (if the substrate names it) memory in bytes."""
    out: dict[str, Any] = {"num_cpus": spec.cpu_slots, "num_gpus": spec.gpus}
    if spec.memory:
        out["memory"] = quantity_bytes(spec.memory)
    return out


class RayTaskRecord(Artifact):
    driver: ProcessRef  # the process that submitted the task: when it is gone, so is the task
    submitted_at: float


def _run_in_ray_worker(job_dir: str) -> int:
    """The Ray task body: the job wrapper, with the job's env built on the worker's own env."""
    from workers.executors.job_wrapper import run

    spec = JobFiles(Path(job_dir)).read_spec()
    import ray

    # The GPUs Ray granted this task (Ray's own CUDA_VISIBLE_DEVICES is not in the allow-listed base env).
    gpu_ids = [int(i) for i in ray.get_gpu_ids()]
    return run(Path(job_dir), env=job_env(spec, host_base_env(spec), gpu_ids), forward_signals=False)


def _remote_fn() -> Any:
    global _REMOTE
    if _REMOTE is None:
        import ray

        _REMOTE = ray.remote(max_retries=0)(_run_in_ray_worker)
    return _REMOTE


class RayExecutor(JobTableExecutor):
    name = "ray"

    def __init__(
        self,
        state_dir: Path | str,
        address: str | None = None,
        num_cpus: int | None = None,
        num_gpus: int | None = None,
        kill_grace_s: float = 5.0,
        check_resources: bool = True,
        **init_options: Any,
    ) -> None:
        import ray  # optional dependency (the `ray` extra)

        self.state_dir = Path(state_dir)
        self.jobs = JobTable(self.state_dir)
        self.kill_grace_s = kill_grace_s
        self.check_resources = check_resources
        self._lock = threading.RLock()
        self._file_lock = FileLock(str(self.state_dir / ".jobs.lock"), timeout=120)
        if not ray.is_initialized():
            opts: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, **init_options}
            if address is None:  # a local Ray: these cap what it may use
                opts.update({k: v for k, v in {"num_cpus": num_cpus, "num_gpus": num_gpus}.items() if v is not None})
            ray.init(address=address, **opts)

    # -- the Executor protocol -------------------------------------------------------------------

    def submit(self, spec: JobSpec) -> JobStatus:
        self._check(spec)
        with self._lock, self._file_lock:
            files, new = self.jobs.record(spec)
            if not new:
                return self._refresh(files)
            now = time.time()
            me = process_ref(os.getpid())
            assert me is not None  # this very process is alive
            write_model(self._record_path(files), RayTaskRecord(driver=me, submitted_at=now))
            ref = _remote_fn().options(**task_resources(spec), name=spec.job_id).remote(str(files.dir.resolve()))
            _REFS[self._key(spec.job_id)] = ref
            return self._refresh(files)

    def status(self, job_id: str) -> JobStatus:
        with self._lock:
            return self._refresh(self.jobs.known(job_id))

    def cancel(self, job_id: str) -> JobStatus:
        import ray

        files = self.jobs.known(job_id)
        st = self.status(job_id)
        if st.state.finished:
            return st
        write_model(files.cancel, CancelRequest(requested_at=time.time()))
        ref = _REFS.get(self._key(job_id))
        self._kill_child(files, signal.SIGTERM)
        if ref is not None and not files.pid.is_file():
            ray.cancel(ref)  # still queued: drop it (a task that starts anyway sees cancel.json and stops)
        deadline = time.monotonic() + self.kill_grace_s
        while time.monotonic() < deadline and not self.status(job_id).state.finished:
            time.sleep(0.05)
        if not self.status(job_id).state.finished:
            self._kill_child(files, signal.SIGKILL)
            if ref is not None:
                ray.cancel(ref, force=True)
        return self.wait(job_id, poll_s=0.05, timeout_s=self.kill_grace_s)

    # -- internals ---------------------------------------------------------------------------------

    def _key(self, job_id: str) -> tuple[str, str]:
        return (str(self.state_dir.resolve()), job_id)

    @staticmethod
    def _record_path(files: JobFiles) -> Path:
        return files.dir / "ray.json"

    def _check(self, spec: JobSpec) -> None:
        import ray

        if not spec.command:
            raise EvotrainError(f"job {spec.job_id}: field 'command': must not be empty")
        if not Path(spec.cwd).is_absolute() or not Path(spec.cwd).is_dir():
            raise EvotrainError(f"job {spec.job_id}: field 'cwd': {spec.cwd} is not an absolute path to a directory")
        if self.check_resources:  # an infeasible task would wait forever
            total = ray.cluster_resources()
            for field, need, key in (("cpu_slots", spec.cpu_slots, "CPU"), ("gpus", spec.gpus, "GPU")):
                if need > total.get(key, 0):
                    raise EvotrainError(
                        f"job {spec.job_id}: field '{field}': needs {need}, the Ray cluster has {total.get(key, 0):g}"
                    )

    def _refresh(self, files: JobFiles) -> JobStatus:
        stored = files.read_status()
        current = self._observe(files, stored)
        if current != stored:
            files.write_status(current)
        return current

    def _observe(self, files: JobFiles, stored: JobStatus) -> JobStatus:
        import ray

        if stored.state.finished or files.exit.is_file():
            return observe(files, stored, launch_grace_s=0.0)
        pid = files.read_optional(files.pid, ProcessRef)
        now = time.time()
        if isinstance(pid, ProcessRef) and is_alive(pid):
            started = stored.started_at or now
            return stored.model_copy(update={"state": JobState.RUNNING, "started_at": started})
        ref = _REFS.get(self._key(files.job_id))
        cancelled = files.cancel.is_file()
        if ref is not None:
            ready, _ = ray.wait([ref], timeout=0)
            if not ready:
                return stored
            try:
                ray.get(ref)
            except Exception as exc:  # the task died or was cancelled before recording an exit
                if files.exit.is_file():
                    return observe(files, stored, launch_grace_s=0.0)
                state = JobState.CANCELLED if cancelled else JobState.FAILED
                msg = "cancelled" if cancelled else f"Ray task failed: {str(exc).strip().splitlines()[0][:300]}"
                return stored.model_copy(update={"state": state, "ended_at": now, "message": msg})
            return observe(files, stored, launch_grace_s=0.0)
        record = read_model(self._record_path(files), RayTaskRecord)
        if cancelled:
            return stored.model_copy(update={"state": JobState.CANCELLED, "ended_at": now, "message": "cancelled"})
        if is_alive(record.driver):
            return stored  # submitted by another live driver: still queued there
        return stored.model_copy(update={
            "state": JobState.FAILED, "ended_at": now,
            "message": "lost: the Ray driver that submitted it exited before the job recorded an exit code",
        })

    @staticmethod
    def _kill_child(files: JobFiles, sig: int) -> None:
        child = files.read_optional(files.child, ProcessRef)
        if isinstance(child, ProcessRef) and is_alive(child):
            kill_group(child.pid, sig)
