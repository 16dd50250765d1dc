"""Run one cycle: finish the latest cycle if an earlier run was killed, else start a new one.

A stage is finished exactly when its output file exists (written atomically as the stage's last
act); state.json mirrors it for humans and the dashboard. On start, a cycle whose state says a stage
was `running` is an interrupted run (the seed's run #4): it resumes at the first stage without an
output, so finished stages (training, say) never run twice. One cycle at a time per config (flock).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from evotrain.errors import EvotrainError
from orchestrator.cycle.config import CycleConfig
from orchestrator.cycle.generators.base import check_kinds
from orchestrator.cycle.lock import InstanceLock
from orchestrator.cycle.models import STAGES, CycleState, now_iso
from orchestrator.cycle.stages import STAGE_FUNCS, StageContext, write_output
from orchestrator.cycle.store import CyclePaths, cycle_ids, load_state, log_event, new_cycle, save_state

StageHook = Callable[[str, str, StageContext], None]  # (stage, event: start|skip|done, ctx)


def paths_for(config: CycleConfig) -> CyclePaths:
    return CyclePaths(config.state_dir)


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def pending_cycle(paths: CyclePaths) -> CycleState | None:
    """The latest cycle if it is unfinished (interrupted), else None."""
    ids = cycle_ids(paths)
    if not ids:
        return None
    state = load_state(paths, ids[-1])
    return None if state.finished else state


def _run_stage(state: CycleState, stage: str, ctx: StageContext, hook: StageHook | None) -> CycleState:
    record = state.stages[stage]
    if ctx.output(stage).is_file():
        if record.status != "done":  # output written, state not yet: the kill fell in between
            state.stages[stage] = record.model_copy(update={"status": "done", "finished": record.finished or now_iso()})
            save_state(ctx.paths, state)
        if hook:
            hook(stage, "skip", ctx)
        return state
    if record.status in ("running", "failed"):
        log_event(ctx.paths, state.id, stage, "resume", previous=record.status)
    state.stages[stage] = record.model_copy(update={"status": "running", "attempts": record.attempts + 1,
                                                    "started": now_iso(), "error": ""})
    save_state(ctx.paths, state)
    log_event(ctx.paths, state.id, stage, "start")
    if hook:
        hook(stage, "start", ctx)
    t0, cpu0 = time.perf_counter(), _cpu()
    try:
        output = STAGE_FUNCS[stage](ctx)
    except Exception as exc:
        message = exc.message if isinstance(exc, EvotrainError) else f"{type(exc).__name__}: {exc}"
        state.stages[stage] = state.stages[stage].model_copy(update={"status": "failed", "error": message[:500]})
        save_state(ctx.paths, state)
        log_event(ctx.paths, state.id, stage, "failed", error=message[:500])
        raise
    write_output(ctx, stage, output)
    seconds, cpu = round(time.perf_counter() - t0, 2), round(_cpu() - cpu0, 2)
    state.stages[stage] = state.stages[stage].model_copy(update={"status": "done", "finished": now_iso(),
                                                                 "seconds": seconds, "cpu_seconds": cpu})
    save_state(ctx.paths, state)
    log_event(ctx.paths, state.id, stage, "finish", seconds=seconds, cpu_seconds=cpu)
    if hook:
        hook(stage, "done", ctx)
    return state


def run_cycle(config: CycleConfig, hook: StageHook | None = None) -> CycleState:
    """Complete an interrupted cycle, or run a new one; returns its final state."""
    check_kinds(config.generators)
    paths = paths_for(config)
    with InstanceLock(paths.cycle_lock, f"a cycle of '{config.name}'"):
        state = pending_cycle(paths)
        if state is None:
            state = new_cycle(paths, config.name)
        else:
            log_event(paths, state.id, "cycle", "resumed", at_stage=state.next_stage() or "")
        ctx = StageContext(config=config, paths=paths, cycle_id=state.id, number=state.number)
        for stage in STAGES:
            state = _run_stage(state, stage, ctx, hook)
        state.finished = now_iso()
        save_state(paths, state)
        log_event(paths, state.id, "cycle", "finished")
    return state
