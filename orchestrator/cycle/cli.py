"""`evotrain cycle ...`: the Typer sub-app (the root CLI mounts `build_cycle_app()` as `cycle`).

    cycle run [CONFIG] [--once]          one cycle now (completes an interrupted one first);
                                         without --once: the daemon on the config's schedule
    cycle daemon [CONFIG] --every 12h [--max-cycles N]
    cycle status [CONFIG]                champion, the latest cycle's stages, who holds the locks
    cycle history [CONFIG]               every cycle: data counts, scores per category, decision
    cycle rollback [CHAMPION_ID] [--config CONFIG]
    cycle page [CONFIG] [--out FILE]     the dashboard's cycle page as one HTML file
    cycle bench-schema                   the JSON Schema of a user's benchmark spec (bench_spec.py)
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from orchestrator.cycle import render
from orchestrator.cycle.config import CycleConfig, load_config, parse_duration
from orchestrator.cycle.models import BenchmarkOutput, GateOutput, GenerateOutput, QualityOutput, TrainOutput
from orchestrator.cycle.stages import StageContext
from orchestrator.cycle.store import all_states, load_pointer

CONFIG_ARG = typer.Argument(None, help="Cycle config YAML (default: the embedded substrate's cycle).",
                            exists=False, dir_okay=False)


def _console() -> Console:
    return Console(width=160, soft_wrap=True, highlight=False, markup=False)  # "[c0001]" is text, not a style


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Bad input -> `error: <one line>` on stderr and exit 2, also when the sub-app runs on its own."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EvotrainError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def _config(path: Path | None) -> CycleConfig:
    if path is not None and not path.is_file():
        raise EvotrainError(f"{path}: config file not found")
    return load_config(path)


def printing_hook(console: Console, config: CycleConfig) -> Callable[[str, str, StageContext], None]:
    def hook(stage: str, event: str, ctx: StageContext) -> None:
        if event == "skip":
            console.print(f"[{ctx.cycle_id}] {stage}: already finished, not repeated")
            return
        if event == "start":
            console.print(f"[{ctx.cycle_id}] {stage} ...")
            return
        out = ctx.output(stage)
        if stage == "generate":
            console.print(render.generate_table(read_model(out, GenerateOutput)))
        elif stage == "quality":
            console.print(render.quality_table(read_model(out, QualityOutput)))
        elif stage == "train":
            t = read_model(out, TrainOutput)
            console.print(f"trained {t.steps} steps on {t.n_train_examples} examples in {t.train_seconds:.0f}s "
                          f"(final loss {t.final_loss if t.final_loss is None else round(t.final_loss, 4)})")
        elif stage == "benchmark":
            bench = read_model(out, BenchmarkOutput)
            from orchestrator.cycle.champion import current_entry

            champion = current_entry(ctx.paths)
            minimums = {c: config.gate.minimum_for(c) for c in bench.by_category}
            console.print(render.benchmark_table(bench, None, minimums, champion.by_category if champion else None))
        elif stage == "gate":
            console.print(render.decision_line(ctx.cycle_id, read_model(out, GateOutput)))
        elif stage == "promote":
            console.print(f"champion: {load_pointer(ctx.paths).champion or 'none'}")

    return hook


def build_cycle_app() -> typer.Typer:
    app = typer.Typer(help="Keep a champion fresh: generate -> quality gate -> train -> benchmark -> promote/keep.",
                      no_args_is_help=True, pretty_exceptions_enable=False)

    @app.command("run")
    @_guard
    def run(config: Path | None = CONFIG_ARG,
            once: bool = typer.Option(False, "--once", help="One cycle, then exit (else: daemon on schedule.every)."),
            ) -> None:
        """Run a cycle now; a cycle interrupted earlier is completed from its last finished stage."""
        cfg = _config(config)
        console = _console()
        if not once:
            _daemon(cfg, parse_duration(cfg.schedule.every, "schedule.every"), None, console)
            return
        from orchestrator.cycle.runner import paths_for, pending_cycle, run_cycle

        pending = pending_cycle(paths_for(cfg))
        if pending is not None:
            console.print(f"resuming interrupted cycle {pending.id} at stage {pending.next_stage()}")
        state = run_cycle(cfg, printing_hook(console, cfg))
        console.print(f"cycle {state.id} complete")

    @app.command("daemon")
    @_guard
    def daemon(config: Path | None = CONFIG_ARG,
               every: str = typer.Option("12h", "--every", help="Interval: 12h, 30m, 2s ..."),
               max_cycles: int | None = typer.Option(None, "--max-cycles", min=1, help="Stop after N cycles.")) -> None:
        """Run cycles on a schedule (APScheduler); one daemon per config."""
        cfg = _config(config)
        _daemon(cfg, parse_duration(every, "--every"), max_cycles, _console())

    @app.command("status")
    @_guard
    def status(config: Path | None = CONFIG_ARG) -> None:
        """Champion, the latest cycle's stages, and whether a cycle or daemon is running."""
        from orchestrator.cycle.lock import holder
        from orchestrator.cycle.runner import paths_for

        cfg = _config(config)
        paths = paths_for(cfg)
        console = _console()
        for line in render.pointer_lines(load_pointer(paths)):
            console.print(line)
        states = all_states(paths)
        if not states:
            console.print(f"no cycle yet in {paths.root}")
        else:
            last = states[-1]
            console.print(f"latest cycle {last.id}: " + ("complete" if last.finished else "unfinished"))
            for name, rec in last.stages.items():
                extra = f" {rec.seconds:.1f}s" if rec.seconds is not None else ""
                extra += f" (cpu {rec.cpu_seconds:.1f}s)" if rec.cpu_seconds is not None else ""
                err = f" error: {rec.error}" if rec.error else ""
                console.print(f"  {name:<9} {rec.status:<8} attempts={rec.attempts}{extra}{err}")
        console.print(f"daemon: {holder(paths.daemon_lock) or 'not running'}")
        console.print(f"cycle lock: {holder(paths.cycle_lock) or 'free'}")

    @app.command("history")
    @_guard
    def history(config: Path | None = CONFIG_ARG) -> None:
        """Every cycle with its data counts, per-category scores and gate decision."""
        from orchestrator.cycle.runner import paths_for

        paths = paths_for(_config(config))
        console = _console()
        states = all_states(paths)
        if not states:
            console.print(f"no cycle yet in {paths.root}")
            return
        console.print(render.history_table(states, paths.root))
        for line in render.pointer_lines(load_pointer(paths)):
            console.print(line)

    @app.command("rollback")
    @_guard
    def rollback(champion_id: str | None = typer.Argument(None, help="An archived champion (default: the previous)."),
                 config: Path | None = typer.Option(None, "--config", "-c", help="Cycle config YAML.")) -> None:
        """Point the champion back to an archived model."""
        from orchestrator.cycle.champion import rollback as do_rollback
        from orchestrator.cycle.runner import paths_for

        paths = paths_for(_config(config))
        before = load_pointer(paths).champion
        entry = do_rollback(paths, champion_id)
        _console().print(f"champion: {before} -> {entry.id} (overall {entry.overall:.3f}, {entry.adapter_dir})")

    @app.command("page")
    @_guard
    def page(config: Path | None = CONFIG_ARG,
             out: Path | None = typer.Option(None, "--out", "-o", help="HTML file (default: <state dir>/page.html).")
             ) -> None:
        """Write the cycle page: champion history, scores per category per cycle, gate decisions, data counts."""
        from orchestrator.cycle.page import write_cycle_page
        from orchestrator.cycle.runner import paths_for

        paths = paths_for(_config(config))
        if not paths.root.is_dir():
            raise EvotrainError(f"no cycle yet in {paths.root} (run `evotrain cycle run --once`)")
        _console().print(f"cycle page: {write_cycle_page(paths.root, out or paths.root / 'page.html')}")

    @app.command("bench-schema")
    def bench_schema() -> None:
        """Print the JSON Schema of a benchmark spec (benchmark: {kind: spec, spec: FILE} in a cycle config)."""
        import json

        from orchestrator.cycle.bench_spec import BenchmarkSpec

        print(json.dumps(BenchmarkSpec.json_schema(), indent=2))

    return app


def _daemon(cfg: CycleConfig, every_s: float, max_cycles: int | None, console: Console) -> None:
    from orchestrator.cycle.daemon import run_daemon

    def on_cycle(state: Any, message: str) -> None:
        if state is None:
            console.print(f"cycle failed: {message} (the daemon keeps its schedule)")
        else:
            console.print(f"cycle {state.id} complete")

    console.print(f"daemon for '{cfg.name}': a cycle every {every_s:g}s"
                  + (f", at most {max_cycles} cycles" if max_cycles else ""))
    ran = run_daemon(cfg, every_s, max_cycles, printing_hook(console, cfg), on_cycle)
    console.print(f"daemon stopped after {ran} cycle(s)")
