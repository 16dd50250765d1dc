"""kill -9 during training and during the benchmark: the next `cycle run --once` completes the
cycle from its last finished stage (the seed's run #4), the training job dies with its parent,
finished stages are never repeated, there is one champion and its archive entry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from cycle_support import tiny_config
from typer.testing import CliRunner

from orchestrator.cycle.cli import build_cycle_app
from orchestrator.cycle.config import REPO_ROOT, load_config
from orchestrator.cycle.store import CyclePaths, archive_entries, cycle_ids, load_pointer, load_state, read_events

pytestmark = pytest.mark.slow

LAUNCH = "import sys; from orchestrator.cycle.cli import build_cycle_app; build_cycle_app()(sys.argv[1:])"


def start_run(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-c", LAUNCH, "run", str(config), "--once"], cwd=REPO_ROOT,
                                stdout=out, stderr=subprocess.STDOUT)


def wait_for(condition, proc: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-8:]) if log.is_file() else ""
        assert proc.poll() is None, f"the cycle exited ({proc.returncode}) before {what}:\n{tail}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def started(paths: CyclePaths, stage: str, n: int) -> bool:
    return sum(1 for e in read_events(paths) if e["stage"] == stage and e["event"] == "start") >= n


def children_running(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(marker in part for part in proc.info["cmdline"] or []):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def kill9(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def test_kill9_in_training_and_in_benchmark_then_resume(tmp_path: Path) -> None:
    config = tiny_config(tmp_path / "cycle.yaml", tmp_path / "w", {"beat_champion_by": None})
    paths = CyclePaths(load_config(config).state_dir)
    log = tmp_path / "runs.log"
    cycle_dir = paths.cycle("c0001")

    # 1) kill -9 while the training job runs
    proc = start_run(config, log)
    wait_for(lambda: started(paths, "train", 1) and (cycle_dir / "train.tmp" / "train.log").is_file(), proc,
             "training to start", log=log)
    time.sleep(1.0)
    kill9(proc)
    deadline = time.monotonic() + 20
    while children_running(str(cycle_dir / "train.tmp")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert children_running(str(cycle_dir / "train.tmp")) == []  # the job died with its parent
    state = load_state(paths, "c0001")
    assert state.stages["train"].status == "running" and state.stages["quality"].status == "done"

    # 2) resume; kill -9 while the benchmark runs
    proc = start_run(config, log)
    wait_for(lambda: started(paths, "benchmark", 1), proc, "the benchmark to start", log=log)
    time.sleep(1.0)
    kill9(proc)
    adapter = cycle_dir / "train" / "run" / "checkpoints" / "step-00003" / "adapter_model.safetensors"
    trained_at = adapter.stat().st_mtime_ns
    assert load_state(paths, "c0001").stages["benchmark"].status == "running"

    # 3) the next run completes the cycle without repeating finished stages
    result = CliRunner().invoke(build_cycle_app(), ["run", str(config), "--once"])
    assert result.exit_code == 0, result.output
    assert "resuming interrupted cycle c0001 at stage benchmark" in result.output
    assert "train: already finished, not repeated" in result.output
    assert "Benchmark per category" in result.output and "decision: PROMOTE c0001" in result.output

    events = [(e["stage"], e["event"]) for e in read_events(paths) if e["cycle"] == "c0001"]
    assert events.count(("generate", "finish")) == 1 and events.count(("generate", "start")) == 1
    assert events.count(("quality", "finish")) == 1 and events.count(("quality", "start")) == 1
    assert events.count(("train", "start")) == 2 and events.count(("train", "finish")) == 1
    assert events.count(("benchmark", "start")) == 2 and events.count(("benchmark", "finish")) == 1
    assert events.count(("promote", "finish")) == 1 and events.count(("cycle", "resumed")) == 2
    assert adapter.stat().st_mtime_ns == trained_at  # the adapter was not retrained
    assert cycle_ids(paths) == ["c0001"]
    assert load_pointer(paths).champion == "c0001" and len(load_pointer(paths).history) == 1
    assert [e.id for e in archive_entries(paths)] == ["c0001"]
    assert load_state(paths, "c0001").stages["train"].attempts == 2
    assert not (cycle_dir / "train.tmp").exists() and not (cycle_dir / "benchmark.tmp").exists()
