"""CLI group `evotrain worker ...` (filled by the workers work)."""

from __future__ import annotations

import typer

worker_app = typer.Typer(no_args_is_help=True)
