"""`evotrain substrate check` on substrate/nemotron: it passes (slow: one smoke run), its declared input is
checked (`--input NAME=PATH`), and a bad worker_view_command placeholder is caught statically."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
NEMOTRON = REPO / "substrate" / "nemotron"
TRAIN_CSV = REPO.parent / "shared" / "data" / "nemotron-reasoning" / "train.csv"


def _check(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", "substrate", "check", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.slow
@pytest.mark.skipif(not TRAIN_CSV.is_file(), reason=f"{TRAIN_CSV} not present")
def test_substrate_check_passes() -> None:
    proc = _check("substrate/nemotron", timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "substrate substrate/nemotron: OK"


def test_bad_inputs_are_one_line_each_exit_2(tmp_path: Path) -> None:
    cases = [
        (["--input", "train_csv"], ["error: --input: expected NAME=PATH, got 'train_csv'"]),
        (["--input", f"train_csv={tmp_path / 'none.csv'}"], [f"error: --input train_csv={tmp_path / 'none.csv'}: "
                                                             "not a file"]),
        (["--input", f"other={TRAIN_CSV}"], ["error: --input other: substrate.yaml declares no such input "
                                             "(declared: train_csv)",
                                             "error: --input train_csv=PATH: missing (substrate.yaml declares it)"]),
    ]
    for args, expected in cases:
        proc = _check("substrate/nemotron", "--no-run", *args)
        assert proc.returncode == 2, proc.stderr
        assert [ln for ln in proc.stderr.splitlines() if ln.strip()] == expected


def test_worker_view_command_placeholders_are_checked(tmp_path: Path) -> None:
    copy = tmp_path / "nemotron"
    shutil.copytree(NEMOTRON, copy, ignore=shutil.ignore_patterns("__pycache__"))
    spec = yaml.safe_load((copy / "substrate.yaml").read_text())
    spec["inputs"]["train_csv"]["worker_view_command"] = ["{python}", "prepare.py", "--in", "{inptu}"]
    (copy / "substrate.yaml").write_text(yaml.safe_dump(spec))
    proc = _check(str(copy), "--no-run")
    assert proc.returncode == 2
    assert [ln for ln in proc.stderr.splitlines() if ln.strip()] == [
        "error: substrate.yaml: field 'inputs.train_csv.worker_view_command': script prepare.py is not in the "
        "substrate folder",
        "error: substrate.yaml: field 'inputs.train_csv.worker_view_command': unknown placeholder {inptu} in "
        "'{inptu}'"]
    proc = _check(str(NEMOTRON), "--no-run", "--input", f"train_csv={TRAIN_CSV}")
    assert proc.returncode == 0 and "OK (static checks only" in proc.stdout, proc.stderr
