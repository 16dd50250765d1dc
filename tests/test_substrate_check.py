"""`evotrain substrate check DIR`: the default substrate passes through the real console script (validate +
one smoke run included); three broken copies each fail with exactly one clear line and exit 2."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from orchestrator.campaign.substrate_check import static_problems
from orchestrator.cli.substrate_check import substrate_check

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "substrate" / "default"
EVOTRAIN = Path(sys.executable).parent / "evotrain"


def check(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EVOTRAIN), "substrate", "check", str(directory), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.slow
def test_default_substrate_passes_including_a_smoke_run() -> None:
    proc = check(DEFAULT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"substrate {DEFAULT}: OK" and proc.stderr == ""


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "mine"
    shutil.copytree(DEFAULT, dst, ignore=shutil.ignore_patterns("__pycache__", "runs"))
    return dst


def _drop_run_command(d: Path) -> None:
    spec = yaml.safe_load((d / "substrate.yaml").read_text())
    del spec["run_command"]
    (d / "substrate.yaml").write_text(yaml.safe_dump(spec))


def _stray_file(d: Path) -> None:
    (d / "notes.txt").write_text("scratch\n")


def _bad_axis(d: Path) -> None:
    axes = yaml.safe_load((d / "axes.yaml").read_text())
    axes[0]["key"] = "learning_rte"  # a typo: the axis would move a key the recipe does not have
    (d / "axes.yaml").write_text(yaml.safe_dump(axes))


@pytest.mark.parametrize(("breakage", "expected"), [
    (_drop_run_command, "error: substrate.yaml: field 'run_command': Field required"),
    (_stray_file, "error: notes.txt: in neither 'editable' nor 'frozen' of substrate.yaml (add it to one of them)"),
    (_bad_axis, "error: axes.yaml: axis 'learning_rate' moves key 'learning_rte', which recipe.yaml does not have"),
])
def test_broken_substrates_fail_with_one_line(tmp_path: Path, breakage: Callable[[Path], None],
                                              expected: str) -> None:
    d = _copy(tmp_path)
    assert static_problems(d)[1] == []  # the copy itself is fine
    breakage(d)
    app = typer.Typer()  # the command in-process (a subprocess per case costs seconds of imports)
    app.command()(substrate_check)
    result = CliRunner().invoke(app, [str(d)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [expected] and result.stdout == ""
