"""A bounded conversation: the brief, a compact summary of older turns, and the latest turns verbatim.

Each exchange (one assistant turn and what answered it) is kept in the API's own message format,
next to a neutral copy (tool calls and results) that the summary is written from. When more than
`keep_turns + compact_every` exchanges are held, the oldest are folded into the summary, so the
request size stays bounded however long the session, and the prefix (tools, system, brief+summary)
changes only every `compact_every` turns, which keeps provider prompt caches warm in between.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from evotrain.schemas.common import Artifact
from llm.base import ToolCall, ToolResult


class ContextPolicy(Artifact):
    """How much of a conversation is sent verbatim (AgentConfig.context)."""

    keep_turns: int = Field(default=6, ge=1, le=200)  # latest exchanges always sent verbatim
    compact_every: int = Field(default=6, ge=1, le=200)  # fold this many at once (a stable, cacheable prefix)
    summary_lines: int = Field(default=20, ge=1, le=500)  # per-turn lines kept; older ones become counts
    line_chars: int = Field(default=220, ge=40, le=4000)  # one summary line's length
    max_request_chars: int = Field(default=600_000, ge=10_000)  # fold harder above this (~150k tokens)


@dataclass
class Exchange:
    """One assistant turn and the user-side message(s) that answered it."""

    number: int
    assistant: list[dict[str, Any]]  # native message(s)/items of the assistant turn
    text: str
    calls: list[ToolCall]
    follow: list[dict[str, Any]] = field(default_factory=list)  # native tool results / continue prompt
    results: list[ToolResult] = field(default_factory=list)


def _short(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass
class Summary:
    """What was folded out of the conversation, bounded in size."""

    lines: list[str] = field(default_factory=list)
    folded_counts: Counter[str] = field(default_factory=Counter)  # tool -> calls whose lines were dropped
    folded_turns: int = 0
    last_turn: int = 0

    def add(self, ex: Exchange, policy: ContextPolicy) -> None:
        by_id = {r.call_id: r for r in ex.results}
        parts = []
        if ex.text.strip():
            parts.append(f"said: {_short(ex.text, policy.line_chars // 3)}")
        for call in ex.calls:
            result = by_id.get(call.id)
            outcome = "not run" if result is None else ("ok" if result.ok else "error")
            content = "" if result is None else _short(result.content, policy.line_chars // 2)
            parts.append(f"{call.name}({_short(call.arguments, 60)}) -> {outcome}: {content}")
        self.lines.append(_short(f"turn {ex.number}: " + "; ".join(parts or ["(no tool call)"]), policy.line_chars))
        self.last_turn = ex.number
        while len(self.lines) > policy.summary_lines:
            dropped = self.lines.pop(0)
            self.folded_turns += 1
            for name in _tools_in(dropped):
                self.folded_counts[name] += 1

    def render(self) -> str:
        if not self.lines and not self.folded_turns:
            return ""
        out = [f"<earlier_turns> Turns 1-{self.last_turn} were compacted to save context; the latest turns "
               "follow verbatim. Re-read a file or job result if you need its full text."]
        if self.folded_turns:
            counts = ", ".join(f"{n} x{c}" for n, c in sorted(self.folded_counts.items()))
            out.append(f"- turns 1-{self.folded_turns}: {counts or 'no tool calls'}")
        out += [f"- {line}" for line in self.lines]
        out.append("</earlier_turns>")
        return "\n".join(out)


def _tools_in(line: str) -> list[str]:
    names = []
    for part in line.split("; "):
        head = part.split(": ", 1)[-1] if part.startswith("turn ") else part
        if "(" in head:
            names.append(head.split("(", 1)[0].strip())
    return [n for n in names if n.replace("_", "").isalnum()]


class Conversation:
    """The brief, the summary, the kept exchanges, and a state note re-sent at the end of every request."""

    def __init__(self, brief: str, policy: ContextPolicy) -> None:
        self.brief = brief
        self.policy = policy
        self.exchanges: list[Exchange] = []
        self.summary = Summary()
        self.note = ""  # fresh state (current diff, budget left): appended to the latest message only
        self.turns = 0

    def head(self) -> str:
        """The first user message: the brief, then the summary of compacted turns."""
        summary = self.summary.render()
        return f"{self.brief}\n\n{summary}" if summary else self.brief

    def add_assistant(self, native: list[dict[str, Any]], text: str, calls: list[ToolCall]) -> None:
        self.turns += 1
        self.exchanges.append(Exchange(self.turns, native, text, list(calls)))

    def add_follow(self, native: list[dict[str, Any]], results: list[ToolResult]) -> None:
        ex = self.exchanges[-1]
        ex.follow.extend(native)
        ex.results.extend(results)

    @property
    def awaiting_follow(self) -> bool:
        return bool(self.exchanges) and not self.exchanges[-1].follow

    def maybe_compact(self) -> bool:
        """Fold the oldest exchanges when more than keep_turns + compact_every are held."""
        if len(self.exchanges) <= self.policy.keep_turns + self.policy.compact_every:
            return False
        self.compact(self.policy.keep_turns)
        return True

    def compact(self, keep: int) -> int:
        """Fold all but the last `keep` complete exchanges into the summary; return how many were folded."""
        keep = max(keep, 1 if self.awaiting_follow else 0)
        n = max(0, len(self.exchanges) - keep)
        for ex in self.exchanges[:n]:
            self.summary.add(ex, self.policy)
        del self.exchanges[:n]
        return n

    def snapshot(self) -> tuple[Exchange | None, int, int]:
        """Undo point for a failed step: the last exchange and how much of its answer was added."""
        if not self.exchanges:
            return None, 0, 0
        last = self.exchanges[-1]
        return last, len(last.follow), len(last.results)

    def restore(self, mark: tuple[Exchange | None, int, int]) -> None:
        """Drop what a failed step added (compaction it triggered stays: folded turns are summarised)."""
        last, follow, results = mark
        if last is None or last not in self.exchanges:
            return
        del self.exchanges[self.exchanges.index(last) + 1 :]
        del last.follow[follow:]
        del last.results[results:]
