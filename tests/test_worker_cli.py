"""`evotrain worker run --brief BRIEF.json`: forks if needed, runs, reports; bad input exits 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from worker_support import FAKE_RECIPE, FAKE_SUBSTRATE, LR_AXIS

from evotrain.io import read_model
from evotrain.schemas.brief import Brief, WorkerBudget
from evotrain.schemas.manifest import Manifest

EVOTRAIN = [sys.executable, "-c", "from orchestrator.cli.app import main; main()"]


def _brief(tmp_path: Path, **update: object) -> Path:
    brief = Brief(campaign="cli", round=2, worker_id="w04", seed=1, axis=LR_AXIS, standing_recipe=FAKE_RECIPE,
                  budget=WorkerBudget(job_timeout_s=60, wall_clock_s=120),
                  sandbox=str(tmp_path / "ws" / "sandboxes" / "cli" / "r002" / "w04"))
    path = tmp_path / "brief.json"
    path.write_text(brief.model_copy(update=update).model_dump_json())
    return path


def test_worker_run_cli_end_to_end(tmp_path: Path) -> None:
    substrate = tmp_path / "substrate"
    shutil.copytree(FAKE_SUBSTRATE, substrate)
    brief = _brief(tmp_path)
    cmd = [*EVOTRAIN, "worker", "run", "--brief", str(brief), "--root", str(tmp_path / "ws"),
           "--substrate", str(substrate), "--slots", "2", "--frozen", "data/extra.csv"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "w04 [lr] ok: dev" in proc.stdout
    manifest_path = tmp_path / "ws" / "campaigns" / "cli" / "rounds" / "r002" / "manifests" / "w04.json"
    manifest = read_model(manifest_path, Manifest)
    assert manifest.status == "ok" and manifest.round == 2 and manifest.job_ids[-1] == "cli-r002-w04-a1"
    assert Path(manifest.trace_path).is_file()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)  # idempotent
    assert again.returncode == 0 and read_model(manifest_path, Manifest) == manifest


def test_worker_run_cli_bad_brief_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "brief.json"
    data = json.loads(_brief(tmp_path).read_text())
    data["round"] = 0
    bad.write_text(json.dumps(data))
    proc = subprocess.run([*EVOTRAIN, "worker", "run", "--brief", str(bad)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "field 'round'" in lines[0]
    relative = _brief(tmp_path, sandbox="relative/w04")
    proc = subprocess.run([*EVOTRAIN, "worker", "run", "--brief", str(relative), "--root", str(tmp_path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "field 'sandbox'" in proc.stderr
