"""Single-instance locks: one orchestrator per campaign (and, reused by the cycle, one cycle/daemon).

An flock is held for the holder's lifetime; the kernel drops it when the process dies (even by
kill -9), so a stale lock of a dead process never blocks a resume. The pid written inside is only
for the error message.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path
from types import TracebackType

from evotrain.errors import EvotrainError


class InstanceLock:
    def __init__(self, path: Path, what: str, busy: str = "is already running") -> None:
        self.path = path
        self.what = what  # e.g. "campaign 'c1'" or "a cycle of 'nightly'": named in the refusal
        self.busy = busy
        self._fd: int | None = None

    def acquire(self) -> InstanceLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown process"
            os.close(fd)
            raise EvotrainError(f"{self.what} {self.busy} ({holder}); lock: {self.path}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {time.ctime()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> InstanceLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


class CampaignLock(InstanceLock):
    """One orchestrator per campaign."""

    def __init__(self, path: Path, campaign: str) -> None:
        super().__init__(path, f"campaign '{campaign}'", busy="is already being run by another orchestrator")
        self.campaign = campaign


def lock_holder(path: Path) -> str | None:
    """Who holds the lock right now (None if nobody: never started, finished, or crashed)."""
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown process"
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
