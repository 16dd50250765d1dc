"""Scores a job reports about itself are telemetry; the judge's are evidence.

After a training job ends, the substrate's frozen `judge_command` runs from a verified read-only
checkout of the recorded substrate commit, in its own isolated process that can read only that
checkout and the run's folder and write only its report. Its JudgeReport replaces whatever the
run's results.json claimed.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import time
from pathlib import Path

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.paths import JUDGE_INTERVAL, judge_root
from evotrain.schemas.results import JudgeReport
from evotrain.schemas.substrate import SubstrateSpec
from evotrain.secrets import job_environment, redact_secrets
from workers.isolation import JOB_HOME, Isolation, input_env, isolate
from workers.substrate_contract import render_command
from workers.verified_checkout import verified_checkout

JUDGE_TIMEOUT_S = 1800.0
MAX_CHECKPOINT_DIRS = 64
MAX_ADAPTER_FILE_BYTES = 8 << 30  # a rank-32 adapter of a 30B model is 1-3.5 GB


def judge_dirs(repo_dir: Path) -> tuple[Path, Path]:
    """(checkouts, reports) for the campaign whose substrate repo is `repo_dir` (campaigns/<c>/substrate.git)."""
    root = judge_root(Path(repo_dir).parent)
    return root / "checkouts", root / "reports"


def snapshot_checkpoints(run_dir: Path, dest: Path) -> int:
    """Copy the run's checkpoint folders (real folders and regular files only) out of the sandbox.

    The judge scores the copies and the manifest points at them, so the bytes that were judged are
    the bytes that get chosen and submitted, whatever the worker's later jobs do to its run folder.
    """
    if dest.exists():
        shutil.rmtree(dest)
    src = run_dir / "checkpoints"
    (dest / "checkpoints").mkdir(parents=True)
    if src.is_symlink() or not src.is_dir():
        return 0
    n = 0
    root = run_dir.resolve()
    for entry in sorted(src.iterdir())[:MAX_CHECKPOINT_DIRS]:
        if entry.is_symlink() or not entry.is_dir() or not entry.resolve().is_relative_to(root):
            continue
        target = dest / "checkpoints" / entry.name
        target.mkdir()
        for f in entry.iterdir():
            st = f.lstat()
            if stat.S_ISREG(st.st_mode) and st.st_nlink == 1 and st.st_size <= MAX_ADAPTER_FILE_BYTES:
                shutil.copyfile(f, target / f.name, follow_symlinks=False)
        n += 1
    return n


def judge_run(spec: SubstrateSpec, repo_dir: Path, commit: str, run_dir: Path, job_id: str, *,
              isolated: bool, threads: int = 1, timeout_s: float = JUDGE_TIMEOUT_S,
              inputs: dict[str, str] | None = None, dev_items: int | None = None) -> JudgeReport:
    """Score every checkpoint of `run_dir` with the frozen judge; raise EvotrainError if it cannot.

    The returned report's adapter_dir values are absolute paths of the judged copies.
    """
    checkouts, reports = judge_dirs(repo_dir)
    checkout = verified_checkout(repo_dir, commit, checkouts)
    out_dir = reports / job_id
    out_dir.mkdir(parents=True, exist_ok=True)
    judged_run = out_dir / "run"
    snapshot_checkpoints(run_dir, judged_run)
    report = out_dir / "judge.json"
    report.unlink(missing_ok=True)
    # dev_items: the campaign's frozen value (standing recipe), so a campaign that sets it is judged on it
    command = render_command(spec.judge_command, run=str(judged_run), report=str(report), dev_items=dev_items)
    iso = Isolation(kind="bwrap" if isolated else "none", writable=[str(out_dir)],
                    extra_readonly=[str(checkout)], inputs=dict(inputs or {}))  # inputs: the worker-visible data
    env = job_environment({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
                           "EVOTRAIN_THREADS": str(threads), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                           **input_env(iso)},
                          home=JOB_HOME if isolated else str(out_dir), python_bin=None)
    started = time.time()
    try:
        proc = subprocess.run(isolate(command, iso, str(checkout)), cwd=checkout, env=env, capture_output=True,
                              text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise EvotrainError(f"judge of {job_id}: timed out after {timeout_s:.0f}s") from exc
    finally:  # evaluation time, not orchestration overhead (campaign accounting reads it)
        (out_dir / JUDGE_INTERVAL).write_text(json.dumps({"started": started, "ended": time.time()}), encoding="utf-8")
    (out_dir / "judge.log").write_text(redact_secrets(proc.stdout + proc.stderr), encoding="utf-8")
    if proc.returncode != 0:
        lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines() or [f"exit {proc.returncode}"]
        raise EvotrainError(f"judge of {job_id}: {redact_secrets(lines[-1])[:300]}")
    verified_checkout(repo_dir, commit, checkouts)  # still the recorded substrate after the run
    judged = read_model(report, JudgeReport)
    absolute = [c.model_copy(update={"adapter_dir": str((judged_run / c.adapter_dir).resolve())})
                for c in judged.checkpoints
                if (judged_run / c.adapter_dir).resolve().is_relative_to(judged_run.resolve())]
    return judged.model_copy(update={"checkpoints": absolute})
