"""What a worker's agent is told: standing instructions rendered from `constitution/worker.md.j2`,
and a user message carrying the Brief.

The instructions are a Markdown file beside the meta agent's constitution (humans edit both, never a
campaign). The Brief travels as JSON between <brief> tags so every backend (LLM or scripted) sees
the same input and nothing else from earlier rounds.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import jinja2

from evotrain.schemas.brief import Brief
from evotrain.schemas.substrate import SubstrateSpec

INSTRUCTIONS = Path(__file__).resolve().parents[1] / "constitution" / "worker.md.j2"


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return env.from_string(INSTRUCTIONS.read_text(encoding="utf-8"))


def system_prompt(brief: Brief, spec: SubstrateSpec, frozen: list[str]) -> str:
    """The worker's standing instructions for this brief (Markdown)."""
    return _template().render(brief=brief, spec=spec, frozen=frozen).strip() + "\n"


def user_message(brief: Brief, spec: SubstrateSpec, frozen: list[str]) -> str:
    task = (
        "You are the BASELINE ANCHOR: train the standing recipe unchanged."
        if brief.is_baseline
        else f"Explore axis '{brief.axis_name}' (recipe key '{brief.axis.key}')."  # type: ignore[union-attr]
    )
    return (
        f"{task}\nObjective: {brief.objective}.\n"
        f"Recipe file: <recipe_file>{spec.recipe_file}</recipe_file>\n"
        f"Editable globs: {', '.join(spec.editable)}\nFrozen globs: {', '.join(frozen)}\n"
        f"Families: {', '.join(spec.families)}\n"
        f"<brief>{brief.model_dump_json()}</brief>"
    )


def extract_tag(text: str, tag: str) -> str | None:
    match = re.search(rf"<{tag}>(.*?)</{tag}>", text, flags=re.DOTALL)
    return match.group(1) if match else None
