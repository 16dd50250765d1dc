"""`evotrain campaign start|resume|status|stop` and `evotrain demo`."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from evotrain.errors import EvotrainError
from evotrain.io import atomic_write_text, read_model
from evotrain.paths import CampaignPaths
from orchestrator.campaign.status import CampaignStatus, campaign_status
from orchestrator.campaign.summary import ALL_FAILED, CampaignSummary
from orchestrator.config import CampaignConfig, load_config

campaign_app = typer.Typer(no_args_is_help=True)
console = Console()

RootOpt = Annotated[Path, typer.Option("--root", help="Workspace root (campaigns/, sandboxes/, ...).")]


def _status_table(st: CampaignStatus) -> Table:
    t = Table(title=f"campaign {st.campaign}: round {st.round}/{st.rounds}"
              + (f" — finished ({st.stop_reason})" if st.finished else (" — running" if st.running else " — idle")))
    for col in ("worker", "axis", "state", "dev", "job s", "detail"):
        t.add_column(col)
    for w in st.workers:
        t.add_row(w.worker_id, w.axis, w.state, "" if w.dev is None else f"{w.dev:.3f}",
                  "" if w.job_elapsed_s is None else f"{w.job_elapsed_s:.0f}", w.detail)
    u = st.usage
    best = "—" if st.best_leaderboard is None else f"{st.best_leaderboard:.3f} ({st.best_candidate})"
    t.caption = (f"compute {u.compute_s:.0f} s · tokens {u.tokens} · ${u.dollars:.2f} · wall {u.wall_clock_s:.0f} s"
                 f" · best leaderboard {best}")
    c, rc = st.compute, st.round_compute
    t.caption += (f"\nGPU {c.gpu_seconds:.0f} s = ${c.gpu_dollars:.2f} at ${st.gpu_hour_dollars:.2f}/GPU-h "
                  f"(leaderboard evaluation {c.evaluation_gpu_seconds:.0f} s) + tokens ${c.token_dollars:.2f} "
                  f"= ${c.dollars:.2f} · round {st.round}: GPU {rc.gpu_seconds:.0f} s ${rc.gpu_dollars:.2f} "
                  f"+ tokens ${rc.token_dollars:.2f}")
    if st.llm_spend:  # LLM spend per role, from the campaign's call log
        t.caption += "\nLLM " + " · ".join(
            f"{role}: {s.calls} calls, {s.input_tokens} in ({s.cached_input_tokens} cached) / {s.output_tokens} out, "
            f"${s.dollars:.4f}" for role, s in sorted(st.llm_spend.items()))
    return t


def _create(root: Path, cfg: CampaignConfig) -> CampaignPaths:
    # imported here: the runner pulls in LangGraph (~40 % of the CLI's import time), which `status`,
    # `report show`, `dashboard` and every other command loaded for nothing (issue #17)
    from orchestrator.campaign.runner import create_campaign

    return create_campaign(root, cfg)


def _run_with_live(paths: CampaignPaths, rounds: int, resume: bool, quiet: bool) -> CampaignSummary:
    result: dict[str, object] = {}

    def target() -> None:
        from orchestrator.campaign.runner import run_campaign

        try:
            result["summary"] = run_campaign(paths, resume=resume)
        except BaseException as exc:  # surfaced in the main thread
            result["error"] = exc

    worker = threading.Thread(target=target, name="campaign", daemon=True)
    worker.start()
    if quiet or not console.is_terminal:
        last = ""
        while worker.is_alive():
            worker.join(timeout=5.0)
            st = campaign_status(paths, rounds)
            line = f"round {st.round}/{rounds}: " + " ".join(f"{w.worker_id}:{w.state}" for w in st.workers)
            if line != last:
                console.print(line, highlight=False)
                last = line
    else:
        with Live(_status_table(campaign_status(paths, rounds)), console=console, refresh_per_second=1) as live:
            while worker.is_alive():
                worker.join(timeout=1.0)
                live.update(_status_table(campaign_status(paths, rounds)))
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["summary"]  # type: ignore[return-value]


def print_summary(summary: CampaignSummary) -> None:
    t = Table(title=f"trajectory of {summary.campaign}")
    for col in ("round", "search mode", "dev", "leaderboard", "what the loop learned"):
        t.add_column(col, overflow="fold")
    for r in summary.trajectory.rows:
        t.add_row(str(r.round), r.search_mode, "" if r.dev is None else f"{r.dev:.3f}",
                  "" if r.leaderboard is None else f"{r.leaderboard:.3f}", r.learned)
    console.print(t)
    b, base, a = summary.best, summary.substrate_baseline, summary.best_round_baseline
    if b and base and b.public is not None and base.public is not None:
        verdict = "beats" if summary.beats_noise_band else "does NOT beat"
        console.print(
            f"best candidate {b.candidate} ({b.axis}): leaderboard {b.public:.3f} (private {_fmt(b.private)})\n"
            f"substrate baseline (round 1 anchor {base.candidate}): leaderboard {base.public:.3f} "
            f"(private {_fmt(base.private)})\n"
            f"gain {summary.best_beats_baseline_by:+.3f} vs. the campaign's noise band {summary.noise_band:.3f} "
            f"→ {verdict} the band", highlight=False)
        if a and a.public is not None and summary.best_beats_round_anchor_by is not None:
            console.print(f"(vs. its own round's anchor {a.candidate} at {a.public:.3f}: "
                          f"{summary.best_beats_round_anchor_by:+.3f})", highlight=False)
    o = summary.overhead
    console.print(f"wall {o.wall_s:.0f} s, in jobs {o.in_jobs_s:.0f} s, orchestration overhead {o.overhead_s:.1f} s "
                  f"({100 * o.overhead_fraction:.1f}%) · stop reason: {summary.stop_reason}", highlight=False)
    console.print(f"reports: {summary.reports_dir}\npolicies: {summary.policies_dir}", highlight=False)
    if summary.stop_reason.startswith(ALL_FAILED):
        # not bad input (exit 2) but a campaign that produced nothing: say so and fail the command
        Console(stderr=True).print(f"[red]error:[/red] campaign stopped: {summary.stop_reason}", highlight=False,
                                   soft_wrap=True)
        raise typer.Exit(1)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _setup_logging(paths: CampaignPaths) -> None:
    paths.state.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(paths.log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("evotrain")
    root.setLevel(logging.INFO)
    root.addHandler(handler)


@campaign_app.command("start")
def start(
    config: Annotated[Path, typer.Argument(help="Campaign config YAML.")],
    root: RootOpt = Path("."),
    quiet: Annotated[bool, typer.Option(help="Plain progress lines instead of a live table.")] = False,
    allow_unisolated: Annotated[bool, typer.Option(
        "--allow-unisolated", help="Let LLM workers run unconfined where bubblewrap is unavailable.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print round 1's briefs and rendered job specs; write and submit nothing.")] = False,
) -> None:
    """Start a new campaign from CONFIG and run it to the end."""
    cfg = load_config(config)
    if allow_unisolated:
        cfg = cfg.model_copy(update={"allow_unisolated": True})
    if dry_run:
        from orchestrator.campaign.dry_run import dry_run as render_dry_run

        typer.echo(render_dry_run(root.resolve(), cfg), nl=False)
        return
    paths = _create(root.resolve(), cfg)
    _setup_logging(paths)
    print_summary(_run_with_live(paths, cfg.rounds, resume=False, quiet=quiet))


@campaign_app.command("resume")
def resume(
    name: Annotated[str, typer.Argument(help="Campaign name.")],
    root: RootOpt = Path("."),
    quiet: Annotated[bool, typer.Option(help="Plain progress lines instead of a live table.")] = False,
) -> None:
    """Continue a campaign after a crash or a stop: finished work is not redone, running jobs are re-attached."""
    paths = CampaignPaths(root=root.resolve(), campaign=name)
    cfg = _config_of(paths)
    stop = paths.stop_request
    stop.unlink(missing_ok=True)
    _setup_logging(paths)
    print_summary(_run_with_live(paths, cfg.rounds, resume=True, quiet=quiet))


def _config_of(paths: CampaignPaths) -> CampaignConfig:
    from orchestrator.config import CampaignRecord

    if not paths.config.exists():
        raise EvotrainError(f"{paths.config}: no campaign named '{paths.campaign}'")
    return read_model(paths.config, CampaignRecord).config


@campaign_app.command("status")
def status(name: Annotated[str, typer.Argument(help="Campaign name.")], root: RootOpt = Path(".")) -> None:
    """Round, each worker's state, budget used, best leaderboard so far."""
    paths = CampaignPaths(root=root.resolve(), campaign=name)
    console.print(_status_table(campaign_status(paths, _config_of(paths).rounds)))


@campaign_app.command("stop")
def stop(name: Annotated[str, typer.Argument(help="Campaign name.")], root: RootOpt = Path(".")) -> None:
    """Graceful stop: the current round's jobs finish, its report and policy are written, then the campaign ends."""
    paths = CampaignPaths(root=root.resolve(), campaign=name)
    _config_of(paths)
    atomic_write_text(paths.stop_request, f"requested at {time.ctime()}\n")
    console.print(f"stop requested for '{name}': the current round finishes, then the campaign ends "
                  f"(continue later with `evotrain campaign resume {name}`)")


def demo_config(name: str, rounds: int, workers: int, seed: int) -> CampaignConfig:
    return CampaignConfig(name=name, rounds=rounds, workers_per_round=workers, seed=seed)


def demo(
    rounds: Annotated[int, typer.Option(help="Rounds (the paper ran 4).")] = 3,
    workers: Annotated[int, typer.Option(help="Workers per round incl. the baseline anchor (the paper ran 8).")] = 4,
    seed: Annotated[int, typer.Option(help="Campaign seed.")] = 0,
    name: Annotated[str | None, typer.Option(help="Campaign name (default: demo-s<seed>, made unique).")] = None,
    root: RootOpt = Path("."),
    quiet: Annotated[bool, typer.Option(help="Plain progress lines instead of a live table.")] = False,
) -> None:
    """A whole campaign on the default substrate, offline: scripted agents, local executor, local leaderboard."""
    root = root.resolve()
    base = name or f"demo-s{seed}"
    chosen, k = base, 1
    while name is None and CampaignPaths(root, chosen).state.exists():
        k += 1
        chosen = f"{base}-{k}"
    cfg = demo_config(chosen, rounds, workers, seed)
    paths = _create(root, cfg)
    console.print(f"demo campaign '{chosen}': {rounds} rounds × {workers} workers; state in {paths.state}")
    _setup_logging(paths)
    print_summary(_run_with_live(paths, cfg.rounds, resume=False, quiet=quiet))
