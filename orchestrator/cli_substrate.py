"""CLI groups `evotrain substrate ...` and `evotrain leaderboard ...` (filled by the substrate work)."""

from __future__ import annotations

import typer

substrate_app = typer.Typer(no_args_is_help=True)
leaderboard_app = typer.Typer(no_args_is_help=True)
