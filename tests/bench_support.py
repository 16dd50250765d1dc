"""What the bench CLI tests share: the noop substrate's tiny options and a CLI call."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOOP = REPO / "substrate" / "noop"
COMMON = ["--substrate", str(NOOP), "--constitution", str(REPO / "constitution"),
          "--recipe-overrides", "{sleep_s: 0.02}", "--split-items", "30"]


def bench(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", "bench", *args, "--root", str(root)],
                          capture_output=True, text=True, cwd=REPO, timeout=600, check=False)
