"""Static HTML dashboard (Jinja2) in `reports/<campaign>/dashboard/`, and a localhost server for it.

One self-contained page (inline CSS, no scripts, no network) plus the trajectory PNG beside it, so
the folder can be opened from disk, archived with the campaign, or served by `evotrain dashboard`.
"""

from __future__ import annotations

import functools
import http.server
from pathlib import Path

import jinja2

from evotrain.io import atomic_write_text
from evotrain.paths import CampaignPaths
from orchestrator.audit.dashboard_data import build_dashboard_data
from orchestrator.audit.trajectory import plot_trajectory

TEMPLATES = Path(__file__).parents[1] / "templates"
PLOT_NAME = "trajectory.png"


def dashboard_dir(paths: CampaignPaths) -> Path:
    return paths.dashboard


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
        autoescape=True, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["num"] = lambda x, fmt="%.3f": "–" if x is None else fmt % x
    return env


def render_dashboard(paths: CampaignPaths, reference: float | None = None) -> Path:
    """Write index.html + trajectory.png; returns the index path."""
    data = build_dashboard_data(paths)
    out = dashboard_dir(paths)
    has_plot = bool(data.trajectory.rows)
    if has_plot:
        plot_trajectory(data.trajectory, out / PLOT_NAME, reference=reference)
    from orchestrator.cycle.page import write_cycle_pages

    cycles = write_cycle_pages(paths.root / "runs" / "cycle", out)  # the workspace's continuous cycles, linked
    html = _env().get_template("dashboard.html.j2").render(d=data, plot=PLOT_NAME if has_plot else None,
                                                            reference=reference, cycles=cycles)
    return atomic_write_text(out / "index.html", html)


def serve(folder: Path, port: int) -> http.server.ThreadingHTTPServer:
    """An HTTP server for `folder` bound to 127.0.0.1 only (the caller runs serve_forever)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass
