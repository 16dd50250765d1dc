"""The job half of the tool set: validate, smoke-run, launch, poll, logs, results.

Job ids are deterministic (`<campaign>-r001-w03-a1`); the n-th training launch of a (resumed)
conversation re-attaches to the n-th job in the trace when the recipe is the same, so a restarted
worker never trains the same thing twice. Every job state change becomes a trace event.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.paths import job_id_prefix
from evotrain.schemas.brief import Brief
from evotrain.schemas.common import RecipeValues, frozen_key_changes
from evotrain.schemas.manifest import FailureMode
from evotrain.schemas.results import RunResults
from evotrain.schemas.substrate import CommandResources, SubstrateSpec
from evotrain.schemas.trace import TraceEvent
from evotrain.secrets import job_environment, redact_secrets
from workers.checkpoint_choice import macro_mean
from workers.executors.base import Executor, JobSpec, JobState, JobStatus
from workers.isolation import JOB_HOME, Isolation, input_env, isolate
from workers.judge import judge_run
from workers.sandbox import sandbox_bytes, sandbox_diff
from workers.substrate_contract import parse_recipe_text, render_command
from workers.trace import TraceWriter
from workers.worker_state import JobRecord, WorkerState

MAX_TRAIN_JOBS = 3
VALIDATE_TIMEOUT_S = 120.0  # defaults; a substrate's `resources.<command>.timeout_s` replaces them
SMOKE_TIMEOUT_S = 180.0
POLL_INTERVAL_S = 0.25  # how often a local executor's files are re-read inside executor.wait
WAIT_WINDOW_S = 15.0  # one executor.wait call (a Kubernetes watch): state changes reach the trace this often


MAX_DIFF_CHARS = 200_000


def capped_diff(sandbox: Path, commit: str) -> str:
    """The sandbox diff, cut at MAX_DIFF_CHARS (an agent may add large data files)."""
    diff = sandbox_diff(sandbox, commit)
    if len(diff) <= MAX_DIFF_CHARS:
        return diff
    return diff[:MAX_DIFF_CHARS] + f"\n... (diff truncated: {len(diff)} chars in total)\n"


class ToolFailure(Exception):
    """A tool ran but did not succeed (invalid recipe, job failed): reported to the agent."""


@dataclass
class JobContext:
    brief: Brief
    spec: SubstrateSpec
    sandbox: Path
    commit: str
    executor: Executor
    trace: TraceWriter
    state: WorkerState
    deadline: float  # monotonic time at which the worker's wall-clock budget ends
    clock: Callable[[], float] = time.monotonic
    # How this worker's code runs: bwrap-confined to the sandbox (None only where unisolated is allowed).
    isolation: Isolation | None = None
    repo_dir: Path | None = None  # the campaign's substrate repo: the judge checks out the commit from it
    quota_bytes: int = 256 << 20  # everything a worker may write into its sandbox, runs included


def job_env(slots: int) -> dict[str, str]:
    threads = str(slots)
    return {
        "PYTHONDONTWRITEBYTECODE": "1",  # no bytecode caches appearing next to frozen files
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }


class JobTools:
    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.prefix = job_id_prefix(ctx.brief.campaign, ctx.brief.round, ctx.brief.worker_id)
        self._valid_sha = ""  # sha256 of the recipe text that last passed validation
        self._recover(ctx.trace.resumed_events)

    # --- recovery -----------------------------------------------------------------------
    def _recover(self, events: list[TraceEvent]) -> None:
        """Rebuild job records from the trace of an interrupted run of this worker."""
        for event in events:
            args = event.args
            job_id, phase = args.get("job_id"), args.get("phase")
            if event.kind != "job_state" or not isinstance(job_id, str) or job_id in self.ctx.state.jobs:
                continue
            recipe = args.get("recipe")
            self.ctx.state.jobs[job_id] = JobRecord(
                job_id=job_id,
                phase=str(phase),
                out_dir=Path(str(args.get("out_dir", ""))),
                recipe=recipe if isinstance(recipe, dict) else {},  # type: ignore[arg-type]
                recipe_sha256=str(args.get("recipe_sha256", "")),
                recipe_diff=str(args.get("recipe_diff", "")),
                cpu_slots=int(args.get("cpu_slots", 1)),  # type: ignore[arg-type]
                gpus=int(args.get("gpus", 0)),  # type: ignore[arg-type]
            )
            if phase == "smoke":
                self.ctx.state.smoke_runs += 1

    # --- helpers ------------------------------------------------------------------------
    @property
    def recipe_path(self) -> Path:
        return self.ctx.sandbox / self.ctx.spec.recipe_file

    def _recipe(self) -> tuple[str, str]:
        try:
            text = self.recipe_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ToolFailure(f"{self.ctx.spec.recipe_file}: cannot read: {exc.strerror}") from exc
        return text, hashlib.sha256(text.encode()).hexdigest()

    def _render(self, template: list[str], out_dir: Path, job: bool = False) -> list[str]:
        # {python} of a job is the interpreter where the job runs (a remote executor's `python` option,
        # e.g. the image's /opt/venv/bin/python); the validator runs here, with this interpreter.
        python = getattr(self.ctx.executor, "python", None) if job else None
        return render_command(template, recipe=str(self.recipe_path), out=str(out_dir), seed=self.ctx.brief.seed,
                              **({"python": python} if python else {}))

    def _resources(self, phase: str) -> CommandResources:
        res = self.ctx.spec.resources
        return res.smoke if phase == "smoke" else res.train

    def _slots(self, phase: str) -> int:
        return self._resources(phase).cpus or self.ctx.spec.cpu_threads_per_job

    def _timeout(self, phase: str) -> float:
        """The substrate's timeout for the command, capped by the campaign's per-job budget."""
        budget = self.ctx.brief.budget.job_timeout_s
        own = self._resources(phase).timeout_s or (SMOKE_TIMEOUT_S if phase == "smoke" else budget)
        return min(own, budget)

    def _job_spec(self, job_id: str, phase: str, out_dir: Path, command: list[str], timeout: float) -> JobSpec:
        res = self._resources(phase)
        slots = self._slots(phase)
        brief = self.ctx.brief
        return JobSpec(
            job_id=job_id,
            command=command,
            cwd=str(self.ctx.sandbox),
            env={**job_env(slots), **input_env(self.ctx.isolation)},  # where the job reads its data inputs
            isolation=self.ctx.isolation,
            cpu_slots=slots,
            gpus=res.gpus,
            memory=res.memory,
            shm=res.shm,
            image=res.image,
            timeout_s=timeout,
            labels={"campaign": brief.campaign, "round": str(brief.round), "worker": brief.worker_id,
                    "phase": phase},
        )

    def _record_state(self, job: JobRecord, status: JobStatus) -> None:
        first = job.status is None
        changed = first or job.status.state != status.state  # type: ignore[union-attr]
        job.status = status
        if changed:
            args: dict[str, object] = {"job_id": job.job_id, "phase": job.phase, "state": status.state.value,
                                       "exit_code": status.exit_code}
            if first:  # the launch record a resumed worker recovers its jobs from
                args.update(out_dir=str(job.out_dir), recipe=job.recipe, recipe_sha256=job.recipe_sha256,
                            recipe_diff=job.recipe_diff, cpu_slots=job.cpu_slots, gpus=job.gpus)
            self.ctx.trace.emit("job_state", args=args, detail=status.message)
        if status.state.finished:
            self._settle(job)

    def _settle(self, job: JobRecord) -> None:
        """Once a job ends: account its CPU-seconds and classify its outcome."""
        if job.accounted or job.status is None:
            return
        job.accounted = True
        status = job.status
        self.ctx.state.cpu_seconds += status.cpu_seconds_wall * job.cpu_slots
        self.ctx.state.gpu_seconds += status.cpu_seconds_wall * job.gpus  # run time only: queueing is free
        results, problem = None, ""
        try:
            results = read_model(job.out_dir / self.ctx.spec.results_file, RunResults)
        except EvotrainError as exc:
            problem = exc.message
        state = self.ctx.state
        if results is not None and results.nan_loss:
            job.failure = state.fail(FailureMode.NAN_LOSS, f"{job.job_id}: training loss became NaN")
        elif status.state == JobState.TIMEOUT:
            job.failure = state.fail(FailureMode.TIMEOUT, f"{job.job_id}: exceeded its timeout")
        elif status.state in (JobState.FAILED, JobState.CANCELLED):
            last = self._last_log_line(job.job_id)
            job.failure = state.fail(
                FailureMode.CRASH, f"{job.job_id}: {status.state.value} (exit {status.exit_code}): {last}"
            )
        elif job.phase == "train":
            results, problem = self._judged(job, results, problem)
            if results is None or not results.checkpoints:
                job.failure = state.fail(FailureMode.NO_RESULTS, f"{job.job_id}: {problem or 'no checkpoints'}")
        used = sandbox_bytes(self.ctx.sandbox)
        if used > self.ctx.quota_bytes and job.failure is None:
            job.failure = state.fail(FailureMode.SANDBOX_VIOLATION, f"{job.job_id}: sandbox holds {used >> 20} MiB, "
                                     f"over the {self.ctx.quota_bytes >> 20} MiB write quota")
        job.results = results

    def _dev_items(self) -> int | None:
        """The standing recipe's dev_items (a frozen key: a worker cannot change what its run is judged on)."""
        value = self.ctx.brief.standing_recipe.get("dev_items")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def _judged(self, job: JobRecord, results: RunResults | None, problem: str) -> tuple[RunResults | None, str]:
        """The run's results with dev scores from the frozen judge (the run's own are telemetry)."""
        spec, repo = self.ctx.spec, self.ctx.repo_dir
        if results is None or not spec.judge_command or repo is None:
            return results, problem  # no judge in this substrate: the manifest says so (scores_judged)
        iso = self.ctx.isolation
        try:
            report = judge_run(spec, repo, self.ctx.commit, job.out_dir, job.job_id,
                               isolated=iso is not None and iso.kind == "bwrap", threads=job.cpu_slots,
                               inputs=iso.inputs if iso is not None else None, dev_items=self._dev_items())
        except EvotrainError as exc:
            self.ctx.trace.emit("error", args={"job_id": job.job_id}, ok=False, detail=exc.message)
            return None, exc.message
        job.judged = True
        return results.model_copy(update={"checkpoints": report.checkpoints}), problem

    def _last_log_line(self, job_id: str) -> str:
        try:
            lines = [ln for ln in self.ctx.executor.logs(job_id, tail=20).splitlines() if ln.strip()]
        except Exception as exc:  # logs are a courtesy here; never let them mask the failure itself
            return f"(logs unavailable: {type(exc).__name__})"
        return lines[-1][:300] if lines else "(no output)"

    def _wait(self, job: JobRecord, wait_s: float) -> JobStatus:
        """Wait through the executor (a watch on Kubernetes, cheap file reads locally), in windows."""
        end = min(self.ctx.clock() + wait_s, self.ctx.deadline)
        status = self.ctx.executor.status(job.job_id)
        self._record_state(job, status)
        while not status.state.finished and self.ctx.clock() < end:
            window = min(WAIT_WINDOW_S, max(0.01, end - self.ctx.clock()))
            status = self.ctx.executor.wait(job.job_id, poll_s=POLL_INTERVAL_S, timeout_s=window)
            self._record_state(job, status)
        return status

    def _wait_run_time(self, job: JobRecord, run_s: float) -> JobStatus:
        """Wait until the job has *run* `run_s` seconds: time queued for a GPU does not count."""
        status = self._wait(job, run_s)
        while not status.state.finished and self.ctx.clock() < self.ctx.deadline and (
                status.started_at is None or time.time() - status.started_at < run_s):
            status = self._wait(job, WAIT_WINDOW_S)
        return status

    def own_job(self, job_id: str) -> JobRecord:
        job = self.ctx.state.jobs.get(job_id)
        if job is None:
            raise ToolFailure(f"unknown job {job_id!r}; this worker's jobs: {', '.join(self.ctx.state.jobs) or 'none'}")
        if job.status is None:
            status = self.ctx.executor.attach(job_id)
            if status is None:
                raise ToolFailure(f"job {job_id!r} is not known to the executor")
            self._record_state(job, status)
        return job

    # --- tools --------------------------------------------------------------------------
    def validate(self) -> dict[str, object]:
        text, sha = self._recipe()
        if sha == self._valid_sha:  # unchanged since it last passed: skip a subprocess
            return {"valid": True, "message": "unchanged since last validation"}
        try:
            self._check_frozen_keys(parse_recipe_text(text, self.ctx.spec.recipe_file))
            command = self._render(self.ctx.spec.validate_command, self.ctx.sandbox / "runs" / "validate")
            iso = self.ctx.isolation
            home = JOB_HOME if iso is not None and iso.kind == "bwrap" else str(self.ctx.sandbox)
            env = job_environment({**job_env(1), **input_env(iso)}, home=home, python_bin=None)
            proc = subprocess.run(isolate(command, iso, str(self.ctx.sandbox)), cwd=self.ctx.sandbox, env=env,
                                  capture_output=True, text=True,
                                  timeout=self.ctx.spec.resources.validate_.timeout_s or VALIDATE_TIMEOUT_S,
                                  check=False)
        except EvotrainError as exc:
            self.ctx.state.fail(FailureMode.INVALID_RECIPE, exc.message)
            raise ToolFailure(exc.message) from exc
        except subprocess.TimeoutExpired as exc:
            self.ctx.state.fail(FailureMode.INVALID_RECIPE, "validator timed out")
            raise ToolFailure("validator timed out") from exc
        output = redact_secrets(proc.stderr.strip() or proc.stdout.strip()).splitlines()
        message = output[-1][:500] if output else ""
        if proc.returncode != 0:
            self.ctx.state.fail(FailureMode.INVALID_RECIPE, f"recipe invalid: {message}")
            raise ToolFailure(f"recipe invalid (exit {proc.returncode}): {message}")
        self._valid_sha = sha
        return {"valid": True, "message": message}

    def _check_frozen_keys(self, recipe: RecipeValues) -> None:
        """The constitution's frozen recipe keys keep their standing values (validation and launch)."""
        brief = self.ctx.brief
        bad = frozen_key_changes(brief.standing_recipe, recipe, brief.frozen_recipe_keys)
        if bad:
            c = bad[0]
            raise EvotrainError(f"{self.ctx.spec.recipe_file}: field '{c.key}' is frozen by the constitution "
                                f"(standing value {c.old!r}, got {c.new!r})")

    def _new_job(self, job_id: str, phase: str, out_dir: Path) -> JobRecord:
        text, sha = self._recipe()
        return JobRecord(job_id=job_id, phase=phase, out_dir=out_dir,
                         recipe=parse_recipe_text(text, self.ctx.spec.recipe_file), recipe_sha256=sha,
                         recipe_diff=capped_diff(self.ctx.sandbox, self.ctx.commit),
                         cpu_slots=self._slots(phase), gpus=self._resources(phase).gpus)

    def smoke(self) -> dict[str, object]:
        self.validate()
        self.ctx.state.smoke_runs += 1
        job_id = f"{self.prefix}-s{self.ctx.state.smoke_runs}"
        job = self._new_job(job_id, "smoke", self.ctx.sandbox / "runs" / f"s{self.ctx.state.smoke_runs}")
        timeout = self._timeout("smoke")
        command = [*self._render(self.ctx.spec.run_command, job.out_dir, job=True), "--smoke"]
        self.ctx.state.jobs[job_id] = job
        self._record_state(job, self.ctx.executor.submit(self._job_spec(job_id, "smoke", job.out_dir, command,
                                                                         timeout)))
        status = self._wait_run_time(job, timeout + 30.0)
        if not status.state.finished:
            self._record_state(job, self.ctx.executor.cancel(job_id))
            raise ToolFailure(f"smoke run {job_id} did not finish in time; cancelled")
        if job.failure is not None:
            raise ToolFailure(f"smoke run failed: {job.failure.message}; read_job_logs job_id={job_id}")
        return {"job_id": job_id, "state": status.state.value, "seconds": round(status.cpu_seconds_wall, 2)}

    def launch(self, note: str) -> dict[str, object]:
        self.validate()
        state = self.ctx.state
        _, sha = self._recipe()
        known = [job.job_id for job in state.train_jobs()]
        state.train_launches += 1
        nth = state.train_launches
        if nth <= len(known) and state.jobs[known[nth - 1]].recipe_sha256 == sha:
            job = state.jobs[known[nth - 1]]  # re-attach after a restart: same launch, same recipe
            reattached = True
        else:
            if len(known) >= MAX_TRAIN_JOBS:
                raise ToolFailure(f"training attempt limit reached ({MAX_TRAIN_JOBS} jobs)")
            n = len(known) + 1
            job = self._new_job(f"{self.prefix}-a{n}", "train", self.ctx.sandbox / "runs" / f"a{n}")
            state.jobs[job.job_id] = job
            reattached = False
        command = self._render(self.ctx.spec.run_command, job.out_dir, job=True)
        spec = self._job_spec(job.job_id, "train", job.out_dir, command, self._timeout("train"))
        self._record_state(job, self.ctx.executor.submit(spec))
        return {"job_id": job.job_id, "state": job.status.state.value if job.status else "unknown",
                "reattached": reattached, "note": note}

    def poll(self, job_id: str, wait_s: float) -> dict[str, object]:
        job = self.own_job(job_id)
        status = self._wait(job, wait_s)
        out: dict[str, object] = {"job_id": job_id, "state": status.state.value, "exit_code": status.exit_code}
        if job.failure is not None:
            out["failure"] = {"mode": job.failure.mode.value, "message": job.failure.message}
        return out

    def logs(self, job_id: str, tail: int) -> str:
        self.own_job(job_id)
        return redact_secrets(self.ctx.executor.logs(job_id, tail=tail))

    def results(self, job_id: str) -> dict[str, object]:
        job = self.own_job(job_id)
        if job.status is None or not job.status.state.finished:
            raise ToolFailure(f"job {job_id} has not finished (state {job.status.state.value if job.status else '?'})")
        out: dict[str, object] = {"job_id": job_id, "state": job.status.state.value}
        if job.failure is not None:
            out["failure"] = {"mode": job.failure.mode.value, "message": job.failure.message}
        res = job.results
        if res is not None:
            out.update(steps=res.steps, final_loss=res.final_loss, nan_loss=res.nan_loss, checkpoints=[
                {"step": c.step, "overall": c.overall, "macro": round(macro_mean(c), 6), "by_family": c.by_family}
                for c in res.checkpoints
            ])
        return out

    def cancel_unfinished(self) -> None:
        for job in self.ctx.state.jobs.values():
            if job.status is not None and not job.status.state.finished:
                try:
                    self._record_state(job, self.ctx.executor.cancel(job.job_id))
                except Exception as exc:  # best effort on the way out; recorded, never raised
                    self.ctx.trace.emit("error", args={"job_id": job.job_id}, ok=False,
                                        detail=f"cancel failed: {type(exc).__name__}: {exc}")
