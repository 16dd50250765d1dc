"""The load-test pieces of issue #17: the noop substrate honours the contract, the instant executor
runs a job once, and a small simulated campaign survives kill -9 with every candidate exactly once."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evotrain.io import read_model
from evotrain.schemas.manifest import Manifest
from evotrain.schemas.results import EvalReport, RunResults
from orchestrator.leaderboard.package import SubmissionConfig, package_adapter, validate_package
from workers.executors.base import JobSpec, JobState
from workers.executors.instant import InstantExecutor
from workers.substrate_contract import load_spec

REPO = Path(__file__).resolve().parents[1]
NOOP = REPO / "substrate" / "noop"
sys.path.insert(0, str(REPO / "benchmarks"))

import scale_harness as harness  # noqa: E402


def noop(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, script, *args], cwd=NOOP, capture_output=True, text=True, timeout=120,
                          check=False)


def test_noop_is_never_the_default_and_declares_the_contract() -> None:
    from orchestrator.config import CampaignConfig

    assert CampaignConfig(name="x").substrate == "substrate/default"
    spec = load_spec(NOOP)
    assert spec.name == "noop" and spec.editable == ["recipe.yaml", "train.py"]
    for name in ("run.py", "validate.py", "evaluate.py", "generate_items.py", "noop_task/**"):
        assert name in spec.frozen


def test_noop_run_is_seeded_by_the_recipe_and_writes_valid_adapters(tmp_path: Path) -> None:
    changed = tmp_path / "changed.yaml"
    changed.write_text((NOOP / "recipe.yaml").read_text().replace("lora_r: 8", "lora_r: 16"))
    runs = {}
    for label, recipe, seed in (("a", "recipe.yaml", "3"), ("b", "recipe.yaml", "3"), ("c", str(changed), "3")):
        proc = noop("run.py", "--recipe", recipe, "--out", str(tmp_path / label), "--seed", seed)
        assert proc.returncode == 0, proc.stderr
        runs[label] = read_model(tmp_path / label / "results.json", RunResults)
    assert [c.step for c in runs["a"].checkpoints] == [50, 100]
    assert runs["a"].checkpoints == runs["b"].checkpoints  # same recipe + seed: same scores
    assert runs["a"].checkpoints[-1].overall != runs["c"].checkpoints[-1].overall  # another recipe: another
    adapter = tmp_path / "c" / runs["c"].checkpoints[-1].adapter_dir
    check = validate_package(package_adapter(adapter, tmp_path / "c.zip"), SubmissionConfig())
    assert check.rank == 16 and check.target_modules == ["q_proj", "v_proj"]

    items = tmp_path / "items.jsonl"
    proc = noop("generate_items.py", "--n", "40", "--seed", "1", "--mix", '{"gravity": 1, "equations": 1}',
                "--out", str(items))
    assert proc.returncode == 0, proc.stderr
    proc = noop("evaluate.py", "--adapter", str(adapter), "--items", str(items), "--report", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    report = read_model(tmp_path / "r.json", EvalReport)
    assert report.n_items == 40 and set(report.by_family) <= {"gravity", "equations"}


def test_noop_validate_names_the_bad_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sleep_s: -1\n")
    proc = noop("validate.py", "--recipe", str(bad))
    assert proc.returncode == 2
    assert "field 'sleep_s'" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_instant_executor_runs_a_job_once_and_reports_failures(tmp_path: Path) -> None:
    calls: list[str] = []

    def complete(spec: JobSpec) -> int:
        calls.append(spec.job_id)
        return 0 if spec.job_id == "ok" else 3

    ex = InstantExecutor(tmp_path / "jobs", complete)
    ok = JobSpec(job_id="ok", command=["x"], cwd=str(tmp_path))
    assert ex.submit(ok).state == JobState.SUCCEEDED
    assert ex.submit(ok).state == JobState.SUCCEEDED  # known id: re-attached, not run again
    again = InstantExecutor(tmp_path / "jobs", complete)  # a restarted orchestrator
    assert again.attach("ok").state == JobState.SUCCEEDED and again.attach("never") is None
    bad = ex.submit(JobSpec(job_id="bad", command=["x"], cwd=str(tmp_path)))
    assert (bad.state, bad.exit_code) == (JobState.FAILED, 3)
    assert calls == ["ok", "bad"]


WORKERS, ROUNDS = 6, 3


@pytest.mark.slow
def test_small_simulated_campaign_resumes_after_kill_9_with_every_candidate_once(tmp_path: Path) -> None:
    ws, name = tmp_path / "ws", "sim"
    harness.make_workspace(ws, name, WORKERS, ROUNDS)
    total = WORKERS * ROUNDS
    kill_at = random.Random(17).randint(total // 4, 3 * total // 4)
    proc = subprocess.Popen(harness.child_command(ws, name), env=harness.child_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while len(harness.manifests_of(ws, name)) < kill_at:
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.time() < deadline, "no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert len(harness.manifests_of(ws, name)) < total  # killed mid-campaign

    harness.run_point(ws, name, resume=True, timeout=600)

    files = harness.manifests_of(ws, name)
    manifests = [Manifest.model_validate_json(p.read_text()) for p in files]
    assert sorted((m.round, m.worker_id) for m in manifests) == sorted(
        (r, f"w{w:02d}") for r in range(1, ROUNDS + 1) for w in range(1, WORKERS + 1))
    assert all(m.status == "ok" for m in manifests), [m.failures for m in manifests if m.status != "ok"]
    train = [j for m in manifests for j in m.job_ids if j.rsplit("-", 1)[-1].startswith("a")]
    assert len(train) == total == len(set(train))
    job_dirs = {d.name for d in (ws / "campaigns" / name / "jobs").iterdir() if d.is_dir()}
    assert {j for j in job_dirs if j.rsplit("-", 1)[-1].startswith("a")} == set(train)  # no training job twice
    summary = json.loads((ws / "campaigns" / name / "summary.json").read_text())
    assert summary["stop_reason"] == f"completed {ROUNDS} rounds"
    for r in range(1, ROUNDS + 1):
        assert (ws / "reports" / name / f"round-{r:03d}.json").is_file()


def test_an_audit_append_cut_by_kill_9_is_completed_but_an_edit_is_not(tmp_path: Path) -> None:
    """Every worker appends to the audit log, so a kill -9 can land between an entry's line and its head;
    the resuming orchestrator completes that append instead of refusing the log forever."""
    from orchestrator.audit.log import AuditLog, ManifestPayload

    def payload(w: int) -> ManifestPayload:
        return ManifestPayload(candidate=f"r001/w{w:02d}", round=1, manifest_path="m.json",
                               manifest_sha256="0" * 64, status="ok")

    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.append(payload(1))
    head_before = log.head_path.read_text()
    log.append(payload(2))
    log.head_path.write_text(head_before)  # the line landed, the head did not
    assert not AuditLog(path).verify().ok
    assert AuditLog(path).complete_interrupted_append()
    assert [e.payload.candidate for e in AuditLog(path).entries()] == ["r001/w01", "r001/w02"]

    edited = path.read_text().replace("r001/w02", "r001/w09")
    path.write_text(edited)
    log.head_path.write_text(head_before)
    assert not AuditLog(path).complete_interrupted_append() and not AuditLog(path).verify().ok
