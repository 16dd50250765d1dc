"""Fault injection for crash-safety tests: `EVOTRAIN_KILL_AT=collect:r1` makes the orchestrator
SIGKILL itself at that point, exactly as an operator's kill -9 would (no cleanup runs)."""

from __future__ import annotations

import os
import signal

KILL_ENV = "EVOTRAIN_KILL_AT"


def fault_point(name: str, round_no: int) -> None:
    if os.environ.get(KILL_ENV) == f"{name}:r{round_no}":
        os.kill(os.getpid(), signal.SIGKILL)
