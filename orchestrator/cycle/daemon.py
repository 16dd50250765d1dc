"""`cycle daemon`: run a cycle every N hours with APScheduler, one daemon per config.

The daemon holds an flock for its lifetime (a second daemon is refused with the holder's pid);
each cycle also takes the per-config cycle lock, and the job has max_instances=1, so two cycles
never overlap even when a cycle outlasts the interval. After a restart the first cycle runs at
once if one was interrupted (it is completed), otherwise one interval after the last finished
cycle. A failing cycle is reported and the daemon keeps its schedule.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from evotrain.errors import EvotrainError
from orchestrator.cycle.config import CycleConfig
from orchestrator.cycle.lock import InstanceLock
from orchestrator.cycle.models import CycleState
from orchestrator.cycle.runner import StageHook, paths_for, pending_cycle, run_cycle
from orchestrator.cycle.store import CyclePaths, all_states


def first_run_at(paths: CyclePaths, every_s: float, now: datetime) -> datetime:
    if pending_cycle(paths) is not None:
        return now
    finished = [s.finished for s in all_states(paths) if s.finished]
    if not finished:
        return now
    return max(now, datetime.fromisoformat(max(finished)) + timedelta(seconds=every_s))


def run_daemon(
    config: CycleConfig,
    every_s: float,
    max_cycles: int | None = None,
    hook: StageHook | None = None,
    on_cycle: Callable[[CycleState | None, str], None] | None = None,
) -> int:
    """Block until stopped (SIGTERM/SIGINT) or `max_cycles` cycles ran; return how many ran."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    # a cycle outlasting the interval makes APScheduler skip (and warn about) every run it overlaps;
    # that is the intended single-instance behaviour, not news
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    paths = paths_for(config)
    ran = 0
    with InstanceLock(paths.daemon_lock, f"the cycle daemon of '{config.name}'"):
        scheduler = BlockingScheduler(timezone=UTC)

        def job() -> None:
            nonlocal ran
            try:
                state = run_cycle(config, hook)
                message = ""
            except EvotrainError as exc:
                state, message = None, exc.message
            except Exception as exc:
                state, message = None, f"{type(exc).__name__}: {exc}"
            ran += 1
            if on_cycle:
                on_cycle(state, message)
            if max_cycles is not None and ran >= max_cycles:
                scheduler.shutdown(wait=False)

        start = first_run_at(paths, every_s, datetime.now(UTC))
        scheduler.add_job(job, IntervalTrigger(seconds=every_s, start_date=start, timezone=UTC), id="cycle",
                          next_run_time=start, max_instances=1, coalesce=True, misfire_grace_time=None)

        def stop(signum: int, frame: object) -> None:
            scheduler.shutdown(wait=False)

        previous = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ValueError):  # not the main thread (embedded use): rely on max_cycles
                previous[sig] = signal.signal(sig, stop)
        try:
            scheduler.start()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return ran
