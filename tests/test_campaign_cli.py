"""`evotrain campaign` input errors: one line, exit 2, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def workspace(tmp_path: Path) -> Path:
    (tmp_path / "substrate").symlink_to(REPO / "substrate")
    (tmp_path / "constitution").symlink_to(REPO / "constitution")
    return tmp_path


def evotrain(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("name: bad\nworkerz: 3\n", "field 'workerz'"),
        ("name: bad\nworkers_per_round: 0\n", "field 'workers_per_round'"),
        ("name: bad\nsubstrate: no/such/dir\n", "config field 'substrate': path not found"),
        ("name: bad\nconstitution: nowhere\n", "config field 'constitution': path not found"),
        ("name: bad\nworkers_per_round: 40\n", "workers_per_round: 40 workers, the constitution allows"),
        ("name: bad\nrecipe_overrides: {learning_rate: -1.0}\n", "learning_rate"),
    ],
)
def test_bad_config_is_one_line_exit_2_and_writes_nothing(tmp_path: Path, body: str, expected: str) -> None:
    ws = workspace(tmp_path)
    (ws / "c.yaml").write_text(body)
    proc = evotrain("campaign", "start", "c.yaml", "--quiet", cwd=ws)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and expected in lines[0], proc.stderr
    assert not (ws / "campaigns").exists() and not (ws / "policies").exists() and not (ws / "sandboxes").exists()


def test_missing_config_file_and_unknown_campaign(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    proc = evotrain("campaign", "start", "nope.yaml", cwd=ws)
    assert proc.returncode == 2 and "nope.yaml: file not found" in proc.stderr
    proc = evotrain("campaign", "resume", "ghost", cwd=ws)
    assert proc.returncode == 2 and "no campaign named 'ghost'" in proc.stderr
    proc = evotrain("campaign", "status", "ghost", cwd=ws)
    assert proc.returncode == 2 and "no campaign named 'ghost'" in proc.stderr
