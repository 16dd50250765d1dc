"""What one worker run has learned so far: its jobs, their results, its failures, its choice.

Plain in-memory state; the durable record is the trace (and, at the end, the manifest).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from evotrain.schemas.common import RecipeValues
from evotrain.schemas.manifest import Failure, FailureMode
from evotrain.schemas.results import RunResults
from workers.executors.base import JobStatus


@dataclass
class JobRecord:
    job_id: str
    phase: str  # "train" or "smoke"
    out_dir: Path
    recipe: RecipeValues
    recipe_sha256: str
    recipe_diff: str
    cpu_slots: int
    gpus: int = 0
    status: JobStatus | None = None
    results: RunResults | None = None
    failure: Failure | None = None
    accounted: bool = False  # CPU-seconds added to the cost once the job ended
    judged: bool = False  # dev scores came from the frozen judge, not from the run itself


@dataclass
class Choice:
    job_id: str | None
    step: int | None
    rationale: str


@dataclass
class WorkerState:
    jobs: dict[str, JobRecord] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    cpu_seconds: float = 0.0
    gpu_seconds: float = 0.0  # wall seconds x GPUs of every finished job
    train_launches: int = 0  # launches in this conversation (maps to deterministic job ids)
    smoke_runs: int = 0
    consecutive_invalid: int = 0
    invalid_total: int = 0
    refusals: int = 0
    bytes_written: int = 0  # chars written through write/patch tools (a per-worker quota)
    finished: Choice | None = None

    def fail(self, mode: FailureMode, message: str) -> Failure:
        failure = Failure(mode=mode, message=message[:500])
        self.failures.append(failure)
        return failure

    def train_jobs(self) -> list[JobRecord]:
        return [job for job in self.jobs.values() if job.phase == "train"]
