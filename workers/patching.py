"""Apply an agent's edit to one file's text: a unified diff, or an exact search/replace.

Strict on purpose: a hunk whose context does not match, or a search string that is missing or
ambiguous, is an error the agent sees (it can re-read the file and try again).
"""

from __future__ import annotations

import re

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(ValueError):
    pass


def search_replace(text: str, search: str, replace: str) -> str:
    if not search:
        raise PatchError("'search' must be non-empty")
    count = text.count(search)
    if count == 0:
        raise PatchError("'search' text not found in the file")
    if count > 1:
        raise PatchError(f"'search' text occurs {count} times; make it unique")
    return text.replace(search, replace, 1)


def _hunks(diff: str) -> list[tuple[int, list[str]]]:
    hunks: list[tuple[int, list[str]]] = []
    current: list[str] | None = None
    for line in diff.splitlines():
        match = _HUNK.match(line)
        if match:
            current = []
            hunks.append((int(match.group(1)), current))
        elif current is not None and line[:1] in (" ", "+", "-"):
            current.append(line)
        elif current is not None and line == "":
            current.append(" ")  # some tools strip the space of an empty context line
        elif current is not None and line.startswith("\\"):
            continue  # "\ No newline at end of file"
    if not hunks:
        raise PatchError("no '@@ -a,b +c,d @@' hunk found in the diff")
    return hunks


def apply_unified_diff(text: str, diff: str) -> str:
    """Apply every hunk in order; context and removed lines must match exactly (modulo line end)."""
    lines = text.splitlines()
    trailing_newline = text.endswith("\n") or not text
    offset = 0
    for number, (start, body) in enumerate(_hunks(diff), 1):
        old = [ln[1:] for ln in body if ln[0] in (" ", "-")]
        new = [ln[1:] for ln in body if ln[0] in (" ", "+")]
        at = max(start - 1, 0) + offset
        if lines[at : at + len(old)] != old:
            found = [i for i in range(len(lines) - len(old) + 1) if lines[i : i + len(old)] == old]
            if len(found) != 1:
                raise PatchError(f"hunk {number} (at line {start}) does not match the file")
            at = found[0]
        lines[at : at + len(old)] = new
        offset = at + len(new) - (start - 1) - len(old)
    return "\n".join(lines) + ("\n" if trailing_newline and lines else "")
