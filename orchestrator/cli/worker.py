"""CLI group `evotrain worker ...`: run one memory-free worker on its own (debugging)."""

from __future__ import annotations

from pathlib import Path

import typer

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.paths import CampaignPaths
from evotrain.schemas.brief import Brief
from llm.base import AgentBackend
from workers.executors.base import Executor
from workers.isolation import resolve_mode
from workers.loop import run_worker
from workers.sandbox import create_sandbox, fork_substrate

worker_app = typer.Typer(no_args_is_help=True)


def _prepare_sandbox(brief: Brief, paths: CampaignPaths, substrate: Path) -> Brief:
    """Fork the substrate and create the brief's sandbox if they do not exist yet (idempotent)."""
    sandbox = Path(brief.sandbox)
    if not sandbox.is_absolute():
        raise EvotrainError(f"brief: field 'sandbox': must be an absolute path, got {brief.sandbox!r}")
    commit = brief.substrate_commit
    if not commit or not (sandbox / ".git").is_file():
        fork = fork_substrate(substrate, paths.substrate_repo)
        commit = commit or fork.commit
    create_sandbox(paths.substrate_repo, commit, sandbox)
    return brief.model_copy(update={"substrate_commit": commit})


def _agent(kind: str, agent_config: Path | None, brief: Brief) -> AgentBackend:
    from workers.agents.factory import load_agent_config, make_agent

    config = load_agent_config(agent_config) if agent_config else None
    if kind == "scripted":
        return make_agent("scripted")
    return make_agent(kind, config, brief.budget)  # type: ignore[arg-type]  # factory checks the kind


def _executor(kind: str, paths: CampaignPaths, slots: int | None) -> Executor:
    from workers.executors.factory import make_executor

    options = {"total_slots": slots} if slots is not None and kind == "local" else {}
    return make_executor(kind, paths.jobs, **options)


@worker_app.command("run")
def run(
    brief_path: Path = typer.Option(..., "--brief", help="Brief JSON (evotrain.schemas.brief.Brief)."),
    executor: str = typer.Option("local", help="local | ray | kubernetes"),
    agent: str = typer.Option("scripted", help="scripted | anthropic | openai"),
    agent_config: Path | None = typer.Option(None, help="AgentConfig YAML/JSON for LLM backends."),
    root: Path = typer.Option(Path("."), help="Workspace root (campaigns/ sandboxes/ live here)."),
    substrate: Path = typer.Option(Path("substrate/default"), help="Substrate folder to fork if needed."),
    manifest: Path | None = typer.Option(None, help="Manifest path (default: the campaign layout)."),
    trace: Path | None = typer.Option(None, help="Trace JSONL path (default: the campaign layout)."),
    frozen: list[str] = typer.Option([], "--frozen", help="Extra frozen glob (the constitution's list)."),
    slots: int | None = typer.Option(None, help="CPU slots of the local executor (default: all cores)."),
    isolation: str = typer.Option("auto", help="auto | bwrap | none: how the worker's jobs are confined."),
    allow_unisolated: bool = typer.Option(False, "--allow-unisolated",
                                          help="Let an LLM worker run unconfined where bwrap is unavailable."),
) -> None:
    """Run one worker: fork + sandbox if missing, agent loop, manifest. Exit 0 if the manifest is ok, 1 if not."""
    if isolation not in ("auto", "bwrap", "none"):
        raise EvotrainError(f"--isolation: '{isolation}' is not one of auto, bwrap, none")
    mode = resolve_mode(isolation, llm_agent=agent != "scripted", allow_unisolated=allow_unisolated)  # type: ignore[arg-type]
    brief = read_model(brief_path, Brief)
    paths = CampaignPaths(root=root.resolve(), campaign=brief.campaign)
    brief = _prepare_sandbox(brief, paths, substrate)
    manifest_path = manifest or paths.manifest(brief.round, brief.worker_id)
    trace_path = trace or paths.trace(brief.round, brief.worker_id)
    result = run_worker(
        brief,
        executor=_executor(executor, paths, slots),
        agent=_agent(agent, agent_config, brief),
        manifest_path=manifest_path,
        trace_path=trace_path,
        repo_dir=paths.substrate_repo,
        extra_frozen=list(frozen),
        isolation=mode,
    )
    fatal = ", ".join(f"{f.mode.value}: {f.message}" for f in result.failures if f.fatal)
    score = f"dev {result.dev_score:.4f} @ step {result.chosen_step}" if result.dev_score is not None else "no score"
    typer.echo(f"{brief.worker_id} [{result.axis}] {result.status}: {score}{'; ' + fatal if fatal else ''}")
    typer.echo(f"manifest: {manifest_path}\ntrace: {trace_path}")
    raise typer.Exit(0 if result.status == "ok" else 1)
