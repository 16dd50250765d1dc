"""`evotrain substrate check DIR`: one line per contract problem on stderr, exit 2 if there is any."""

from __future__ import annotations

from pathlib import Path

import typer

from evotrain.errors import EvotrainError
from orchestrator.campaign.substrate_check import check_substrate


def substrate_check(
    directory: Path = typer.Argument(..., help="the substrate folder (contains substrate.yaml)"),
    run: bool = typer.Option(True, "--run/--no-run", help="also run its validator and one smoke run"),
    inputs: list[str] = typer.Option([], "--input", metavar="NAME=PATH",
                                     help="a file for a declared input (substrate.yaml inputs); repeatable"),
) -> None:
    """Check a substrate against the contract: spec schema, editable/frozen coverage, recipe + axes, validate, smoke."""
    given: dict[str, Path] = {}
    for item in inputs:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise EvotrainError(f"--input: expected NAME=PATH, got {item!r}")
        given[name] = Path(path)
    problems = check_substrate(directory, run=run, inputs=given)
    for problem in problems:
        typer.echo(f"error: {problem}", err=True)
    if problems:
        raise typer.Exit(2)
    typer.echo(f"substrate {directory}: OK" + ("" if run else " (static checks only: --no-run)"))
