"""A job runs under bwrap when the venv is reached through a symlink (e.g. a clone that links a shared .venv)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from workers import isolation
from workers.isolation import Isolation, bwrap_problem, isolate


@pytest.mark.skipif(bwrap_problem() is not None, reason=f"no bwrap: {bwrap_problem()}")
def test_symlinked_venv_is_visible_inside_the_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    link = tmp_path / "venv-link"
    link.symlink_to(Path(sys.prefix).resolve(), target_is_directory=True)
    python = link / "bin" / Path(sys.executable).name
    assert python.exists()
    monkeypatch.setattr(isolation.sys, "prefix", str(link))  # the interpreter as a linked venv reports it
    box = tmp_path / "box"
    box.mkdir()
    cmd = isolate([str(python), "-c", "import sys; print(sys.version_info[0])"], Isolation(kind="bwrap",
                  writable=[str(box)]), str(box))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr  # before the fix: bwrap: execvp ...venv-link/bin/python: No such file
    assert proc.stdout.strip() == "3"
    # nothing else of the host came with it: the link's own folder is not bound
    assert str(tmp_path) not in [a for a in cmd if a.startswith(str(tmp_path)) and a != str(box)
                                 and not a.startswith(str(link))]
