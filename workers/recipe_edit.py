"""Edit top-level recipe keys in YAML text while keeping the rest of the file (comments, order).

Used to apply the standing recipe to a fresh fork and by the scripted agent to write its change,
so the recipe diff shows only the keys that actually moved.
"""

from __future__ import annotations

import re

import yaml

from evotrain.schemas.common import RecipeValue, RecipeValues
from workers.substrate_contract import parse_recipe_text

_INLINE_COMMENT = re.compile(r"^[^#'\"]*?(\s+#.*)$")


def _render(key: str, value: RecipeValue) -> list[str]:
    if isinstance(value, dict):  # maps stay in block style, one entry per line
        text = yaml.safe_dump({key: value}, default_flow_style=False, sort_keys=False, width=10_000)
        return text.rstrip("\n").split("\n")
    flow = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    flow = flow.removesuffix("...").strip()  # PyYAML ends a bare scalar document with "..."
    return [f"{key}: {flow}"]


def _block(lines: list[str], key: str) -> tuple[int, int] | None:
    """[start, end) line span of a top-level key's block, or None if the key is absent."""
    head = re.compile(rf"^{re.escape(key)}\s*:(\s|$)")
    for i, line in enumerate(lines):
        if head.match(line):
            end = i + 1
            while end < len(lines) and (lines[end].startswith((" ", "\t", "- ")) or lines[end] == "-"):
                end += 1
            return i, end
    return None


def set_recipe_values(text: str, updates: RecipeValues) -> str:
    """Return `text` with each top-level key in `updates` set; falls back to a full dump if needed."""
    current = parse_recipe_text(text, "recipe")
    lines = text.splitlines()
    for key, value in updates.items():
        if key in current and current[key] == value:
            continue
        new_lines = _render(key, value)
        span = _block(lines, key)
        if span is None:
            lines.extend(new_lines)
            continue
        start, end = span
        comment = _INLINE_COMMENT.match(lines[start])
        if comment and len(new_lines) == 1 and end == start + 1:
            new_lines[0] += comment.group(1)
        lines[start:end] = new_lines
    out = "\n".join(lines) + "\n"
    expected = {**current, **updates}
    if parse_recipe_text(out, "recipe") != expected:
        out = yaml.safe_dump(expected, default_flow_style=None, sort_keys=False, width=10_000)
    return out
