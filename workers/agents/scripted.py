"""`ScriptedAgent`: the offline, deterministic AgentBackend (no LLM, no network).

It reads only what an LLM worker would read: the user message (Brief between <brief> tags) and
the tool results. Plan: read the recipe → write one change along the axis (scripted_search) →
validate → smoke run → launch → poll → read results → on crash/NaN read the logs and retry once
with a back-off value → finish with the objective's checkpoint and a rationale stating the
hypothesis. The baseline anchor skips the change and trains the standing recipe.
"""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, JsonValue

from evotrain.schemas.brief import Brief
from evotrain.schemas.common import get_path, set_path
from evotrain.schemas.results import CheckpointEval
from llm.base import AgentError, AgentTurn, ToolCall, ToolResult, ToolSpec, Usage
from workers.agents.scripted_search import Proposal, back_off, propose_change
from workers.checkpoint_choice import choose_checkpoint, macro_mean
from workers.prompts import extract_tag
from workers.recipe_edit import set_recipe_values
from workers.substrate_contract import parse_recipe_text

M = TypeVar("M", bound=BaseModel)
POLL_WAIT_S = 30.0
RETRY_MODES = {"crash", "nan_loss"}


def checkpoints_from_summary(rows: object) -> list[CheckpointEval]:
    """The read_results summary rows back as CheckpointEval (adapter dirs are not needed to choose)."""
    if not isinstance(rows, list):
        return []
    return [CheckpointEval(step=r["step"], adapter_dir="", overall=r["overall"], by_family=r["by_family"],
                           n_items=0) for r in rows if isinstance(r, dict)]


class ScriptedAgent:
    name = "scripted"

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.brief: Brief | None = None
        self.recipe_file = "recipe.yaml"
        self._calls = 0
        self._next: str = "read_recipe"
        self.proposal: Proposal | None = None
        self.retried = False
        self.recipe_text = ""
        self.job_id: str | None = None
        self.history: list[str] = []  # outcomes, quoted in the rationale

    # --- AgentBackend -------------------------------------------------------------------
    def start(self, system: str, user: str, tools: list[ToolSpec]) -> None:
        raw = extract_tag(user, "brief")
        if raw is None:
            raise AgentError("scripted agent: no <brief> in the user message")
        self._reset()  # memory-free: every conversation starts from nothing
        self.brief = Brief.model_validate_json(raw)
        self.recipe_file = extract_tag(user, "recipe_file") or "recipe.yaml"
        names = {t.name for t in tools}
        missing = {"read_file", "write_file", "validate_recipe", "launch_training", "finish"} - names
        if missing:
            raise AgentError(f"scripted agent: tools missing: {', '.join(sorted(missing))}")

    def step(self, results: list[ToolResult]) -> AgentTurn:
        if self.brief is None:
            raise AgentError("scripted agent: step() before start()")
        last = results[-1] if results else None
        name, args, text = self._decide(last)
        self._calls += 1
        call = ToolCall(id=f"call-{self._calls}", name=name, arguments=args)
        return AgentTurn(text=text, tool_calls=[call], usage=Usage(calls=1), stop_reason="tool_use")

    def complete_json(self, system: str, user: str, schema: type[M], max_attempts: int = 3) -> M:
        raise AgentError("scripted backend has no free-form answers; callers use their deterministic path")

    # --- the plan -----------------------------------------------------------------------
    def _decide(self, last: ToolResult | None) -> tuple[str, dict[str, JsonValue], str]:
        phase = self._next
        if phase == "read_recipe":
            self._next = "write_recipe"
            return "read_file", {"path": self.recipe_file}, "Read the inherited (standing) recipe."
        if phase == "write_recipe":
            if last is None or not last.ok:
                return self._finish(None, f"could not read {self.recipe_file}: {last.content if last else ''}")
            self.recipe_text = last.content
            return self._write_change()
        if phase == "validate":
            self._next = "smoke"
            return "validate_recipe", {}, "Validate the recipe before spending compute."
        if phase == "smoke":
            if last is not None and not last.ok:
                return self._retry_or_finish(f"validation failed: {last.content}")
            self._next = "launch"
            return "smoke_run", {}, "Smoke-run the recipe end to end."
        if phase == "launch":
            if last is not None and not last.ok:
                self.history.append(f"smoke run failed: {last.content}")
                return self._retry_or_finish(f"smoke run failed: {last.content}")
            self._next = "poll"
            return "launch_training", {"note": self._hypothesis()}, "Launch the training run."
        if phase == "poll":
            return self._poll(last)
        if phase == "results":
            return self._after_results(last)
        if phase == "logs_then_retry":
            return self._retry_or_finish(self.history[-1] if self.history else "job failed")
        if phase == "done":
            raise AgentError("scripted agent: step() after finish")
        raise AgentError(f"scripted agent: unknown phase {phase!r}")

    def _write_change(self) -> tuple[str, dict[str, JsonValue], str]:
        brief = self.brief
        assert brief is not None
        if brief.axis is None:
            self._next = "smoke"  # baseline anchor: standing recipe as is; validate then smoke
            return "validate_recipe", {}, "Baseline anchor: keep the standing recipe; validate it."
        try:
            values = parse_recipe_text(self.recipe_text, self.recipe_file)
        except Exception as exc:  # the recipe itself is malformed: nothing to build a change on
            return self._finish(None, f"recipe unreadable: {exc}")
        if self.proposal is None:
            self.proposal = propose_change(brief.axis, values, brief.dead_ends, brief.seed, brief.promotions,
                                           brief.axis_visit, brief.leads, brief.flat_moves)
            if self.proposal is None:
                return self._finish(None, f"no legal move along {brief.axis.name}: every direction is a dead end "
                                          "or at the range edge")
        new_values = set_path(values, self.proposal.key, self.proposal.new)
        top = self.proposal.key.split(".", 1)[0]
        self.recipe_text = set_recipe_values(self.recipe_text, {top: new_values[top]})
        self._next = "validate"
        content: JsonValue = self.recipe_text
        return "write_file", {"path": self.recipe_file, "content": content}, self._hypothesis()

    def _poll(self, last: ToolResult | None) -> tuple[str, dict[str, JsonValue], str]:
        if last is None or not last.ok:
            message = last.content if last else "no result"
            self.history.append(f"launch failed: {message}")
            return self._retry_or_finish(message)
        data = json.loads(last.content)
        if "job_id" in data and last.name == "launch_training":
            self.job_id = data["job_id"]
        assert self.job_id is not None
        if data.get("state") in {"succeeded", "failed", "timeout", "cancelled"}:
            self._next = "results"
            return "read_results", {"job_id": self.job_id}, "Job ended; read its results."
        return "poll_job", {"job_id": self.job_id, "wait_s": POLL_WAIT_S}, "Wait for the training job."

    def _after_results(self, last: ToolResult | None) -> tuple[str, dict[str, JsonValue], str]:
        brief = self.brief
        assert brief is not None and last is not None
        data = json.loads(last.content) if last.ok else {}
        failure = data.get("failure")
        checkpoints = checkpoints_from_summary(data.get("checkpoints", []))
        if failure is None and checkpoints:
            best = choose_checkpoint(checkpoints, brief.objective)
            assert best is not None
            outcome = (f"Result: job {self.job_id}, chose step {best.step} by {brief.objective} "
                       f"(overall dev {best.overall:.4f}, macro {macro_mean(best):.4f}).")
            return self._finish(best.step, outcome)
        mode = failure.get("mode") if isinstance(failure, dict) else "no_results"
        self.history.append(f"job {self.job_id} ended with {mode}: {failure}")
        if mode in RETRY_MODES and not self.retried and self.proposal is not None:
            self._next = "logs_then_retry"
            return "read_job_logs", {"job_id": self.job_id, "tail": 40}, f"Job hit {mode}; read its logs."
        return self._finish(None, f"job {self.job_id} ended with {mode}; no usable checkpoint")

    def _retry_or_finish(self, why: str) -> tuple[str, dict[str, JsonValue], str]:
        brief = self.brief
        assert brief is not None
        if self.retried or self.proposal is None or brief.axis is None:
            return self._finish(None, why)
        softer = back_off(brief.axis, self.proposal, brief.dead_ends)
        if softer is None:
            return self._finish(None, f"{why}; no more conservative value to retry with")
        self.retried = True
        self.history.append(f"retry with {softer.new!r} ({softer.reason})")
        base = parse_recipe_text(self.recipe_text, self.recipe_file)
        values = set_path(base, softer.key, softer.new)
        top = softer.key.split(".", 1)[0]
        self.recipe_text = set_recipe_values(self.recipe_text, {top: values[top]})
        self.proposal = softer
        self._next = "validate"
        return "write_file", {"path": self.recipe_file, "content": self.recipe_text}, self._hypothesis()

    def _hypothesis(self) -> str:
        brief = self.brief
        assert brief is not None
        if brief.axis is None or self.proposal is None:
            return (f"Baseline anchor (seed {brief.seed}): the standing recipe unchanged, a replicate that "
                    "calibrates the noise band.")
        p = self.proposal
        return (f"Hypothesis: along axis {brief.axis.name} ({brief.axis.category}), setting {p.key} "
                f"from {p.old!r} to {p.new!r} ({p.reason}) improves {brief.objective} dev over the standing "
                f"recipe ({p.key}={get_path(brief.standing_recipe, p.key)!r}).")

    def _finish(self, step: int | None, outcome: str) -> tuple[str, dict[str, JsonValue], str]:
        self._next = "done"
        notes = " ".join(f"[{h}]" for h in self.history)
        rationale = f"{self._hypothesis()} {outcome} {notes}".strip()
        args: dict[str, JsonValue] = {"rationale": rationale}
        if step is not None:
            args["step"] = step
            args["job_id"] = self.job_id
        return "finish", args, rationale
