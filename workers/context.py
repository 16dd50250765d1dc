"""Keep a worker's LLM context bounded: large tool results go to files the agent pages through, and a
short state note (budget left, current diff once older turns were compacted) rides on every request.

Spilled outputs live next to the trace, outside the sandbox (they never show in the diff or the tamper
check); the agent reads them with `read_file(path="_outputs/<call id>.txt", offset=..., max_chars=...)`.
"""

from __future__ import annotations

import re
from pathlib import Path

from evotrain.io import atomic_write_text
from evotrain.schemas.brief import Brief
from llm.base import ToolCall, ToolResult, Usage
from workers.tools import SandboxTools
from workers.trace import TraceWriter

INLINE_CHARS = 8_000  # a tool result longer than this is not sent whole
PREVIEW_CHARS = 1_500  # what is sent of a spilled result
NOTE_DIFF_CHARS = 3_000
OUTPUTS_PREFIX = "_outputs/"
_SAFE_ID = re.compile(r"[^A-Za-z0-9_.-]")


def outputs_dir(trace_path: Path) -> Path:
    """traces/w01.jsonl -> traces/w01.outputs/ (per worker, outside the sandbox)."""
    return trace_path.with_name(trace_path.stem + ".outputs")


class BoundedTools:
    """SandboxTools with large results paged: read_file pages its own file by offset, other tools'
    results are saved whole under _outputs/ and previewed."""

    def __init__(self, tools: SandboxTools, out_dir: Path, trace: TraceWriter, inline_chars: int = INLINE_CHARS):
        self.tools, self.out_dir, self.trace, self.inline = tools, out_dir, trace, inline_chars

    def call(self, call: ToolCall) -> ToolResult:
        path = call.arguments.get("path") if call.name == "read_file" else None
        if isinstance(path, str) and path.startswith(OUTPUTS_PREFIX):
            return self._read_output(call, path)
        return self._bounded(call, self.tools.call(call))

    def _bounded(self, call: ToolCall, result: ToolResult) -> ToolResult:
        text = result.content
        if len(text) <= self.inline:
            return result
        if call.name == "read_file":
            offset = _int(call.arguments.get("offset"), 0)
            shown = text[: self.inline]
            content = (f"{shown}\n... (showing {len(shown)} of {len(text)} chars returned from offset {offset}; "
                       f"call read_file with offset={offset + len(shown)} for the next page)")
            return result.model_copy(update={"content": content})
        name = f"{_SAFE_ID.sub('_', call.id)}.txt"
        atomic_write_text(self.out_dir / name, text)
        self.trace.emit("tool_result", tool=call.name, args={"call_id": call.id, "spilled_to": OUTPUTS_PREFIX + name},
                        detail=f"{len(text)} chars saved to {OUTPUTS_PREFIX}{name}")
        content = (f"{text[:PREVIEW_CHARS]}\n... (output of {len(text)} chars saved as {OUTPUTS_PREFIX}{name}; page "
                   f"through it with read_file(path=\"{OUTPUTS_PREFIX}{name}\", offset={PREVIEW_CHARS}, "
                   f"max_chars={self.inline}))")
        return result.model_copy(update={"content": content})

    def _read_output(self, call: ToolCall, path: str) -> ToolResult:
        name = path[len(OUTPUTS_PREFIX):]
        file = self.out_dir / name
        if "/" in name or name.startswith(".") or not file.is_file():
            return ToolResult(call_id=call.id, name=call.name, ok=False, content=f"error: {path}: no such saved output")
        text = file.read_text(encoding="utf-8")
        offset = max(0, _int(call.arguments.get("offset"), 0))
        size = min(max(1, _int(call.arguments.get("max_chars"), self.inline)), self.inline)
        page = text[offset: offset + size]
        tail = (f"\n... (chars {offset}-{offset + len(page)} of {len(text)}; next offset {offset + len(page)})"
                if offset + len(page) < len(text) else f"\n(end of {path}, {len(text)} chars)")
        self.trace.emit("tool_call", tool=call.name, args={"call_id": call.id, "path": path, "offset": offset})
        return ToolResult(call_id=call.id, name=call.name, ok=True, content=page + tail)


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def state_note(brief: Brief, turns: int, usage: Usage, compacted: bool, diff: str | None) -> str:
    """Fresh state for the end of the next request: budget left, and the diff once older turns are gone."""
    b = brief.budget
    used = usage.input_tokens + usage.output_tokens
    lines = [f"<state> turn {turns + 1} of at most {b.max_turns}; tokens used {used} of {b.max_tokens}; "
             f"${usage.dollars:.4f} of ${b.max_dollars:.2f}."]
    left = b.max_turns - turns
    if left <= 3 or (b.max_tokens and used >= 0.85 * b.max_tokens):
        lines.append(f"Budget nearly spent ({left} turns left): call finish now, or the run ends as budget_exceeded.")
    if compacted and diff is not None:
        shown = diff if len(diff) <= NOTE_DIFF_CHARS else diff[:NOTE_DIFF_CHARS] + "\n... (diff truncated)"
        lines.append("Current diff of the sandbox against the substrate:\n" + (shown or "(no changes)"))
    lines.append("</state>")
    return "\n".join(lines)
