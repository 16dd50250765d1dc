"""Ray Jobs executor: each job is a Ray *job* (Jobs API), so it outlives the orchestrator that submitted it.

`make_executor("ray", state_dir, address="http://head:8265")` (the dashboard's address) picks this
backend; a `ray://` or `auto` address keeps the task-based RayExecutor, whose tasks die with their driver.

The job's Ray submission id is its evotrain job id plus a nonce kept in the job table
(`state_dir/ray_jobs.json`, made once per campaign), so submitting twice (a resumed orchestrator) is
idempotent: the second submit finds the job already known to the cluster and re-attaches; a new
campaign that reuses an old one's name never attaches to the old campaign's jobs. The
entrypoint is the same `job_wrapper` the local executor runs (`timeout` deadline counted from when the
wrapper starts, exit code and log in `state_dir/<job_id>/`), so the cluster must see `state_dir` and
the sandboxes at the same paths (a shared filesystem) and have evotrain importable by `python`.
A job is never marked lost while the cluster still knows it: resume asks the cluster by id.
"""

from __future__ import annotations

import secrets
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from evotrain.errors import EvotrainError
from evotrain.io import read_model, write_model
from evotrain.schemas.common import Artifact
from evotrain.schemas.substrate import quantity_bytes
from workers.executors.base import JobSpec, JobState, JobStatus, poll_until_finished
from workers.executors.job_files import (
    CancelRequest,
    JobFiles,
    JobTable,
    JobTableExecutor,
    ProcessRef,
    job_env,
    observe,
    tail_text,
)

# Back-off between submit attempts while the head answers "no available agent ... try again later".
SUBMIT_RETRY_S = (1.0, 2.0, 4.0, 8.0, 15.0)


class RayJobsTable(Artifact):
    """`ray_jobs.json`: this job table's nonce; submission ids are `<job id>-<nonce>`."""

    nonce: str


class RayJobRecord(Artifact):
    """`ray_job.json`: the job was handed to this cluster under this submission id."""

    address: str
    submission_id: str
    submitted_at: float


def entrypoint_options(spec: JobSpec, python: str, job_dir: Path, runtime_env: dict[str, JsonValue],
                       submission_id: str) -> dict[str, Any]:
    """The `JobSubmissionClient.submit_job` arguments for a job (no cluster needed to build them)."""
    env_vars = {**dict(runtime_env.get("env_vars") or {}), **job_env(spec, {})}  # type: ignore[arg-type]
    opts: dict[str, Any] = {
        "entrypoint": shlex.join([python, "-m", "workers.executors.job_wrapper", str(job_dir)]),
        "submission_id": submission_id,
        "entrypoint_num_cpus": spec.cpu_slots,
        "entrypoint_num_gpus": spec.gpus,  # Ray sets CUDA_VISIBLE_DEVICES for the entrypoint
        "runtime_env": {**runtime_env, "env_vars": env_vars},
        "metadata": {k: str(v) for k, v in spec.labels.items()},
    }
    if spec.memory:
        opts["entrypoint_memory"] = quantity_bytes(spec.memory)
    return opts


class RayJobsExecutor(JobTableExecutor):
    name = "ray"

    def __init__(
        self,
        state_dir: Path | str,
        address: str,
        python: str | None = None,
        runtime_env: dict[str, JsonValue] | None = None,
        kill_grace_s: float = 10.0,
        client: Any | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.jobs = JobTable(self.state_dir)
        self.address = address
        # `{python}` in job commands and the wrapper's interpreter on the cluster's nodes
        self.python = python or sys.executable
        self.runtime_env: dict[str, JsonValue] = dict(runtime_env or {})
        self.kill_grace_s = kill_grace_s
        self._client = client
        self._nonce: str | None = None

    def submission_id(self, job_id: str) -> str:
        """The Ray submission id of a job: its id and this job table's nonce (made once, kept on disk)."""
        if self._nonce is None:
            path = self.state_dir / "ray_jobs.json"
            if not path.is_file():
                write_model(path, RayJobsTable(nonce=secrets.token_hex(4)))
            self._nonce = read_model(path, RayJobsTable).nonce
        return f"{job_id}-{self._nonce}"

    @property
    def client(self) -> Any:
        if self._client is None:
            from ray.job_submission import JobSubmissionClient  # the `ray` extra (ray[default] on the cluster)

            try:
                self._client = JobSubmissionClient(self.address)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise EvotrainError(f"ray: cannot reach the Jobs API at {self.address}: {_first_line(exc)}") from exc
        return self._client

    # -- the Executor protocol -------------------------------------------------------------------

    def submit(self, spec: JobSpec) -> JobStatus:
        if not spec.command:
            raise EvotrainError(f"job {spec.job_id}: field 'command': must not be empty")
        if not Path(spec.cwd).is_absolute():
            raise EvotrainError(f"job {spec.job_id}: field 'cwd': {spec.cwd} is not an absolute path")
        files, _ = self.jobs.record(spec)
        self._ensure_submitted(files)
        return self.status(spec.job_id)

    def status(self, job_id: str) -> JobStatus:
        files = self.jobs.known(job_id)
        stored = files.read_status()
        if stored.state.finished:
            return stored
        if not self._record_path(files).is_file():
            self._ensure_submitted(files)  # recorded but not handed over (we died in between)
        current = self._observe(files, stored)
        if current != stored:
            files.write_status(current)
        return current

    def wait(self, job_id: str, poll_s: float = 1.0, timeout_s: float | None = None) -> JobStatus:
        return poll_until_finished(self.status, job_id, max(poll_s, 0.5), timeout_s)  # every call is an HTTP GET

    def logs(self, job_id: str, tail: int | None = 200) -> str:
        files = self.jobs.known(job_id)
        if files.log.is_file():
            return tail_text(files.log, tail)
        try:  # the wrapper never started (e.g. evotrain not importable on the node): Ray's own log says why
            text = str(self.client.get_job_logs(self.submission_id(job_id)))
        except Exception:  # logs are a courtesy; an unreachable cluster has no logs to give
            return ""
        lines = text.splitlines(keepends=True)
        return "".join(lines[-tail:]) if tail is not None else text

    def cancel(self, job_id: str) -> JobStatus:
        files = self.jobs.known(job_id)
        st = self.status(job_id)
        if st.state.finished:
            return st
        write_model(files.cancel, CancelRequest(requested_at=time.time()))
        try:  # SIGTERM to the wrapper (it forwards it to the command's group), SIGKILL after Ray's grace
            self.client.stop_job(self.submission_id(job_id))
        except Exception as exc:
            raise EvotrainError(f"ray: stop job {job_id}: {_first_line(exc)}") from exc
        return poll_until_finished(self.status, job_id, 0.5, self.kill_grace_s + 30.0)

    # -- internals ---------------------------------------------------------------------------------

    @staticmethod
    def _record_path(files: JobFiles) -> Path:
        return files.dir / "ray_job.json"

    def _ensure_submitted(self, files: JobFiles) -> None:
        """Hand the job to the cluster once; a submission id the cluster already knows is re-attached."""
        if self._record_path(files).is_file():
            return
        spec = files.read_spec()
        sid = self.submission_id(spec.job_id)
        opts = entrypoint_options(spec, self.python, files.dir.resolve(), self.runtime_env, sid)
        for delay in (*SUBMIT_RETRY_S, None):
            try:
                self.client.submit_job(**opts)
                break
            except Exception as exc:  # "already exists" comes back as an HTTP 500 in a RuntimeError
                if self._info(sid) is not None:
                    break  # submitted before (by us before a restart, or a retry that did land): re-attach
                if delay is None or "try again" not in str(exc):
                    raise EvotrainError(f"ray: submit job {spec.job_id} to {self.address}: {_first_line(exc)}") from exc
                time.sleep(delay)  # a head whose job agent is not up yet says "please try again later"
        write_model(self._record_path(files),
                    RayJobRecord(address=self.address, submission_id=sid, submitted_at=time.time()))

    def _info(self, job_id: str) -> Any | None:
        """The cluster's JobDetails for the id, or None if it does not know it."""
        try:
            return self.client.get_job_info(job_id)
        except RuntimeError as exc:
            if "does not exist" in str(exc) or "404" in str(exc):
                return None
            raise

    def _observe(self, files: JobFiles, stored: JobStatus) -> JobStatus:
        if files.exit.is_file():  # the wrapper recorded how the command ended: the truth
            return observe(files, stored, launch_grace_s=0.0)
        try:
            info = self._info(self.submission_id(files.job_id))
        except Exception as exc:  # unreachable head: keep the last state, never call a job lost for it
            return stored.model_copy(update={"message": f"ray unreachable: {_first_line(exc)}"})
        now = time.time()
        cancelled = files.cancel.is_file()
        if info is None:
            return stored.model_copy(update={
                "state": JobState.FAILED, "ended_at": now,
                "message": f"lost: the Ray cluster at {self.address} no longer knows this job (cluster restarted?)"})
        ray_state = str(getattr(info.status, "value", info.status))
        if ray_state in {"PENDING"}:
            return stored.model_copy(update={"state": JobState.PENDING, "message": "waiting for Ray resources"})
        if ray_state == "RUNNING":
            pid = files.read_optional(files.pid, ProcessRef)  # the wrapper started: the run clock starts
            started = stored.started_at or (pid.create_time if isinstance(pid, ProcessRef) else None)
            state = JobState.RUNNING if started is not None else JobState.PENDING
            return stored.model_copy(update={"state": state, "started_at": started, "message": ""})
        if files.exit.is_file():  # it ended between the two reads
            return observe(files, stored, launch_grace_s=0.0)
        # ended on the cluster without an exit record: stopped before it started, or the wrapper was killed
        state = JobState.CANCELLED if cancelled else JobState.FAILED
        msg = "cancelled" if cancelled else f"Ray job {ray_state}: {str(info.message or '')[:300]}"
        return stored.model_copy(update={"state": state, "ended_at": now, "message": msg})


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]
