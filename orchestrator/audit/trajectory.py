"""The paper's round-by-round trajectory (Table 2) and its plot (Figure 3), from reports + policies.

Row r: the search mode and best dev / best leaderboard of round r's report, and "what the loop
learned" = the rationale of the policy written after round r (policy r+1). Row 0 is the substrate:
round 1's baseline anchor, with the initial policy's rationale.
"""

from __future__ import annotations

from pathlib import Path

from evotrain.io import atomic_write_bytes
from evotrain.paths import CampaignPaths
from evotrain.schemas.common import Artifact
from evotrain.schemas.policy import Policy
from evotrain.schemas.report import RoundReport
from orchestrator.campaign.view import load_policies, load_reports


class TrajectoryRow(Artifact):
    round: int
    search_mode: str
    objective: str = ""
    dev: float | None = None
    leaderboard: float | None = None
    learned: str = ""


class Trajectory(Artifact):
    campaign: str
    rows: list[TrajectoryRow]


def _best(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _round_row(report: RoundReport, learned: str) -> TrajectoryRow:
    cal = report.calibration
    dev = cal.best_dev if cal.best_dev is not None else _best([c.dev for c in report.candidates])
    lb = cal.best_leaderboard
    if lb is None:
        lb = _best([c.leaderboard for c in report.candidates])
    return TrajectoryRow(
        round=report.round, search_mode=report.search_mode, objective=report.objective,
        dev=dev, leaderboard=lb, learned=learned,
    )


def _substrate_row(first: RoundReport, initial: Policy | None) -> TrajectoryRow | None:
    cal = first.calibration
    anchor = next((c for c in first.candidates if c.is_baseline), None)
    dev = cal.baseline_dev if cal.baseline_dev is not None else (anchor.dev if anchor else None)
    lb = cal.baseline_leaderboard if cal.baseline_leaderboard is not None else (anchor.leaderboard if anchor else None)
    if dev is None and lb is None:
        return None
    learned = initial.rationale if initial else ""
    return TrajectoryRow(round=0, search_mode="Substrate", dev=dev, leaderboard=lb, learned=learned)


def build_trajectory(reports: list[RoundReport], policies: list[Policy], campaign: str) -> Trajectory:
    by_round = {p.round: p for p in policies}
    rows: list[TrajectoryRow] = []
    ordered = sorted(reports, key=lambda r: r.round)
    if ordered:
        substrate = _substrate_row(ordered[0], by_round.get(ordered[0].round))
        if substrate:
            rows.append(substrate)
    for report in ordered:
        after = by_round.get(report.round + 1)
        rows.append(_round_row(report, after.rationale if after else ""))
    return Trajectory(campaign=campaign, rows=rows)


def load_trajectory(paths: CampaignPaths) -> Trajectory:
    return build_trajectory(load_reports(paths), load_policies(paths), paths.campaign)


def plot_trajectory(trajectory: Trajectory, out_png: Path, reference: float | None = None,
                    reference_label: str = "reference") -> Path:
    """Dev and leaderboard by round as a PNG (matplotlib Agg, no display), written atomically."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # Figure directly: no pyplot global state

    fig = Figure(figsize=(7, 4), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for attr, label, style in (("dev", "dev", "o-"), ("leaderboard", "leaderboard", "s-")):
        pts = [(r.round, getattr(r, attr)) for r in trajectory.rows if getattr(r, attr) is not None]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=label)
    if reference is not None:
        ax.axhline(reference, color="grey", linestyle="--", label=f"{reference_label} ({reference:g})")
    ax.set_xlabel("round")
    ax.set_ylabel("score")
    ax.set_title(f"{trajectory.campaign}: dev and leaderboard by round")
    ax.set_xticks([r.round for r in trajectory.rows])
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return atomic_write_bytes(out_png, buf.getvalue())
