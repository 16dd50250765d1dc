"""Leaderboard scoring as a job on the campaign's executor (a GPU node when the substrate asks for one).

The local leaderboard scores an adapter with the substrate's frozen `evaluate_command`, run from the
verified read-only checkout of the recorded substrate commit. On a cluster that command needs the
substrate's `resources.evaluate` (GPUs, memory, /dev/shm, image, timeout), so here it goes through the
campaign's executor as a JobSpec instead of a subprocess on the orchestrator host, with the same
guarantees as the host path and the judge:
- cwd = the verified checkout (re-verified by the leaderboard before and after the job);
- the job sees read-only only the checkout, the adapter and the one split half it scores, and writes
  only its own output folder: bubblewrap on local and Ray nodes (the job wrapper applies
  `JobSpec.isolation`); on Kubernetes the pod mounts exactly these paths of the workspace volume
  (workers/executors/k8s_manifest.py `_confined_mounts`), never the whole volume;
- worker jobs never see the split: their isolation (bwrap, or pod mounts) shows only their sandbox.
Job ids are deterministic (campaign, submission, half, adapter hash, attempt), so a resumed collector
re-attaches to a running or finished evaluation instead of scoring twice; a failed earlier attempt is
retried under the next attempt id.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.paths import CampaignPaths
from evotrain.schemas.results import EvalReport
from evotrain.schemas.substrate import CommandResources
from orchestrator.config import CampaignConfig
from workers.executors.base import Executor, JobSpec, JobState, JobStatus
from workers.isolation import Isolation, input_env
from workers.substrate_contract import load_spec, render_command

REPORT_NAME = "report.json"
DEFAULT_EVAL_TIMEOUT_S = 900.0


class ExecutorEvaluation:
    """Runs `evaluate_command` for the local leaderboard as an executor job and returns its EvalReport."""

    def __init__(self, executor: Executor | Callable[[], Executor], *, campaign: str, resources: CommandResources,
                 cpu_threads: int, isolation: Literal["bwrap", "none"], timeout_s: float | None = None,
                 poll_s: float = 5.0, max_attempts: int = 3, inputs: dict[str, str] | None = None) -> None:
        # a campaign hands a getter: its executor is created lazily, under a lock the board's creation holds
        self._executor = executor
        self.campaign = campaign
        self.resources = resources
        self.cpu_slots = resources.cpus or cpu_threads
        self.isolation = isolation
        self.timeout_s = resources.timeout_s or timeout_s or DEFAULT_EVAL_TIMEOUT_S
        self.poll_s = poll_s
        self.max_attempts = max_attempts
        self.inputs = dict(inputs or {})  # the substrate's user-given inputs (whole files), bound read-only

    @property
    def executor(self) -> Executor:
        return self._executor if hasattr(self._executor, "submit") else self._executor()  # type: ignore[operator,return-value]

    def _python(self) -> dict[str, str]:
        # `{python}` is the interpreter where the job runs (the image's on Kubernetes / Ray Jobs)
        python = getattr(self.executor, "python", None)
        return {"python": str(python)} if python else {}

    def _spec(self, job_id: str, command: list[str], checkout: Path, out_dir: Path, readonly: list[Path],
              round_no: int) -> JobSpec:
        slots = str(self.cpu_slots)
        env = {"PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": slots, "MKL_NUM_THREADS": slots,
               "EVOTRAIN_THREADS": slots, "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1",
               "TRANSFORMERS_OFFLINE": "1"}
        if self.isolation == "none":  # unconfined, HOME would be the read-only checkout: give it the output
            env["HOME"] = str(out_dir)
        iso = Isolation(kind=self.isolation, writable=[str(out_dir)],
                        extra_readonly=[str(checkout), *map(str, readonly)], inputs=self.inputs)
        env.update(input_env(iso))
        res = self.resources
        return JobSpec(job_id=job_id, command=command, cwd=str(checkout), env=env, cpu_slots=self.cpu_slots,
                       gpus=res.gpus, memory=res.memory, shm=res.shm, image=res.image, timeout_s=self.timeout_s,
                       isolation=iso, labels={"campaign": self.campaign, "round": str(round_no),
                                              "worker": "leaderboard", "phase": "evaluate"})

    def _attempt(self, base: str) -> tuple[str, JobStatus | None]:
        """The first attempt id that is unknown, running or succeeded (earlier failures get a new id)."""
        last: JobStatus | None = None
        for n in range(1, self.max_attempts + 1):
            job_id = f"{base}-a{n}"
            status = self.executor.attach(job_id)
            if status is None or not status.state.finished or status.state == JobState.SUCCEEDED:
                return job_id, status
            last = status
        assert last is not None
        raise EvotrainError(f"leaderboard: evaluation {base}: {self.max_attempts} attempts failed; last: "
                            f"{last.state.value} {last.message}".strip())

    def base_id(self, key: str, adapter_dir: Path) -> str:
        """The evaluation's job id without its attempt suffix (adapter path hashed: ids stay short)."""
        return f"{self.campaign}-lb-{key}-{hashlib.sha256(str(adapter_dir).encode()).hexdigest()[:8]}"

    def build(self, job_id: str, *, template: list[str], checkout: Path, adapter_dir: Path, items: Path,
              out_root: Path, round_no: int) -> JobSpec:
        """The JobSpec of one evaluation; its report goes to `<out_root>/<job_id>/report.json`."""
        out_dir = (out_root / job_id).resolve()
        command = render_command(template, adapter=str(adapter_dir), items=str(items),
                                 report=str(out_dir / REPORT_NAME), **self._python())
        return self._spec(job_id, command, checkout, out_dir, [adapter_dir, items], round_no)

    def evaluate(self, *, template: list[str], checkout: Path, adapter_dir: Path, items: Path, out_root: Path,
                 key: str, round_no: int, what: str) -> EvalReport:
        """Score `adapter_dir` on `items` as a job; `key` names the evaluation (submission id + half)."""
        job_id, status = self._attempt(self.base_id(key, adapter_dir))
        spec = self.build(job_id, template=template, checkout=checkout, adapter_dir=adapter_dir, items=items,
                          out_root=out_root, round_no=round_no)
        out_dir = (out_root / job_id).resolve()
        report = out_dir / REPORT_NAME
        if status is None:  # a new job: start from an empty output folder
            shutil.rmtree(out_dir, ignore_errors=True)
            out_dir.mkdir(parents=True)
            status = self.executor.submit(spec)
        if not status.state.finished:
            status = self.executor.wait(job_id, poll_s=self.poll_s)
        if status.state != JobState.SUCCEEDED:
            tail = (self.executor.logs(job_id, tail=5).strip().splitlines() or [status.message or "(no log)"])[-1]
            raise EvotrainError(f"leaderboard: {what} job {job_id} {status.state.value} "
                                f"(exit {status.exit_code}): {tail[:300]}")
        if not report.is_file():
            raise EvotrainError(f"leaderboard: {what} job {job_id} wrote no report at {report}")
        return read_model(report, EvalReport)


def evaluation_for(config: CampaignConfig, executor: Callable[[], Executor], substrate_dir: Path,
                   isolation: Literal["bwrap", "none"],
                   inputs: dict[str, str] | None = None) -> ExecutorEvaluation | None:
    """The campaign's executor-run evaluation, or None to score on the orchestrator host.

    `leaderboard.evaluate_on`: host | executor | auto (= executor unless the campaign's executor is local,
    whose host path is the tested and measured default)."""
    where = config.leaderboard.evaluate_on
    if config.leaderboard.kind != "local" or where == "host" or (where == "auto" and config.executor.kind == "local"):
        return None
    spec = load_spec(substrate_dir)
    return ExecutorEvaluation(executor, campaign=config.name, resources=spec.resources.evaluate,
                              cpu_threads=spec.cpu_threads_per_job, isolation=isolation, inputs=inputs)


class _Interpreter:
    """Stands in for an executor in a dry run: only its `python` is read."""

    def __init__(self, python: str) -> None:
        self.python = python


def preview_job(config: CampaignConfig, paths: CampaignPaths, substrate_dir: Path, python: str,
                isolation: Literal["bwrap", "none"]) -> JobSpec | None:
    """Round 1's first public-half evaluation job as the campaign would send it (`campaign start --dry-run`),
    or None when scoring stays on the host. SUBSTRATE_COMMIT and CHOSEN_CHECKPOINT stand for what exists
    only once the campaign runs (the snapshot's commit, the judged checkpoint the worker chose)."""
    ev = evaluation_for(config, lambda: _Interpreter(python), substrate_dir, isolation)  # type: ignore[arg-type,return-value]
    if ev is None:
        return None
    adapter = paths.judge / "reports" / f"{config.name}-r001-w01-a1" / "run" / "checkpoints" / "CHOSEN_CHECKPOINT"
    return ev.build(f"{ev.base_id('r001-00001-public', adapter)}-a1",
                    template=load_spec(substrate_dir).evaluate_command,
                    checkout=paths.judge / "checkouts" / "SUBSTRATE_COMMIT", adapter_dir=adapter,
                    items=paths.leaderboard / "split" / "public.jsonl", out_root=paths.leaderboard / "eval-jobs",
                    round_no=1)
