"""Markdown renderings of round reports and policies (Jinja2 templates in orchestrator/templates)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from evotrain.schemas.policy import Policy
from evotrain.schemas.report import RoundReport

TEMPLATES = Path(__file__).parents[1] / "templates"


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False,
    )
    env.filters["num"] = lambda x, fmt="%.3f": "n/a" if x is None else fmt % x
    env.filters["dollars"] = lambda x: f"${x:,.2f}" if x >= 0.01 or x == 0 else f"${x:.4f}"  # cents, or a sliver
    return env


def render_report(report: RoundReport) -> str:
    return _env().get_template("round_report.md.j2").render(r=report)


def render_policy(policy: Policy) -> str:
    return _env().get_template("policy.md.j2").render(p=policy)
