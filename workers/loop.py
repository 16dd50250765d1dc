"""One memory-free worker: Brief in, Manifest out.

Order: reuse a valid manifest (idempotent resume) → apply the standing recipe to the sandbox →
agent tool-use loop under hard limits (turns, wall clock, tokens, dollars) → cancel leftover jobs →
verify frozen paths → manifest (atomic). No exception escapes `run_worker`: anything unexpected
becomes an agent_error manifest.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from evotrain.errors import EvotrainError
from evotrain.io import atomic_write_text, read_model
from evotrain.schemas.brief import Brief
from evotrain.schemas.manifest import Failure, FailureMode, Manifest
from llm.base import AgentBackend, AgentError, BudgetExceeded, ContextOverflow, ModelRefused, ToolResult, Usage
from llm.chat_base import LLMBackendBase
from workers.confinement import PathGuard
from workers.context import BoundedTools, outputs_dir, state_note
from workers.executors.base import Executor
from workers.isolation import resolve_mode, sandbox_isolation
from workers.job_tools import JobContext, JobTools, capped_diff
from workers.manifest_writer import RunOutcome, build_manifest, write_manifest
from workers.prompts import system_prompt, user_message
from workers.recipe_edit import set_recipe_values
from workers.sandbox import (
    frozen_patterns,
    read_blob,
    sandbox_repo,
    spec_at,
    verify_frozen,
    worktree_head,
)
from workers.substrate_contract import parse_recipe_text
from workers.tool_specs import tool_specs
from workers.tools import SandboxTools
from workers.trace import TraceWriter
from workers.worker_state import WorkerState

MAX_CONSECUTIVE_INVALID = 3  # invalid tool calls in a row before the agent is declared broken
MAX_EMPTY_TURNS = 2  # turns without any tool call before the same verdict
MAX_REFUSALS = 25  # persistent escape attempts end the run as a sandbox violation


def _existing(manifest_path: Path) -> Manifest | None:
    if not manifest_path.is_file():
        return None
    try:
        return read_model(manifest_path, Manifest)
    except EvotrainError:
        return None  # half-written or stale: redo the worker


def _over_budget(brief: Brief, turns: int, usage: Usage, elapsed: float) -> str | None:
    b = brief.budget
    if turns >= b.max_turns:
        return f"turn limit reached ({b.max_turns})"
    if elapsed >= b.wall_clock_s:
        return f"wall-clock limit reached ({b.wall_clock_s:.0f}s)"
    if usage.input_tokens + usage.output_tokens > b.max_tokens:
        return f"token limit exceeded ({usage.input_tokens + usage.output_tokens} > {b.max_tokens})"
    if usage.dollars > b.max_dollars:
        return f"dollar limit exceeded (${usage.dollars:.4f} > ${b.max_dollars:.2f})"
    return None


def _add(a: Usage, b: Usage) -> Usage:
    return Usage(input_tokens=a.input_tokens + b.input_tokens, output_tokens=a.output_tokens + b.output_tokens,
                 dollars=a.dollars + b.dollars, calls=a.calls + b.calls)


class _Run:
    """One execution of a worker (a fresh agent conversation; jobs recovered from the trace)."""

    def __init__(self, brief: Brief, executor: Executor, agent: AgentBackend, trace: TraceWriter,
                 repo_dir: Path | None, extra_frozen: list[str], clock: Callable[[], float],
                 isolation: Literal["bwrap", "none"] = "none") -> None:
        self.brief, self.agent, self.trace, self.clock = brief, agent, trace, clock
        self.started = clock()
        self.sandbox = Path(brief.sandbox)
        if not (self.sandbox / ".git").is_file():
            raise EvotrainError(f"{self.sandbox}: sandbox is not a git worktree of the substrate")
        self.repo = repo_dir or sandbox_repo(self.sandbox)
        self.commit = brief.substrate_commit or worktree_head(self.sandbox) or ""
        if self.repo is None or not self.commit:
            raise EvotrainError(f"{self.sandbox}: cannot find the substrate repo/commit of this sandbox")
        self.spec = spec_at(self.repo, self.commit)
        self.frozen = frozen_patterns(self.spec, extra_frozen)
        blob = read_blob(self.repo, self.commit, self.spec.recipe_file)
        if blob is None:
            raise EvotrainError(f"{self.spec.recipe_file}: not found in substrate commit {self.commit[:12]}")
        self.substrate_recipe = parse_recipe_text(blob.decode("utf-8"), f"{self.spec.recipe_file}@substrate")
        self.state = WorkerState()
        self.usage = Usage()
        self._diff: str | None = None  # the state note's diff, recomputed only after a file edit
        ctx = JobContext(brief=brief, spec=self.spec, sandbox=self.sandbox, commit=self.commit, executor=executor,
                         trace=trace, state=self.state, deadline=self.started + brief.budget.wall_clock_s, clock=clock,
                         isolation=sandbox_isolation(self.sandbox, self.frozen, isolation, brief.inputs),
                         repo_dir=self.repo)
        self.jobs = JobTools(ctx)
        guard = PathGuard(self.sandbox, self.spec.editable, self.frozen)
        self.tools = SandboxTools(guard, self.jobs, trace, self.state, brief.objective)
        self.bounded = BoundedTools(self.tools, outputs_dir(trace.path), trace)

    def apply_standing_recipe(self) -> None:
        """The fork inherits the standing recipe: write it over the substrate's recipe file."""
        path = self.sandbox / self.spec.recipe_file
        base_text = (read_blob(self.repo, self.commit, self.spec.recipe_file) or b"").decode("utf-8")  # type: ignore[arg-type]
        text = set_recipe_values(base_text, dict(self.brief.standing_recipe))
        atomic_write_text(path, text)
        changes = [k for k, v in self.brief.standing_recipe.items() if self.substrate_recipe.get(k) != v]
        self.trace.emit("start", args={"standing_changes": changes},
                        detail=f"applied standing recipe ({len(changes)} keys differ from the substrate)")

    def converse(self) -> Failure | None:
        """The agent loop; returns the Failure that stopped it early, or None if it finished."""
        instructions = system_prompt(self.brief, self.spec, self.frozen)
        self.agent.start(instructions, user_message(self.brief, self.spec, self.frozen), tool_specs())
        results: list[ToolResult] = []
        turns = empty = 0
        while self.state.finished is None:
            reason = _over_budget(self.brief, turns, self.usage, self.clock() - self.started)
            if reason:
                return self._budget(reason)
            self._send_note(turns)
            try:
                turn = self.agent.step(results)
            except BudgetExceeded as exc:
                return self._budget(f"agent backend: {exc}")
            except ContextOverflow as exc:
                return self._budget(f"context window exceeded after compaction: {exc}")
            except ModelRefused as exc:
                return self._agent_error(f"model refused: {exc}")
            except AgentError as exc:
                return self._agent_error(f"agent backend failed: {exc}")
            except Exception as exc:  # a backend bug ends this worker, not the round
                return self._agent_error(f"agent backend raised {type(exc).__name__}: {exc}")
            turns += 1
            self.usage = _add(self.usage, turn.usage)
            self.trace.emit("agent_turn", args={"tool_calls": [c.name for c in turn.tool_calls],
                                                "input_tokens": turn.usage.input_tokens,
                                                "output_tokens": turn.usage.output_tokens},
                            detail=turn.text)
            empty = 0 if turn.tool_calls else empty + 1
            if empty > MAX_EMPTY_TURNS:
                return self._agent_error(f"{empty} turns without a tool call (never called finish)")
            results = []
            for call in turn.tool_calls:
                results.append(self.bounded.call(call))
                if call.name in {"write_file", "patch_file"}:
                    self._diff = None
                if self.state.finished is not None:
                    break
                if self.state.consecutive_invalid >= MAX_CONSECUTIVE_INVALID:
                    return self._agent_error(f"{self.state.consecutive_invalid} invalid tool calls in a row")
                if self.state.refusals >= MAX_REFUSALS:
                    return self._stop(FailureMode.SANDBOX_VIOLATION, f"{self.state.refusals} refused tool calls")
        return None

    def _send_note(self, turns: int) -> None:
        """Budget left (and the diff once older turns were compacted) for LLM backends that take a note."""
        set_note = getattr(self.agent, "set_note", None)
        if set_note is None:
            return
        compacted = bool(getattr(self.agent, "compacted", False))
        if compacted and self._diff is None:
            self._diff = capped_diff(self.sandbox, self.commit)
        set_note(state_note(self.brief, turns, self.usage, compacted, self._diff if compacted else None))

    def _stop(self, mode: FailureMode, message: str) -> Failure:
        # a failed call was still billed: take the backend's own total when it knows more than the turns
        spent = getattr(self.agent, "usage", None)
        if isinstance(spent, Usage) and spent.calls > self.usage.calls:
            self.usage = spent
        self.trace.emit("budget" if mode == FailureMode.BUDGET_EXCEEDED else "error", ok=False, detail=message)
        return Failure(mode=mode, message=message)

    def _budget(self, message: str) -> Failure:
        return self._stop(FailureMode.BUDGET_EXCEEDED, message)

    def _agent_error(self, message: str) -> Failure:
        return self._stop(FailureMode.AGENT_ERROR, message)

    def conclude(self, stop: Failure | None, trace_path: Path) -> Manifest:
        self.jobs.cancel_unfinished()
        tampered = verify_frozen(self.sandbox, self.repo, self.commit, self.frozen)  # type: ignore[arg-type]
        try:
            final_recipe = parse_recipe_text((self.sandbox / self.spec.recipe_file).read_text(encoding="utf-8"),
                                             self.spec.recipe_file)
        except (OSError, EvotrainError):
            final_recipe = {}
        outcome = RunOutcome(substrate_recipe=self.substrate_recipe, final_recipe=final_recipe,
                             final_diff=capped_diff(self.sandbox, self.commit), usage=self.usage,
                             wall_time_s=self.clock() - self.started, trace_path=trace_path, tampered=tampered,
                             stop=stop)
        return build_manifest(self.brief, self.state, outcome)


def _crash_manifest(brief: Brief, message: str, trace_path: Path, wall: float) -> Manifest:
    return Manifest.failed_for_brief(brief, FailureMode.AGENT_ERROR, message, wall_time_s=round(wall, 3),
                                     trace_path=str(trace_path.resolve()))


def _isolation_for(agent: AgentBackend, requested: Literal["auto", "bwrap", "none"],
                   allow_unisolated: bool) -> Literal["bwrap", "none"]:
    """bwrap for an LLM agent unless the caller explicitly allowed it unconfined (then as requested);
    a scripted agent (our own code) runs as requested, `auto` meaning bwrap where available."""
    llm = isinstance(agent, LLMBackendBase)
    if requested == "none" and llm and not allow_unisolated:
        requested = "auto"  # an LLM's code never runs unconfined by default, whatever the caller forgot
    return resolve_mode(requested, llm_agent=llm, allow_unisolated=allow_unisolated)


def run_worker(
    brief: Brief,
    *,
    executor: Executor,
    agent: AgentBackend,
    manifest_path: Path | str,
    trace_path: Path | str,
    repo_dir: Path | str | None = None,
    extra_frozen: list[str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    isolation: Literal["auto", "bwrap", "none"] = "auto",
    allow_unisolated: bool = False,
) -> Manifest:
    """Run one worker to its manifest (written atomically to `manifest_path`). Never raises."""
    manifest_path, trace_path = Path(manifest_path), Path(trace_path)
    done = _existing(manifest_path)
    if done is not None:
        return done
    started = clock()
    trace = TraceWriter(trace_path, brief.worker_id)
    try:
        trace.emit("start", args={"resumed": bool(trace.resumed_events), "axis": brief.axis_name},
                   detail=f"worker {brief.worker_id} round {brief.round} campaign {brief.campaign}")
        mode = _isolation_for(agent, isolation, allow_unisolated)
        run = _Run(brief, executor, agent, trace, Path(repo_dir) if repo_dir else None, extra_frozen or [], clock,
                   mode)
        run.apply_standing_recipe()
        stop = run.converse()
        manifest = run.conclude(stop, trace_path)
    except Exception as exc:  # the contract: a manifest, always; the traceback goes to the trace
        detail = exc.message if isinstance(exc, EvotrainError) else f"{type(exc).__name__}: {exc}"
        # if the trace itself is unwritable, the manifest below still records the error
        with contextlib.suppress(Exception):
            trace.emit("error", ok=False, detail=detail + "\n" + traceback.format_exc(limit=5))
        manifest = _crash_manifest(brief, detail, trace_path, clock() - started)
    write_manifest(manifest_path, manifest)
    # the manifest is already durable; a failing trace append must not undo that
    with contextlib.suppress(Exception):
        trace.emit("finish", args={"status": manifest.status, "chosen_step": manifest.chosen_step},
                   detail=", ".join(f.mode.value for f in manifest.failures if f.fatal))
    return manifest
