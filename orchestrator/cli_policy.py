"""`evotrain policy diff|show`: read policy versions (never writes)."""

from __future__ import annotations

from pathlib import Path

import typer

from evotrain.errors import EvotrainError
from evotrain.paths import CampaignPaths
from evotrain.schemas.policy import Policy
from orchestrator import policy_store
from orchestrator.policy_diff import diff_policies, render_diff
from orchestrator.report_render import render_policy

policy_app = typer.Typer(no_args_is_help=True, help="Inspect rolling search policy versions.")


def _resolve(ref: str, campaign: str | None, root: Path) -> Policy:
    """A policy file path, or (with --campaign) a round number under policies/<campaign>/."""
    if campaign is None:
        return policy_store.load(Path(ref))
    try:
        round_no = int(ref)
    except ValueError as exc:
        raise EvotrainError(f"'{ref}': with --campaign, give a round number") from exc
    return policy_store.load(CampaignPaths(root=root, campaign=campaign).policy(round_no))


@policy_app.command("diff")
def diff_cmd(
    a: str = typer.Argument(..., help="Policy file (or round number with --campaign)."),
    b: str = typer.Argument(..., help="Policy file (or round number with --campaign)."),
    campaign: str | None = typer.Option(None, "--campaign", "-c", help="Read rounds of this campaign."),
    root: Path = typer.Option(Path("."), "--root", help="Workspace root holding policies/."),
    as_json: bool = typer.Option(False, "--json", help="Print the PolicyDiff as JSON."),
) -> None:
    """Semantic difference: recipe keys, axes, dead-ends added, threshold, objective/mode."""
    d = diff_policies(_resolve(a, campaign, root), _resolve(b, campaign, root))
    typer.echo(d.model_dump_json(indent=2) if as_json else render_diff(d))


@policy_app.command("show")
def show_cmd(
    ref: str = typer.Argument(..., help="Policy file (or round number with --campaign)."),
    campaign: str | None = typer.Option(None, "--campaign", "-c"),
    root: Path = typer.Option(Path("."), "--root"),
) -> None:
    """Render one policy version as Markdown."""
    typer.echo(render_policy(_resolve(ref, campaign, root)))
