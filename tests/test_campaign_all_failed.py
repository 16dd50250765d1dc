"""A campaign whose every worker fails (a broken setup) stops after that round and the CLI exits 1."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import scale_harness as harness  # noqa: E402

EVOTRAIN = [sys.executable, "-c", "from orchestrator.cli.app import main; main()"]


def test_every_worker_failing_stops_the_campaign_with_the_failure_named(tmp_path: Path) -> None:
    config = harness.make_workspace(tmp_path, "broken", workers=2, rounds=3)
    # a substrate whose training crashes on every recipe (validation still passes, so the start check does too)
    broken = tmp_path / "substrate" / "broken"
    shutil.copytree(harness.NOOP, broken)
    spec = yaml.safe_load((broken / "substrate.yaml").read_text())
    spec["run_command"] = ["{python}", "-c", "import sys; sys.exit('training crashed: CUDA out of memory')"]
    (broken / "substrate.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    cfg = yaml.safe_load(config.read_text())
    cfg["substrate"] = "substrate/broken"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = subprocess.run([*EVOTRAIN, "campaign", "start", str(config), "--root", str(tmp_path), "--quiet"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("error: campaign stopped: every worker of round 1 failed (w01:")
    assert "training crashed: CUDA out of memory" in proc.stderr
    rounds = sorted(p.name for p in (tmp_path / "campaigns" / "broken" / "rounds").iterdir())
    assert rounds == ["r001"]  # rounds 2 and 3 were never planned
    summary = (tmp_path / "campaigns" / "broken" / "summary.json").read_text()
    assert "every worker of round 1 failed" in summary
