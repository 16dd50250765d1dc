"""Scores a job reports about itself are telemetry; the judge's are evidence.

After a training job ends, the substrate's frozen `judge_command` runs from a verified read-only
checkout of the recorded substrate commit, in its own isolated process that can read only that
checkout and the run's folder and write only its report. Its JudgeReport replaces whatever the
run's results.json claimed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.paths import judge_root
from evotrain.schemas.results import JudgeReport
from evotrain.schemas.substrate import SubstrateSpec
from evotrain.secrets import job_environment, redact_secrets
from workers.isolation import JOB_HOME, Isolation, isolate
from workers.substrate_contract import render_command
from workers.verified_checkout import verified_checkout

JUDGE_TIMEOUT_S = 1800.0


def judge_dirs(repo_dir: Path) -> tuple[Path, Path]:
    """(checkouts, reports) for the campaign whose substrate repo is `repo_dir` (campaigns/<c>/substrate.git)."""
    root = judge_root(Path(repo_dir).parent)
    return root / "checkouts", root / "reports"


def judge_run(spec: SubstrateSpec, repo_dir: Path, commit: str, run_dir: Path, job_id: str, *,
              isolated: bool, threads: int = 1, timeout_s: float = JUDGE_TIMEOUT_S) -> JudgeReport:
    """Score every checkpoint of `run_dir` with the frozen judge; raise EvotrainError if it cannot."""
    checkouts, reports = judge_dirs(repo_dir)
    checkout = verified_checkout(repo_dir, commit, checkouts)
    out_dir = reports / job_id
    out_dir.mkdir(parents=True, exist_ok=True)
    report = out_dir / "judge.json"
    report.unlink(missing_ok=True)
    command = render_command(spec.judge_command, run=str(run_dir.resolve()), report=str(report))
    iso = Isolation(kind="bwrap" if isolated else "none", writable=[str(out_dir)],
                    extra_readonly=[str(checkout), str(run_dir.resolve())])
    env = job_environment({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
                           "EVOTRAIN_THREADS": str(threads), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
                          home=JOB_HOME if isolated else str(out_dir), python_bin=None)
    try:
        proc = subprocess.run(isolate(command, iso, str(checkout)), cwd=checkout, env=env, capture_output=True,
                              text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise EvotrainError(f"judge of {job_id}: timed out after {timeout_s:.0f}s") from exc
    (out_dir / "judge.log").write_text(redact_secrets(proc.stdout + proc.stderr), encoding="utf-8")
    if proc.returncode != 0:
        lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines() or [f"exit {proc.returncode}"]
        raise EvotrainError(f"judge of {job_id}: {redact_secrets(lines[-1])[:300]}")
    verified_checkout(repo_dir, commit, checkouts)  # still the recorded substrate after the run
    return read_model(report, JudgeReport)
