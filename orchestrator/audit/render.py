"""Rich renderings for the terminal audit commands (report, dead ends, trajectory, submissions)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from evotrain.schemas.report import RoundReport
from orchestrator.audit.dashboard_data import DeadEndRow
from orchestrator.audit.trajectory import Trajectory
from orchestrator.leaderboard.submit import SubmissionRecord


def num(x: float | None, fmt: str = "{:.3f}") -> str:
    return "–" if x is None else fmt.format(x)


def print_report(console: Console, r: RoundReport) -> None:
    console.rule(f"[bold]{r.campaign} · round {r.round}[/bold] · {r.search_mode} · objective {r.objective}")
    t = Table(title="1. Per-candidate summaries", title_justify="left")
    for col in ("worker", "axis", "status", "dev", "LB", "summary"):
        t.add_column(col, justify="right" if col in ("dev", "LB") else "left")
    for c in r.candidates:
        label = f"{c.worker_id} (anchor)" if c.is_baseline else c.worker_id
        status = f"{c.status}: {c.failure}" if c.failure else c.status
        t.add_row(label, f"{c.axis} ({c.axis_category})", status, num(c.dev), num(c.leaderboard), c.summary)
    console.print(t)
    console.print("[bold]2. Cross-candidate patterns[/bold]")
    for p in r.patterns or []:
        console.print(f"  • {p.statement}" + (f"  [dim][{', '.join(p.evidence)}][/dim]" if p.evidence else ""))
    if not r.patterns:
        console.print("  [dim]none[/dim]")
    cal = r.calibration
    t = Table(title="3. Dev / leaderboard calibration", title_justify="left")
    for col in ("worker", "dev", "LB", "gap"):
        t.add_column(col, justify="left" if col == "worker" else "right")
    for row in cal.rows:
        t.add_row(row.worker_id, num(row.dev), num(row.leaderboard), num(row.gap, "{:+.3f}"))
    console.print(t)
    console.print(
        f"  rank correlation {num(cal.rank_correlation)} · mean gap {num(cal.mean_gap)} · noise band "
        f"{num(cal.noise_band)} · baseline {num(cal.baseline_dev)}/{num(cal.baseline_leaderboard)} · "
        f"best {num(cal.best_dev)}/{num(cal.best_leaderboard)}"
    )
    if cal.drift_flag:
        console.print(f"  [bold red]proxy drift[/bold red]: {cal.drift_evidence}")
    if cal.narrative:
        console.print(f"  {cal.narrative}")
    console.print("[bold]4. Surprises[/bold]")
    for s in r.surprises or []:
        console.print(f"  • {s.statement}" + (f" [dim]({s.worker_id})[/dim]" if s.worker_id else ""))
    if not r.surprises:
        console.print("  [dim]none[/dim]")
    t = Table(title="5. Design-rationale audit", title_justify="left")
    for col in ("worker", "rationale", "consistent", "note"):
        t.add_column(col)
    for a in r.rationale_audit:
        t.add_row(a.worker_id, a.rationale, "yes" if a.consistent else "[red]no[/red]", a.note)
    console.print(t)


def print_dead_ends(console: Console, campaign: str, rows: list[DeadEndRow]) -> None:
    t = Table(title=f"Don't waste budget on · {campaign} ({len(rows)})", title_justify="left")
    for col in ("round", "policy", "what", "key", "why", "evidence"):
        t.add_column(col)
    for row in rows:
        d = row.entry
        key = f"{d.key} {d.direction}" + (f" {d.value}" if d.value is not None else "")
        t.add_row(str(d.round), str(row.first_policy), d.what, key, d.why, d.evidence)
    console.print(t)


def print_trajectory(console: Console, traj: Trajectory) -> None:
    t = Table(title=f"Round-by-round trajectory · {traj.campaign}", title_justify="left")
    t.add_column("Round", justify="right")
    t.add_column("Search mode")
    t.add_column("Dev", justify="right")
    t.add_column("LB", justify="right")
    t.add_column("What the loop learned")
    for row in traj.rows:
        t.add_row(str(row.round), row.search_mode, num(row.dev), num(row.leaderboard), row.learned)
    console.print(t)


def print_submission(console: Console, rec: SubmissionRecord) -> None:
    c = rec.check
    head = "[bold]DRY RUN[/bold] — would send" if rec.dry_run else "sent"
    console.print(f"{head} {rec.candidate} to {rec.destination or rec.backend}")
    t = Table(show_header=False)
    t.add_column("field")
    t.add_column("value")
    t.add_row("adapter", rec.adapter_source)
    t.add_row("package", c.zip_path if not rec.dry_run else "submission.zip (temporary)")
    t.add_row("files", ", ".join(c.files))
    t.add_row("bytes", str(c.zip_bytes))
    t.add_row("sha256", c.zip_sha256)
    t.add_row("LoRA rank", str(c.rank))
    t.add_row("target modules", ", ".join(c.target_modules))
    t.add_row("base model", c.base_model)
    if rec.result is not None:
        t.add_row("status", rec.result.status)
        t.add_row("submission id", rec.result.submission_id)
        t.add_row("public score", num(rec.result.public, "{:.4f}"))
        if rec.result.message:
            t.add_row("message", rec.result.message)
    console.print(t)
