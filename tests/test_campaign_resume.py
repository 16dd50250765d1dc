"""Crash safety: SIGKILL the orchestrator at six points of one campaign, resume each time, and end
with exactly what an uninterrupted run with the same seeds produces (slow: real training jobs)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from evotrain.schemas.manifest import Manifest
from evotrain.schemas.policy import Policy
from evotrain.schemas.report import RoundReport

REPO = Path(__file__).resolve().parents[1]
ROUNDS, WORKERS = 2, 2
TINY = {"max_steps": 8, "save_steps": [4, 8], "num_train_examples": 128, "dev_items": 36, "batch_size": 8,
        "warmup_steps": 2}
pytestmark = pytest.mark.slow


def workspace(root: Path, name: str) -> Path:
    root.mkdir(parents=True)
    (root / "substrate").symlink_to(REPO / "substrate")
    (root / "constitution").symlink_to(REPO / "constitution")
    cfg = {"name": name, "rounds": ROUNDS, "workers_per_round": WORKERS, "seed": 3, "recipe_overrides": TINY,
           "leaderboard": {"split_items": 30, "submissions_per_round": 2}}
    (root / "c.yaml").write_text(yaml.safe_dump(cfg))
    return root


def launch(ws: Path, *args: str, kill_at: str | None = None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "EVOTRAIN_KILL_AT"}
    if kill_at:
        env["EVOTRAIN_KILL_AT"] = kill_at
    return subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "campaign", *args, "--quiet"], cwd=ws, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str], timeout: float = 600) -> tuple[int, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + err


def kill_when_training(ws: Path, name: str, proc: subprocess.Popen[str]) -> None:
    """Wait for a real training job (not a smoke run) to be running, then kill -9 the orchestrator."""
    deadline = time.time() + 300
    while time.time() < deadline:
        for status in (ws / "campaigns" / name / "jobs").glob(f"{name}-r*-a*/status.json"):
            if json.loads(status.read_text())["state"] == "running":
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                return
        assert proc.poll() is None, "orchestrator ended before a training job ran"
        time.sleep(0.2)
    raise AssertionError("no training job started within 300 s")


def comparable(policy: Policy) -> dict[str, object]:
    return policy.model_dump(mode="json", exclude={"campaign"})


def test_kill_minus_9_at_six_points_then_resume_matches_uninterrupted(tmp_path: Path) -> None:
    ref_ws = workspace(tmp_path / "ref", "ref")
    ws = workspace(tmp_path / "crash", "crash")

    # uninterrupted reference, and a second orchestrator on the same campaign is refused meanwhile
    ref = launch(ref_ws, "start", "c.yaml")
    while not (ref_ws / "campaigns" / "ref" / "checkpoints.sqlite").exists() and ref.poll() is None:
        time.sleep(0.2)
    again = subprocess.run([sys.executable, "-m", "orchestrator.cli", "campaign", "start", "c.yaml"], cwd=ref_ws,
                           capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 2 and "already exists" in again.stderr
    second = subprocess.run([sys.executable, "-m", "orchestrator.cli", "campaign", "resume", "ref"], cwd=ref_ws,
                            capture_output=True, text=True, timeout=60, check=False)
    assert second.returncode == 2 and "already being run by another orchestrator" in second.stderr

    # the same campaign, killed at six points (the reference runs meanwhile: separate workspaces, and
    # most of either's wall time is waiting on job processes)
    code, out = finish(launch(ws, "start", "c.yaml", kill_at="fork:r1"))
    assert code == -signal.SIGKILL, out
    assert (ws / "sandboxes" / "crash" / "r001" / "w01").exists()  # killed while forking
    proc = launch(ws, "resume", "crash")
    kill_when_training(ws, "crash", proc)  # mid training
    for point in ("collect:r1", "meta:r1", "between_rounds:r1", "collect:r2"):
        code, out = finish(launch(ws, "resume", "crash", kill_at=point))
        assert code == -signal.SIGKILL, f"{point}: {out}"
    code, out = finish(launch(ws, "resume", "crash"))
    assert code == 0, out
    code, out = finish(ref)
    assert code == 0, out

    state = ws / "campaigns" / "crash"
    manifests = [Manifest.model_validate_json(p.read_text()) for p in sorted(state.glob("rounds/r*/manifests/*.json"))]
    assert len(manifests) == ROUNDS * WORKERS and all(m.status == "ok" for m in manifests)
    job_ids = [j for m in manifests for j in m.job_ids]
    assert len(job_ids) == len(set(job_ids))
    trained = {m.worker_id: [j for j in m.job_ids if j.split("-")[-1].startswith("a")] for m in manifests}
    assert all(len(ids) == 1 for ids in trained.values()), trained  # one training job each, none lost to a kill
    launched = sorted(p.parent.name for p in (state / "jobs").glob("*/launch.json"))
    assert launched == sorted(set(launched)) and all(len(list(p.parent.glob("launch.json"))) == 1
                                                     for p in (state / "jobs").glob("*/launch.json"))
    for r in range(1, ROUNDS + 1):
        RoundReport.model_validate_json((ws / "reports" / "crash" / f"round-{r:03d}.json").read_text())
    policies = {r: Policy.model_validate_json((ws / "policies" / "crash" / f"round-{r:03d}.json").read_text())
                for r in range(1, ROUNDS + 2)}
    ref_final = Policy.model_validate_json((ref_ws / "policies" / "ref" / f"round-{ROUNDS + 1:03d}.json").read_text())
    assert comparable(policies[ROUNDS + 1]) == comparable(ref_final)
    verify = subprocess.run([sys.executable, "-m", "orchestrator.cli", "audit", "verify", "--campaign", "crash"],
                            cwd=ws, capture_output=True, text=True, timeout=60, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
