"""`evotrain policy diff|show`: read policy versions (never writes)."""

from __future__ import annotations

from pathlib import Path

import typer

from evotrain.errors import EvotrainError
from evotrain.schemas.policy import Policy
from orchestrator.audit.policy_diff import diff_policies, render_diff
from orchestrator.campaign.view import resolve_campaign
from orchestrator.collect.render import render_policy
from orchestrator.meta import policy_store

CampaignOpt = typer.Option(None, "--campaign", "-c", help="Campaign name (default: the most recent).")
REF_HELP = "Round number (of the most recent campaign, or --campaign) or a policy file."
policy_app = typer.Typer(no_args_is_help=True, help="Inspect rolling search policy versions.")


def _resolve(ref: str, campaign: str | None, root: Path) -> Policy:
    """A round number of the campaign (found as `report show` finds it), or a policy file path."""
    if ref.strip().isdigit():
        paths = resolve_campaign(root, campaign)
        path = paths.policy(int(ref))
        if not path.is_file():
            raise EvotrainError(f"{ref}: campaign '{paths.campaign}' has no policy for round {int(ref)} at {path}")
        return policy_store.load(path)
    if campaign is not None:
        raise EvotrainError(f"'{ref}': with --campaign, give a round number")
    return policy_store.load(Path(ref))


@policy_app.command("diff")
def diff_cmd(
    a: str = typer.Argument(..., help=REF_HELP),
    b: str = typer.Argument(..., help=REF_HELP),
    campaign: str | None = CampaignOpt,
    root: Path = typer.Option(Path("."), "--root", help="Workspace root holding policies/."),
    as_json: bool = typer.Option(False, "--json", help="Print the PolicyDiff as JSON."),
) -> None:
    """Semantic difference: recipe keys, axes, dead-ends added, threshold, objective/mode."""
    d = diff_policies(_resolve(a, campaign, root), _resolve(b, campaign, root))
    typer.echo(d.model_dump_json(indent=2) if as_json else render_diff(d))


@policy_app.command("show")
def show_cmd(
    ref: str = typer.Argument(..., help=REF_HELP),
    campaign: str | None = CampaignOpt,
    root: Path = typer.Option(Path("."), "--root"),
) -> None:
    """Render one policy version as Markdown."""
    typer.echo(render_policy(_resolve(ref, campaign, root)))
