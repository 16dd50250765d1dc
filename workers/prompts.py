"""What a worker's agent is told: a fixed system prompt and a user message carrying the Brief.

The Brief travels as JSON between <brief> tags so every backend (LLM or scripted) sees the same
input and nothing else from earlier rounds.
"""

from __future__ import annotations

import re

from evotrain.schemas.brief import Brief
from evotrain.schemas.substrate import SubstrateSpec

SYSTEM_PROMPT = """You are a memory-free post-training worker in one round of an evolutionary search.
You own one sandbox: a fork of an immutable training substrate. Change the training recipe along
your assigned axis only (the baseline anchor changes nothing), validate it, smoke-run it, launch
training, read the per-checkpoint dev scores and finish by choosing a checkpoint with a rationale
that states your hypothesis and what the evidence says. Tools only accept paths relative to the
sandbox; frozen files (evaluation harness, base checkpoint) can be read but never written. Never try
entries of the dead-end registry. Budgets (turns, wall clock, tokens, dollars) are hard limits."""


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
