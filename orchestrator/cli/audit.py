"""Audit and submission commands: report show, deadends, trajectory, dashboard, submit, audit ...

`register_audit_commands(app)` adds them to the `evotrain` Typer app. The workspace root is the
current directory; a campaign defaults to the most recent one under ./campaigns.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from evotrain.errors import EvotrainError
from orchestrator.audit.log import AuditLog, PolicyChangePayload
from orchestrator.audit.render import print_dead_ends, print_report, print_submission, print_trajectory
from orchestrator.campaign.view import load_report, parse_candidate, report_rounds, resolve_campaign

console = Console()
report_app = typer.Typer(no_args_is_help=True)
audit_app = typer.Typer(no_args_is_help=True)

CampaignOpt = typer.Option(None, "--campaign", "-c", help="Campaign name (default: the most recent).")


class Destination(StrEnum):
    local = "local"
    kaggle = "kaggle"


def _paths(campaign: str | None):  # -> CampaignPaths
    return resolve_campaign(Path.cwd(), campaign)


@report_app.command("show")
def report_show(round_no: int = typer.Argument(..., metavar="ROUND", help="Round number."),
                campaign: str | None = CampaignOpt) -> None:
    """Print a round report's five sections."""
    print_report(console, load_report(_paths(campaign), round_no))


def deadends(campaign: str | None = CampaignOpt) -> None:
    """The dead-end registry ("Don't waste budget on") with the round and policy that added each entry."""
    from orchestrator.audit.dashboard_data import dead_end_rows

    paths = _paths(campaign)
    print_dead_ends(console, paths.campaign, dead_end_rows(paths))


def trajectory(campaign: str | None = CampaignOpt,
               plot: Path | None = typer.Option(None, "--plot", help="Write a PNG of dev and LB by round."),
               reference: float | None = typer.Option(None, "--reference", help="Reference line, e.g. 0.87.")) -> None:
    """The round-by-round table (round, search mode, dev, LB, what the loop learned)."""
    from orchestrator.audit.trajectory import load_trajectory, plot_trajectory

    traj = load_trajectory(_paths(campaign))
    if not traj.rows:
        raise EvotrainError(f"campaign '{traj.campaign}': no round reports yet")
    print_trajectory(console, traj)
    if plot is not None:
        console.print(f"plot: {plot_trajectory(traj, plot, reference=reference)}")


def dashboard(campaign: str | None = CampaignOpt,
              serve: bool = typer.Option(False, "--serve", help="Serve it on http://127.0.0.1:PORT/."),
              port: int = typer.Option(8765, "--port", min=1, max=65535),
              reference: float | None = typer.Option(None, "--reference", help="Reference line on the plot.")) -> None:
    """Generate the static HTML dashboard into reports/<campaign>/dashboard/ (and optionally serve it)."""
    from orchestrator.audit.dashboard import render_dashboard
    from orchestrator.audit.dashboard import serve as make_server

    index = render_dashboard(_paths(campaign), reference=reference)
    console.print(f"dashboard: {index}")
    if serve:
        try:
            server = make_server(index.parent, port)
        except OSError as exc:
            raise EvotrainError(f"--port: cannot listen on 127.0.0.1:{port} ({exc.strerror})") from exc
        console.print(f"serving on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


def submit(candidate: str | None = typer.Option(None, "--candidate", help="ROUND/WORKER, e.g. 2/w03."),
           best: bool = typer.Option(False, "--best", help="The best candidate by leaderboard (then dev)."),
           champion: bool = typer.Option(False, "--champion", help="The continuous cycle's current champion."),
           cycle_config: Path | None = typer.Option(None, "--cycle-config",
                                                    help="Cycle config of --champion (default: the embedded cycle)."),
           to: Destination = typer.Option(..., "--to", help="local | kaggle"),
           dry_run: bool = typer.Option(False, "--dry-run", help="Package + validate, print, send nothing."),
           config: Path | None = typer.Option(None, "--config",
                                              help="Submission limits YAML (default campaigns/<c>/submission.yaml)."),
           campaign: str | None = CampaignOpt) -> None:
    """Package a candidate's adapter as submission.zip, validate it, send it, record it in the audit log."""
    from orchestrator.leaderboard import submit as submit_flow
    from orchestrator.leaderboard.package import load_submission_config

    if [candidate is not None, best, champion].count(True) != 1:
        raise EvotrainError("submit: pass exactly one of --candidate ROUND/WORKER, --best or --champion")
    if champion and dry_run and campaign is None:  # a dry run of the champion needs no campaign
        try:
            paths = _paths(campaign)
        except EvotrainError:
            paths = None
    else:
        paths = _paths(campaign)
    if config is not None and not config.is_file():
        raise EvotrainError(f"--config: file not found: {config}")
    cfg = load_submission_config(config or (paths.submission_config if paths else None),
                                 paths.config if paths else None)
    adapter = None
    if champion:  # sent like a candidate of the campaign's current submission round, recorded in its audit log
        round_no = (submit_flow.submission_round(paths) or max(report_rounds(paths), default=0)) if paths else 0
        ref, adapter = submit_flow.champion_candidate(cycle_config, round_no)
    else:
        assert paths is not None
        ref = submit_flow.best_candidate(paths) if best else parse_candidate(candidate or "")
    if to is Destination.kaggle:
        via = f" via {cfg.kaggle.api_endpoint}" if cfg.kaggle.api_endpoint else ""
        destination = f"kaggle competition '{cfg.kaggle.competition}'{via}"
    else:
        destination = f"local leaderboard ({paths.leaderboard if paths else 'of a campaign'})"
    if dry_run:
        print_submission(console, submit_flow.dry_run(paths, ref, to.value, cfg, destination, adapter=adapter))
        return
    assert paths is not None
    def open_target() -> submit_flow.SubmissionTarget:
        if to is Destination.kaggle:
            from orchestrator.leaderboard.kaggle import KaggleBackend

            backend = KaggleBackend(cfg.kaggle)
            backend.authenticate()  # before anything is sent: no credentials → one line, exit 2
            return submit_flow.KaggleTarget(backend)
        return submit_flow.LocalTarget(submit_flow.open_local_leaderboard(paths),
                                       round_no=submit_flow.submission_round(paths))

    record = submit_flow.submit(paths, ref, open_target, cfg, destination, adapter=adapter)
    print_submission(console, record)
    if record.result is not None and record.result.status == "error":
        raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify(campaign: str | None = CampaignOpt) -> None:
    """Check the hash chain of campaigns/<c>/audit.jsonl and the logged policy files; exit 1 on a problem."""
    from orchestrator.audit.policies import check_policy_files

    paths = _paths(campaign)
    result = AuditLog(paths.audit_log).verify()
    if not result.ok:
        console.print(f"[red]audit log BROKEN:[/red] {result.error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    problems, notes = check_policy_files(paths)
    for note in notes:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False, soft_wrap=True)
    if problems:
        console.print(f"[red]audit log BROKEN:[/red] {problems[0]}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"audit log OK: {result.entries} entries, chain and head intact ({paths.audit_log})",
                  highlight=False, soft_wrap=True)


@audit_app.command("show")
def audit_show(campaign: str | None = CampaignOpt) -> None:
    """List the audit log's entries (fails if the chain is broken)."""
    from rich.table import Table

    paths = _paths(campaign)
    t = Table(title=f"audit log · {paths.campaign}", title_justify="left")
    for col in ("seq", "kind", "what", "hash"):
        t.add_column(col)
    for e in AuditLog(paths.audit_log).entries():
        p = e.payload
        what = (f"policy round {p.round}: {p.search_mode}, {p.dead_ends} dead ends"
                if isinstance(p, PolicyChangePayload)
                else f"{p.candidate} → {p.backend}: {p.status} {'' if p.public is None else f'{p.public:.4f}'}")
        t.add_row(str(e.seq), e.kind, what, e.hash[:12])
    console.print(t)


@audit_app.command("record-policies")
def audit_record_policies(campaign: str | None = CampaignOpt) -> None:
    """Append a policy_change entry for every policy version not logged yet (round order)."""
    from orchestrator.audit.policies import record_new_policies

    added = record_new_policies(_paths(campaign))
    console.print(f"recorded {len(added)} policy change(s)")


def register_audit_commands(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report", help="Round reports: `report show ROUND`.")
    app.command("deadends")(deadends)
    app.command("trajectory")(trajectory)
    app.command("dashboard")(dashboard)
    app.command("submit")(submit)
    app.add_typer(audit_app, name="audit", help="Hash-chained audit log: verify, show, record-policies.")
