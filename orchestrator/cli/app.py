"""`evotrain` console script: one Typer app, one sub-app per part of the loop."""

from __future__ import annotations

import sys
from collections.abc import Callable

import typer
from rich.console import Console

from evotrain.errors import EvotrainError

app = typer.Typer(
    name="evotrain",
    help="Autonomous multi-round post-training campaigns (offline default: mini Nemotron-reasoning task).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


def _substrate() -> None:
    from orchestrator.cli.substrate import leaderboard_app, substrate_app
    from orchestrator.cli.substrate_check import substrate_check

    substrate_app.command("check", help="Check a substrate folder against the contract (exit 2 on a problem).")(
        substrate_check)
    app.add_typer(substrate_app, name="substrate", help="Run the substrate: train + evaluate one recipe.")
    app.add_typer(leaderboard_app, name="leaderboard", help="Local leaderboard on the hidden split.")


def _worker() -> None:
    from orchestrator.cli.worker import worker_app

    app.add_typer(worker_app, name="worker", help="Run one memory-free worker on its own (debugging).")


def _policy() -> None:
    from orchestrator.cli.policy import policy_app

    app.add_typer(policy_app, name="policy", help="Inspect and diff rolling search policy versions.")


def _campaign() -> None:
    from orchestrator.cli.campaign import campaign_app, demo

    app.add_typer(campaign_app, name="campaign", help="Start, resume, watch and stop campaigns.")
    app.command("demo", help="Run a whole offline campaign on the default substrate (the README's main job).")(demo)


def _cycle() -> None:
    from orchestrator.cycle.cli import build_cycle_app

    app.add_typer(build_cycle_app(), name="cycle",
                  help="The continuous champion/challenger cycle: regenerate data, gate, train, benchmark, promote.")


def _evolve() -> None:
    from orchestrator.evolve.cli import build_evolve_app, serve_command

    app.add_typer(build_evolve_app(), name="evolve", help="Router and specialist births: status, births, simulate.")
    app.command("serve", help="OpenAI-compatible server: routes requests to specialists or the generalist.")(
        serve_command)


def _doctor() -> None:
    from orchestrator.cli.doctor import doctor

    app.command("doctor", help="Which job isolation is active here, and which optional backends are installed.")(doctor)


def _bench() -> None:
    from orchestrator.cli.bench import bench_app

    app.add_typer(bench_app, name="bench", help="Does the loop do research? efficiency vs random search, A/A, drift.")


def _audit() -> None:
    from orchestrator.cli.audit import register_audit_commands

    register_audit_commands(app)  # report show, deadends, trajectory, dashboard, submit, audit


# Each top-level command -> the function that registers its group. A command line imports only the
# group it names (`campaign status` need not import the cycle's embedder or the dashboard), which
# keeps a status query at a fraction of a second of imports; `evotrain --help` registers them all.
_GROUPS: dict[str, Callable[[], None]] = {
    "substrate": _substrate, "leaderboard": _substrate, "worker": _worker, "policy": _policy,
    "campaign": _campaign, "demo": _campaign, "cycle": _cycle, "evolve": _evolve, "serve": _evolve,
    "doctor": _doctor, "report": _audit, "deadends": _audit, "trajectory": _audit, "dashboard": _audit,
    "submit": _audit, "audit": _audit, "bench": _bench,
}


def _register(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    first = next((a for a in args if not a.startswith("-")), None)
    if first in _GROUPS:
        _GROUPS[first]()
        return
    for register in dict.fromkeys(_GROUPS.values()):  # every group once, in table order
        register()


def main() -> None:
    try:
        _register()
        app()
    except EvotrainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
