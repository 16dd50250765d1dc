"""The confined tool set: every agent tool call goes through `SandboxTools.call`.

Each call and its result (or refusal) is a trace event; nothing an agent sends can raise out of
here: bad arguments, refusals and tool failures all come back as a `ToolResult(ok=False)`.
"""

from __future__ import annotations

import json
import os

from pydantic import JsonValue

from evotrain.errors import EvotrainError
from evotrain.io import atomic_write_text
from evotrain.schemas.policy import Objective
from evotrain.secrets import redact_secrets
from llm.base import ToolCall, ToolResult
from workers.checkpoint_choice import choose_checkpoint
from workers.confinement import PathGuard, Refusal
from workers.job_tools import JobTools, ToolFailure
from workers.patching import PatchError, apply_unified_diff, search_replace
from workers.sandbox import sandbox_diff
from workers.substrate_contract import matches_any
from workers.tool_specs import (
    FinishArgs,
    JobArgs,
    LaunchTrainingArgs,
    ListFilesArgs,
    PatchFileArgs,
    PollJobArgs,
    ReadFileArgs,
    ReadLogsArgs,
    WriteFileArgs,
    parse_args,
)
from workers.trace import TraceWriter
from workers.worker_state import Choice, WorkerState

MAX_WRITE_CHARS = 1_000_000
MAX_WORKER_WRITE_CHARS = 4_000_000  # everything one worker may write through tools (30 x 1 MB is refused)
MAX_LIST_ENTRIES = 400
MAX_RESULT_CHARS = 30_000


MAX_TRACED_ARG_CHARS = 4000


def _shorten(arguments: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """Long string arguments (file contents) are traced as a prefix plus their length."""
    return {k: (v[:MAX_TRACED_ARG_CHARS] + f"... ({len(v)} chars)" if isinstance(v, str)
                and len(v) > MAX_TRACED_ARG_CHARS else v) for k, v in arguments.items()}


class SandboxTools:
    def __init__(self, guard: PathGuard, jobs: JobTools, trace: TraceWriter, state: WorkerState,
                 objective: Objective) -> None:
        self.guard = guard
        self.jobs = jobs
        self.trace = trace
        self.state = state
        self.objective = objective

    def call(self, call: ToolCall) -> ToolResult:
        self.trace.emit("tool_call", tool=call.name, args={"call_id": call.id, **_shorten(call.arguments)})
        if call.parse_error is not None:
            return self._invalid(call, f"arguments are not a JSON object: {call.parse_error}")
        try:
            args = parse_args(call.name, call.arguments)
        except ValueError as exc:
            return self._invalid(call, str(exc))
        self.state.consecutive_invalid = 0
        try:
            content = self._dispatch(call.name, args)
        except Refusal as exc:
            self.state.refusals += 1
            self.trace.emit("refusal", tool=call.name, args={"call_id": call.id}, ok=False, detail=str(exc))
            return ToolResult(call_id=call.id, name=call.name, ok=False, content=f"refused: {exc}")
        except (ToolFailure, PatchError, EvotrainError) as exc:
            return self._result(call, False, f"error: {exc}")
        except Exception as exc:  # a tool bug must not kill the worker: report it, keep the loop alive
            self.trace.emit("error", tool=call.name, args={"call_id": call.id}, ok=False,
                            detail=f"{type(exc).__name__}: {exc}")
            return ToolResult(call_id=call.id, name=call.name, ok=False,
                              content=redact_secrets(f"internal error: {type(exc).__name__}: {exc}"))
        return self._result(call, True, content)

    def _invalid(self, call: ToolCall, reason: str) -> ToolResult:
        self.state.consecutive_invalid += 1
        self.state.invalid_total += 1
        self.trace.emit("error", tool=call.name, args={"call_id": call.id}, ok=False,
                        detail=f"invalid tool call: {reason}")
        return ToolResult(call_id=call.id, name=call.name, ok=False, content=f"invalid tool call: {reason}")

    def _result(self, call: ToolCall, ok: bool, content: str) -> ToolResult:
        content = redact_secrets(content)[:MAX_RESULT_CHARS]  # nothing secret goes back to a model
        self.trace.emit("tool_result", tool=call.name, args={"call_id": call.id}, ok=ok, detail=content)
        return ToolResult(call_id=call.id, name=call.name, ok=ok, content=content)

    def _dispatch(self, name: str, args: object) -> str:
        match name, args:
            case "list_files", ListFilesArgs():
                return self._list(args.path)
            case "read_file", ReadFileArgs():
                return self._read(args.path, args.max_chars, args.offset)
            case "write_file", WriteFileArgs():
                return self._write(args.path, args.content)
            case "patch_file", PatchFileArgs():
                return self._patch(args)
            case "show_diff", _:
                return sandbox_diff(self.guard.root, self.jobs.ctx.commit) or "(no changes)"
            case "validate_recipe", _:
                return json.dumps(self.jobs.validate())
            case "smoke_run", _:
                return json.dumps(self.jobs.smoke())
            case "launch_training", LaunchTrainingArgs():
                return json.dumps(self.jobs.launch(args.note))
            case "poll_job", PollJobArgs():
                return json.dumps(self.jobs.poll(args.job_id, args.wait_s))
            case "read_job_logs", ReadLogsArgs():
                return self.jobs.logs(args.job_id, args.tail) or "(no output)"
            case "read_results", JobArgs():
                return json.dumps(self.jobs.results(args.job_id))
            case "finish", FinishArgs():
                return json.dumps(self._finish(args))
        raise ToolFailure(f"tool {name!r} is not available")

    # --- file tools ---------------------------------------------------------------------
    def _list(self, path: str) -> str:
        rel, full = self.guard.resolve(path)
        if not full.is_dir():
            raise ToolFailure(f"{rel}: not a directory")
        entries: list[str] = []
        for root, dirs, files in os.walk(full, followlinks=False):
            dirs[:] = sorted(d for d in dirs if d not in {".git", "__pycache__"})
            for name in sorted(files):
                if name == ".git":
                    continue
                item = os.path.join(root, name)
                item_rel = os.path.relpath(item, self.guard.root).replace(os.sep, "/")
                tag = " [frozen]" if matches_any(item_rel, self.guard.frozen) else (
                    " [editable]" if matches_any(item_rel, self.guard.editable) else "")
                size = os.lstat(item).st_size
                entries.append(f"{item_rel} ({size} B){tag}")
                if len(entries) >= MAX_LIST_ENTRIES:
                    return "\n".join([*entries, f"... (truncated at {MAX_LIST_ENTRIES} entries)"])
        return "\n".join(entries) or "(empty)"

    def _read(self, path: str, max_chars: int, offset: int = 0) -> str:
        rel, full = self.guard.resolve(path)
        if not full.is_file():
            raise ToolFailure(f"{rel}: not a file")
        text = full.read_bytes().decode("utf-8", errors="replace")
        page = text[offset: offset + max_chars]
        if offset + len(page) < len(text):
            return page + (f"\n... (truncated at char {offset + len(page)} of {len(text)}; "
                           f"read on with offset={offset + len(page)})")
        return page

    def _write(self, path: str, content: str) -> str:
        rel, full = self.guard.resolve(path, write=True)
        if len(content) > MAX_WRITE_CHARS:
            raise ToolFailure(f"{rel}: content too large ({len(content)} > {MAX_WRITE_CHARS} chars)")
        if self.state.bytes_written + len(content) > MAX_WORKER_WRITE_CHARS:
            raise ToolFailure(f"{rel}: write quota spent ({self.state.bytes_written} of {MAX_WORKER_WRITE_CHARS} "
                              "chars written by this worker's tools)")
        atomic_write_text(full, content)
        self.state.bytes_written += len(content)
        return f"wrote {rel} ({len(content)} chars)"

    def _patch(self, args: PatchFileArgs) -> str:
        rel, full = self.guard.resolve(args.path, write=True)
        if not full.is_file():
            raise ToolFailure(f"{rel}: not a file (use write_file to create it)")
        text = full.read_text(encoding="utf-8")
        if args.diff is not None:
            new = apply_unified_diff(text, args.diff)
        else:
            new = search_replace(text, args.search or "", args.replace or "")
        return self._write(rel, new).replace("wrote", "patched", 1)

    # --- finish -------------------------------------------------------------------------
    def _finish(self, args: FinishArgs) -> dict[str, object]:
        trained = [j for j in self.state.train_jobs() if j.results is not None and j.failure is None]
        if args.job_id is not None:
            job = self.jobs.own_job(args.job_id)
            if job not in trained:
                raise ToolFailure(f"job {args.job_id} has no usable checkpoints")
        elif trained:
            job = trained[-1]
        else:
            self.state.finished = Choice(job_id=None, step=None, rationale=args.rationale)
            return {"finished": True, "chosen": None}
        assert job.results is not None  # narrowed by `trained`
        checkpoints = job.results.checkpoints
        if args.step is None:
            chosen = choose_checkpoint(checkpoints, self.objective)
        else:
            chosen = next((c for c in checkpoints if c.step == args.step), None)
            if chosen is None:
                steps = ", ".join(str(c.step) for c in checkpoints)
                raise ToolFailure(f"step {args.step} is not a checkpoint of {job.job_id} (steps: {steps})")
        assert chosen is not None  # a usable job has at least one checkpoint
        self.state.finished = Choice(job_id=job.job_id, step=chosen.step, rationale=args.rationale)
        return {"finished": True, "job_id": job.job_id, "step": chosen.step, "overall": chosen.overall}
