"""`evotrain` console script: one Typer app, one sub-app per part of the loop."""

from __future__ import annotations

import sys

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


def _register() -> None:
    # Imported here so `evotrain --help` stays one import away from every group.
    from orchestrator.cli.audit import register_audit_commands
    from orchestrator.cli.campaign import campaign_app, demo
    from orchestrator.cli.doctor import doctor
    from orchestrator.cli.policy import policy_app
    from orchestrator.cli.substrate import leaderboard_app, substrate_app
    from orchestrator.cli.substrate_check import substrate_check
    from orchestrator.cli.worker import worker_app
    from orchestrator.cycle.cli import build_cycle_app
    from orchestrator.evolve.cli import build_evolve_app, serve_command

    substrate_app.command("check", help="Check a substrate folder against the contract (exit 2 on a problem).")(
        substrate_check)
    app.add_typer(substrate_app, name="substrate", help="Run the substrate: train + evaluate one recipe.")
    app.add_typer(leaderboard_app, name="leaderboard", help="Local leaderboard on the hidden split.")
    app.add_typer(worker_app, name="worker", help="Run one memory-free worker on its own (debugging).")
    app.add_typer(policy_app, name="policy", help="Inspect and diff rolling search policy versions.")
    app.add_typer(campaign_app, name="campaign", help="Start, resume, watch and stop campaigns.")
    app.command("demo", help="Run a whole offline campaign on the default substrate (the README's main job).")(demo)
    app.add_typer(build_cycle_app(), name="cycle",
                  help="The continuous champion/challenger cycle: regenerate data, gate, train, benchmark, promote.")
    app.add_typer(build_evolve_app(), name="evolve", help="Router and specialist births: status, births, simulate.")
    app.command("serve", help="OpenAI-compatible server: routes requests to specialists or the generalist.")(
        serve_command)
    app.command("doctor", help="Which job isolation is active here, and which optional backends are installed.")(doctor)
    register_audit_commands(app)  # report show, deadends, trajectory, dashboard, submit, audit


def main() -> None:
    try:
        _register()
        app()
    except EvotrainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
