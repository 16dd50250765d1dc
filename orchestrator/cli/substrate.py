"""CLI groups `evotrain substrate ...` and `evotrain leaderboard ...`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.schemas.results import JudgeReport, RunResults
from orchestrator.leaderboard.base import SubmissionBudgetExceeded
from orchestrator.leaderboard.local import LocalLeaderboard
from workers.substrate_contract import load_spec, parse_recipe_text, render_command

substrate_app = typer.Typer(no_args_is_help=True)
leaderboard_app = typer.Typer(no_args_is_help=True)
console = Console()

DEFAULT_SUBSTRATE = Path("substrate/default")
DEFAULT_LEADERBOARD = Path(".cache/leaderboard")


def results_table(results: RunResults) -> Table:
    """One row per checkpoint, one column per family."""
    families = sorted({f for c in results.checkpoints for f in c.by_family})
    table = Table(title=f"dev accuracy (seed {results.seed}, {results.steps} steps)")
    table.add_column("step", justify="right")
    table.add_column("overall", justify="right")
    for family in families:
        table.add_column(family, justify="right")
    for ckpt in results.checkpoints:
        cells = [f"{ckpt.by_family[f]:.3f}" if f in ckpt.by_family else "-" for f in families]
        table.add_row(str(ckpt.step), f"{ckpt.overall:.3f}", *cells)
    return table


@substrate_app.command("run")
def run(
    recipe: Path | None = typer.Option(None, help="recipe YAML (default: the substrate's recipe.yaml)"),
    out: Path | None = typer.Option(None, help="output folder (default: runs/substrate-<time>)"),
    substrate: Path = typer.Option(DEFAULT_SUBSTRATE, help="substrate folder"),
    seed: int | None = typer.Option(None, help="override the recipe's seed"),
    smoke: bool = typer.Option(False, help="<= 5 steps and a tiny eval: check that the recipe runs"),
) -> None:
    """Train + evaluate one recipe with the substrate's run command; print per-family dev accuracy."""
    spec = load_spec(substrate)
    if recipe is not None and not recipe.is_absolute() and not recipe.exists() and (substrate / recipe).is_file():
        recipe = substrate / recipe  # `--substrate substrate/nemotron --recipe recipe.tiny.yaml`
    recipe_path = (recipe or substrate / spec.recipe_file).resolve()
    out_dir = (out or Path("runs") / time.strftime("substrate-%Y%m%d-%H%M%S")).resolve()
    template = list(spec.run_command)
    if seed is None and "{seed}" in template:  # drop `--seed {seed}`: the recipe's seed applies
        at = template.index("{seed}")
        del template[at - 1 : at + 1]
    command = render_command(template, recipe=str(recipe_path), out=str(out_dir), seed=str(seed))
    if smoke:
        command.append("--smoke")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    t0 = time.perf_counter()
    with console.status("training + evaluating ...") if sys.stdout.isatty() else _null():
        proc = subprocess.run(command, cwd=substrate.resolve(), env=env, check=False)
    if proc.returncode != 0:
        raise typer.Exit(proc.returncode)
    results = read_model(out_dir / spec.results_file, RunResults)
    if spec.judge_command:  # the run does not score itself: the frozen judge does, as in a campaign
        report = out_dir / "judge.json"
        dev_items = parse_recipe_text(recipe_path.read_text(encoding="utf-8"), str(recipe_path)).get("dev_items")
        judge = render_command(spec.judge_command, run=str(out_dir), report=str(report),
                               dev_items=dev_items if isinstance(dev_items, int) else None)  # this recipe's split
        if subprocess.run(judge, cwd=substrate.resolve(), env=env, check=False).returncode != 0:
            raise EvotrainError(f"{substrate}: the judge command failed on {out_dir}")
        judged = read_model(report, JudgeReport)
        results = results.model_copy(update={"checkpoints": judged.checkpoints, "eval_seconds": judged.eval_seconds})
    console.print(results_table(results))
    console.print(
        f"wall {time.perf_counter() - t0:.1f}s (train {results.train_seconds:.1f}s, "
        f"eval {results.eval_seconds:.1f}s) -> {out_dir / spec.results_file}"
    )


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@leaderboard_app.command("score")
def score(
    adapter_dir: Path = typer.Argument(..., help="folder with adapter_config.json + adapter_model.safetensors"),
    private: bool = typer.Option(False, "--private", help="also score the private half (end of campaign)"),
    substrate: Path = typer.Option(DEFAULT_SUBSTRATE, help="canonical substrate folder"),
    folder: Path = typer.Option(DEFAULT_LEADERBOARD, help="leaderboard folder (split + records)"),
    candidate: str = typer.Option("manual", help="candidate name recorded with the submission"),
    round_no: int = typer.Option(0, "--round", help="round the submission is charged to"),
    budget: int = typer.Option(5, help="submissions allowed per round"),
) -> None:
    """Score an adapter on the hidden split's public half (and private with --private)."""
    board = LocalLeaderboard(substrate, folder, budget_per_round=budget)
    try:
        result = board.submit(candidate, round_no, adapter_dir, final=private)
    except SubmissionBudgetExceeded as exc:
        raise EvotrainError(str(exc)) from exc
    table = Table(title=f"leaderboard {result.submission_id} ({result.n_items} public items)")
    table.add_column("family")
    table.add_column("public", justify="right")
    for family, acc in sorted(result.public_by_family.items()):
        table.add_row(family, f"{acc:.3f}")
    table.add_row("overall", f"{result.public:.3f}")
    console.print(table)
    if result.private is not None:
        console.print(f"private: {result.private:.3f}")
    console.print(f"remaining this round: {board.remaining(round_no)}")
