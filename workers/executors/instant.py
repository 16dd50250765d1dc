"""A fake executor for benchmarks and tests ONLY: every job completes at submit, in-process.

It isolates the orchestrator's own cost (benchmarks/scale.py): no process start, no queue, no
polling wait. The job's work is a callable (`complete(spec) -> exit code`), e.g. the noop
substrate's `noop_task.job.run_in_process`, which writes the results a real run would. Not a
`kind` of `make_executor`, so no campaign config can select it; a caller passes it to
`run_campaign(..., executor=...)`.

The job table is the same on-disk `JobTable` the real executors keep (spec.json, status.json,
job.log), so accounting reads it and a resumed orchestrator re-attaches instead of re-running.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path

from workers.executors.base import JobSpec, JobState, JobStatus
from workers.executors.job_files import JobTable, JobTableExecutor

CompleteFn = Callable[[JobSpec], int]


class InstantExecutor(JobTableExecutor):
    name = "instant"

    def __init__(self, state_dir: Path | str, complete: CompleteFn) -> None:
        self.jobs = JobTable(state_dir)
        self.complete = complete
        self.submitted = 0  # jobs this instance actually ran (tests count re-runs with it)

    def submit(self, spec: JobSpec) -> JobStatus:
        files, new = self.jobs.record(spec)
        if not new:
            return files.read_status()
        started = time.time()
        try:
            code, message = self.complete(spec), ""
        except Exception as exc:  # a broken job is a failed job, as with a real executor
            code, message = 1, f"{type(exc).__name__}: {exc}"
            files.log.write_text(traceback.format_exc(), encoding="utf-8")
        self.submitted += 1
        state = JobState.SUCCEEDED if code == 0 else JobState.FAILED
        status = files.read_status().model_copy(update={
            "state": state, "exit_code": code, "started_at": started, "ended_at": time.time(),
            "message": message or ("" if code == 0 else f"exit code {code}")})
        return files.write_status(status)

    def status(self, job_id: str) -> JobStatus:
        return self.jobs.known(job_id).read_status()

    def wait(self, job_id: str, poll_s: float = 1.0, timeout_s: float | None = None) -> JobStatus:
        return self.status(job_id)  # every job has ended by the time submit returns

    def cancel(self, job_id: str) -> JobStatus:
        return self.status(job_id)


def substrate_completer(substrate_dir: Path | str, module: str = "noop_task.job",
                        function: str = "run_in_process") -> CompleteFn:
    """`complete` running a substrate's in-process job entry point on the run command's arguments
    (everything after `python run.py`). The canonical substrate's copy is imported once."""
    import importlib
    import sys

    folder = str(Path(substrate_dir).resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    entry: Callable[[list[str]], int] = getattr(importlib.import_module(module), function)

    def complete(spec: JobSpec) -> int:
        return entry(list(spec.command[2:]))

    return complete
