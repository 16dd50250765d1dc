"""Recover family, examples and query from a prompt in the real challenge wording."""

from __future__ import annotations

from .families import MODULES
from .puzzle import Example


def family_of(prompt: str) -> str:
    """Family from the prompt wording alone; ValueError if no family's marker phrase occurs."""
    found = [name for name, module in MODULES.items() if module.MARKER in prompt]
    if len(found) != 1:
        head = prompt[:60].replace("\n", " ")
        raise ValueError(f"prompt: cannot tell the puzzle family of {head!r}")
    return found[0]


def parse_prompt(prompt: str) -> tuple[str, list[Example], str]:
    """(family, examples, query); ValueError naming the problem when the prompt is malformed."""
    family = family_of(prompt)
    examples, query = MODULES[family].parse(prompt)
    if not examples:
        raise ValueError(f"prompt: no examples found in a {family} prompt")
    if not query:
        raise ValueError(f"prompt: no query found in a {family} prompt")
    return family, examples, query
