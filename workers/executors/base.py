"""The executor seam: submit, status, logs, cancel, re-attach. One backend per module."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from typing import Protocol

from pydantic import Field

from evotrain.schemas.common import Artifact
from workers.isolation import Isolation


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in {JobState.SUCCEEDED, JobState.FAILED, JobState.TIMEOUT, JobState.CANCELLED}


class JobSpec(Artifact):
    """One job: a command run in a working directory (a sandbox), with resources and a timeout.

    `job_id` is chosen by the caller and is deterministic (campaign/round/worker/attempt), so a
    restarted orchestrator that submits the same spec again re-attaches instead of starting twice.
    """

    job_id: str
    command: list[str]
    cwd: str
    env: dict[str, str] = Field(default_factory=dict)
    cpu_slots: int = Field(default=1, ge=1)
    gpus: int = Field(default=0, ge=0)
    timeout_s: float = Field(default=600.0, gt=0)  # counted from when the command starts, never from submit
    labels: dict[str, str] = Field(default_factory=dict)
    memory: str | None = None  # a quantity (16Gi): Kubernetes request = limit, Ray `memory`; not enforced locally
    shm: str | None = None  # /dev/shm size (Kubernetes memory-backed emptyDir)
    image: str | None = None  # overrides the executor's image (Kubernetes)
    # How the local/Ray wrapper confines the command (None: not confined; Kubernetes uses the pod spec).
    isolation: Isolation | None = None


class JobStatus(Artifact):
    job_id: str
    state: JobState
    exit_code: int | None = None
    submitted_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    message: str = ""

    @property
    def cpu_seconds_wall(self) -> float:
        if self.started_at is None:
            return 0.0
        end = self.ended_at if self.ended_at is not None else self.started_at
        return max(0.0, end - self.started_at)


class Executor(Protocol):
    name: str

    def submit(self, spec: JobSpec) -> JobStatus:
        """Start the job, or, if a job with this id is known, return its status (idempotent)."""
        ...

    def status(self, job_id: str) -> JobStatus: ...

    def wait(self, job_id: str, poll_s: float = 1.0, timeout_s: float | None = None) -> JobStatus: ...

    def logs(self, job_id: str, tail: int | None = 200) -> str: ...

    def cancel(self, job_id: str) -> JobStatus: ...

    def attach(self, job_id: str) -> JobStatus | None:
        """Re-attach after an orchestrator restart: the job's status, or None if never submitted."""
        ...


def poll_until_finished(status: Callable[[str], JobStatus], job_id: str, poll_s: float,
                        timeout_s: float | None) -> JobStatus:
    """Block until the job ends; on `timeout_s` return its (unfinished) status, never raise."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        st = status(job_id)
        if st.state.finished or (deadline is not None and time.monotonic() >= deadline):
            return st
        time.sleep(poll_s)
