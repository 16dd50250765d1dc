"""CLI: `evotrain evolve status | births | simulate [TRAFFIC]` and `evotrain serve`.

The lead wires them: `root.add_typer(build_evolve_app(), name="evolve")` and
`root.command("serve")(serve_command)`.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from evotrain.errors import EvotrainError
from orchestrator.evolve.config import EvolveConfig, load_config

CONFIG_HELP = "evolve config YAML (default: the embedded offline setting)"


def _config(config: Path | None, state: Path | None) -> EvolveConfig:
    cfg = load_config(config)
    return cfg.model_copy(update={"state_dir": str(state)}) if state else cfg


def _fail(exc: EvotrainError) -> None:
    typer.echo(f"error: {exc.message}", err=True)
    raise typer.Exit(exc.exit_code)


def build_evolve_app() -> typer.Typer:
    app = typer.Typer(no_args_is_help=True, help="Router + specialist births (FindingNemo loop).")

    @app.command("status")
    def status(
        config: Path | None = typer.Option(None, help=CONFIG_HELP),
        state: Path | None = typer.Option(None, help="state folder (overrides the config's state_dir)"),
        as_json: bool = typer.Option(False, "--json", help="print the registry as JSON"),
    ) -> None:
        """Specialists in the registry and the unserved clusters."""
        from orchestrator.evolve.births_log import BirthsLog
        from orchestrator.evolve.registry import Registry

        try:
            cfg = _config(config, state)
            root = cfg.state_path()
            if not (root / "registry.sqlite").is_file():
                raise EvotrainError(f"state_dir: {root}: no registry yet (run `evotrain evolve simulate` or `serve`)")
            reg = Registry(root / "registry.sqlite")
            agents = reg.agents(status=None)
            clusters, _ = reg.load_clusters()
            n_births = len(BirthsLog(root / "births.jsonl").entries())
            reg.close()
        except EvotrainError as exc:
            _fail(exc)
        if as_json:
            typer.echo(json.dumps({
                "agents": [a.model_dump(mode="json", exclude={"centroid"}) for a in agents],
                "clusters": [{"cluster_id": c.cluster_id, "size": c.n, "labels": dict(c.labels)} for c in clusters],
                "births": n_births,
            }, indent=2))
            return
        typer.echo(f"state: {root}  specialists: {len(agents)}  unserved clusters: {len(clusters)}  births: {n_births}")
        for a in agents:
            typer.echo(f"  {a.agent_id:<28} intent={a.intent:<18} threshold={a.threshold:.3f} served={a.served} "
                       f"status={a.status}")
        for c in clusters:
            typer.echo(f"  cluster {c.cluster_id:<4} size={c.n:<5} weight={c.weight:.1f}")

    @app.command("births")
    def births(
        config: Path | None = typer.Option(None, help=CONFIG_HELP),
        state: Path | None = typer.Option(None, help="state folder (overrides the config's state_dir)"),
    ) -> None:
        """Every birth attempt from the hash-checked births log."""
        from orchestrator.evolve.births_log import BirthsLog

        try:
            records = BirthsLog(_config(config, state).state_path() / "births.jsonl").records()
        except EvotrainError as exc:
            _fail(exc)
        if not records:
            typer.echo("no births yet")
        for r in records:
            gate = f" gate {r.gate.student:.3f} vs generalist {r.gate.generalist:.3f}" if r.gate else ""
            kept = f" kept {r.reward.n_kept}/{r.reward.n_scored}" if r.reward else ""
            typer.echo(f"{r.birth_id:<14} t={r.t:<7g} {r.outcome:<10} {r.agent_id or '-':<28} cluster "
                       f"{r.cluster_size} {r.cluster_labels}{kept}{gate} {r.message}".rstrip())

    @app.command("simulate")
    def simulate_cmd(
        traffic: Path | None = typer.Argument(None, help="stream: phases YAML or requests JSONL (default: embedded)"),
        config: Path | None = typer.Option(None, help=CONFIG_HELP),
        state: Path | None = typer.Option(None, help="state folder (overrides the config's state_dir)"),
        fresh: bool = typer.Option(True, help="start from an empty registry (keeps the trained generalist)"),
        batch: int = typer.Option(32, min=1, help="requests per routing/answering step (births run between steps)"),
    ) -> None:
        """Replay a stream through the router and the birth loop (no HTTP); print the report."""
        from orchestrator.evolve.simulate import simulate

        try:
            cfg = _config(config, state)
            if fresh:
                _reset_state(cfg.state_path())
            report = simulate(cfg, traffic, batch=batch, on_birth=lambda r: typer.echo(
                f"[birth] {r.birth_id} {r.outcome} {r.agent_id or ''} {r.message}".rstrip()))
        except EvotrainError as exc:
            _fail(exc)
        typer.echo(f"requests {report.n_requests} in {report.seconds:.0f} s; specialists {report.specialists}; "
                   f"duplicates {report.duplicates}; purity {report.purity}")
        typer.echo(f"served by specialists: {report.served_by_specialist:.1%} overall, "
                   f"{report.served_by_specialist_after_births:.1%} after the last birth")
        typer.echo(f"cost ${report.cost_dollars:.4f} vs ${report.cost_generalist_only:.4f} generalist only; "
                   f"router p50 {report.router_ms_p50:.1f} ms, p95 {report.router_ms_p95:.1f} ms")
        for label, agents in sorted(report.per_label.items()):
            parts = [f"{a}: {m.served} served, acc {m.correct}/{m.scored}" for a, m in agents.items()]
            typer.echo(f"  {label:<18} " + "; ".join(parts))

    return app


def _reset_state(root: Path) -> None:
    """Forget agents, clusters and births; the generalist's adapter (costly to train) is kept."""
    import shutil

    for name in ("registry.sqlite", "registry.sqlite-wal", "registry.sqlite-shm", "births.jsonl",
                 "simulate-report.json"):
        (root / name).unlink(missing_ok=True)
    shutil.rmtree(root / "births", ignore_errors=True)


def serve_command(
    config: Path | None = typer.Option(None, help=CONFIG_HELP),
    state: Path | None = typer.Option(None, help="state folder (overrides the config's state_dir)"),
    host: str = typer.Option("127.0.0.1", help="bind address"),
    port: int = typer.Option(8000, help="port"),
    no_births: bool = typer.Option(False, "--no-births", help="route and answer only; never train"),
) -> None:
    """OpenAI-compatible /v1/chat/completions in front of the generalist and the specialists."""
    try:
        from orchestrator.evolve.server import serve
    except ImportError as exc:
        _fail(EvotrainError(f"serve: needs the evolve extra (pip install -e '.[evolve]'): {exc}"))
    try:
        serve(_config(config, state), host=host, port=port, births=not no_births)
    except EvotrainError as exc:
        _fail(exc)


if __name__ == "__main__":  # `python -m orchestrator.evolve.cli --port N`: the server without the root CLI
    typer.run(serve_command)
