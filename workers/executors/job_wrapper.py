"""The tiny wrapper that runs one job's command and records how it ended.

Started detached (own session) by the local executor, or inside a Ray task, with the job's
environment already set. It runs the command under coreutils `timeout` in its own process group,
so the deadline holds even if the orchestrator (or this wrapper) is killed, then writes `exit.json`
atomically. Usage: `python -m workers.executors.job_wrapper STATE_DIR/JOB_ID`.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from evotrain.io import read_model, write_model
from workers.executors.job_files import TIMEOUT_EXIT_CODES, JobExit, JobFiles, kill_group, process_ref
from workers.isolation import isolate

# After the deadline's TERM, `timeout` waits this long before KILLing the whole group.
KILL_AFTER_S = 5.0
# Our own backstop if `timeout` itself were stopped: SIGKILL the group this long after the deadline.
BACKSTOP_S = KILL_AFTER_S + 10.0


def run(job_dir: Path, env: dict[str, str] | None = None, forward_signals: bool = True) -> int:
    """Run the job in `job_dir` to its end; return the command's exit code.

    `forward_signals`: pass a SIGTERM sent to this process on to the command's group (the local
    executor's cancel); off inside a Ray worker, whose signals belong to Ray.
    """
    files = JobFiles(Path(job_dir))
    spec = files.read_spec()
    # One wrapper per job: a requeued launch (local.py) may meet a very late first wrapper; the one
    # without the lock leaves, and neither runs a command that has already ended.
    lock = open(files.wrapper_lock, "a")  # noqa: SIM115 (held, never closed, for the process's life)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"[evotrain] another wrapper holds {files.wrapper_lock}; leaving the job to it", file=sys.stderr)
        return 0
    if files.exit.is_file():
        return read_model(files.exit, JobExit).exit_code
    me = process_ref(os.getpid())
    if me is not None:
        write_model(files.pid, me)
    started = time.time()
    children: list[subprocess.Popen[bytes]] = []
    term_seen: list[int] = []

    def forward_term(signum: int, _frame: FrameType | None) -> None:
        term_seen.append(signum)
        for c in children:
            kill_group(c.pid, signum)

    # Installed before the command starts, so a cancel's TERM can never orphan the command.
    if forward_signals and threading.current_thread() is threading.main_thread():  # handlers live there
        signal.signal(signal.SIGTERM, forward_term)
    if files.cancel.is_file() or term_seen:  # cancelled before it could start
        write_model(files.exit, JobExit(exit_code=-signal.SIGTERM, started_at=started, ended_at=time.time()))
        return -signal.SIGTERM
    confined = isolate(spec.command, spec.isolation, spec.cwd)
    command = ["timeout", "--signal=TERM", f"--kill-after={KILL_AFTER_S:g}", f"{spec.timeout_s:g}s", *confined]
    with open(files.log, "ab") as log:
        try:
            child = subprocess.Popen(
                command, cwd=spec.cwd, env=env if env is not None else dict(os.environ),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, process_group=0,
            )
        except OSError as exc:
            log.write(f"[evotrain] cannot start command: {exc}\n".encode())
            write_model(files.exit, JobExit(exit_code=127, started_at=started, ended_at=time.time()))
            return 127
    children.append(child)
    child_ref = process_ref(child.pid)
    if child_ref is not None:
        write_model(files.child, child_ref)
    if files.cancel.is_file() or term_seen:  # a cancel that raced with the start
        kill_group(child.pid, signal.SIGTERM)
    backstop = False
    try:
        rc = child.wait(timeout=spec.timeout_s + BACKSTOP_S)
    except subprocess.TimeoutExpired:
        backstop = True
        kill_group(child.pid, signal.SIGKILL)
        rc = child.wait()
    ended = time.time()
    timed_out = backstop or (rc in TIMEOUT_EXIT_CODES and ended - started >= spec.timeout_s - 0.05)
    write_model(files.exit, JobExit(exit_code=rc, timed_out=timed_out, started_at=started, ended_at=ended))
    return rc


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m workers.executors.job_wrapper JOB_DIR", file=sys.stderr)
        return 2
    run(Path(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
