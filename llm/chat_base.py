"""The API-independent half of an LLM backend: budget gate, retries, usage, call log, JSON retries.

A concrete backend (anthropic_backend, openai_backend) supplies the wire format: how to build a
request from the conversation, send it through its SDK, and read a response back.
"""

from __future__ import annotations

import json
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel

from llm.base import (
    AgentError,
    AgentTurn,
    BudgetExceeded,
    ContextOverflow,
    ModelRefused,
    ToolCall,
    ToolResult,
    ToolSpec,
    Usage,
)
from llm.call_log import CallKind, CallRecord, CallRecorder
from llm.common import (
    BudgetMeter,
    CallFailure,
    LLMBudget,
    Secret,
    call_with_retries,
    one_line,
    redact,
    request_size,
    resolve_api_key,
    validate_answer,
)
from llm.context import Conversation

if TYPE_CHECKING:
    from llm.config import AgentConfig

M = TypeVar("M", bound=BaseModel)

# Both APIs accept only these tool names.
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CONTINUE_PROMPT = "No tool results this turn. Continue with the task using the tools; finish when done."


Outcome = Literal["ok", "truncated", "pause", "refused", "overflow"]
# stop reason -> what the loop does with the turn (defined for every stop reason of both APIs):
#   ok        end_turn, tool_use, stop_sequence / stop, tool_calls / Responses "completed": use the turn
#   truncated max_tokens / length / incomplete(max_output_tokens): a cut-off tool call is reported invalid,
#             a cut-off text turn is answered with TRUNCATED_PROMPT; the loop goes on
#   pause     pause_turn: the paused turn is sent back and the model continues it (MAX_PAUSES times)
#   refused   refusal / content_filter / incomplete(content_filter): ModelRefused, the worker stops
#   overflow  model_context_window_exceeded (or an HTTP 400 "prompt is too long"): compact to the last
#             turn and retry once, then ContextOverflow
MAX_PAUSES = 3
TRUNCATED_PROMPT = ("Your previous reply was cut off at the output token limit. Reply with one tool call and "
                    "keep any text short.")


@dataclass
class ParsedReply:
    """One API response, reduced to what the worker needs."""

    text: str
    tool_calls: list[ToolCall]
    stop_reason: str
    input_tokens: int
    output_tokens: int
    json_answer: Any = None  # complete_json: the structured answer (dict) or raw text to parse
    extra: dict[str, Any] = field(default_factory=dict)
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    outcome: Outcome = "ok"


class LLMBackendBase(ABC):
    """Shared behaviour of the Anthropic and OpenAI backends (one conversation per `start`)."""

    name: str = "llm"
    default_key_env: str = ""

    def __init__(
        self,
        config: AgentConfig,
        budget: LLMBudget,
        *,
        recorder: CallRecorder | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.model = config.model
        self.key_env = config.api_key_env or self.default_key_env
        # unknown model: refused before any spend when a dollar cap is set, else $0 and tokens counted
        price, self.priced = config.prices.for_budget(config.model, budget.max_dollars)
        self._secret: Secret = resolve_api_key(self.key_env, optional=config.api_key_optional)
        self.meter = BudgetMeter(budget=budget, price=price, max_output_tokens=config.max_tokens_per_call)
        self.retry_policy = config.retry_policy()
        self.recorder = recorder
        if recorder is not None:
            recorder.bind_secrets([self._secret])
        self._sleep = sleep
        self._client = self._make_client(self._secret)
        self.retries_total = 0
        self._started = False
        self.conv = Conversation("", config.context)
        self._pending: list[ToolCall] = []
        self._continue_text = CONTINUE_PROMPT
        self.request_sizes: list[int] = []  # characters of every step request (context-growth checks)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model={self.model!r}, base_url={self.config.base_url!r}, "
            f"api_key_env={self.key_env!r})"
        )

    @property
    def usage(self) -> Usage:
        """Cumulative usage of this backend instance (all calls, step and complete_json)."""
        return self.meter.spent

    @property
    def compacted(self) -> bool:
        """True once older turns were folded into the summary (the caller then re-sends the diff)."""
        return self.conv.summary.last_turn > 0

    def set_note(self, note: str) -> None:
        """Fresh state (current diff, budget left) sent at the end of the next request only."""
        self.conv.note = note

    # ------------------------------------------------------------ wire format (per API)

    @property
    @abstractmethod
    def sdk(self) -> ModuleType: ...

    @abstractmethod
    def _make_client(self, secret: Secret) -> Any: ...

    @abstractmethod
    def _reset_conversation(self, system: str, tools: list[ToolSpec]) -> None:
        """Keep the system prompt and the tools in the API's format (the conversation is `self.conv`)."""

    @abstractmethod
    def _results_native(self, pending: list[ToolCall], results: dict[str, ToolResult]) -> list[dict[str, Any]]: ...

    @abstractmethod
    def _text_native(self, text: str) -> list[dict[str, Any]]:
        """A user message with plain text (continue prompts)."""

    @abstractmethod
    def _assistant_native(self, response: Any) -> list[dict[str, Any]]: ...

    @abstractmethod
    def _step_request(self) -> dict[str, Any]:
        """The request for `self.conv`: system, tools, head, kept exchanges, then the note."""

    @abstractmethod
    def _send(self, request: dict[str, Any]) -> Any: ...

    @abstractmethod
    def _parse(self, response: Any, request_chars: int) -> ParsedReply: ...

    @abstractmethod
    def _json_request(self, system: str, user: str, schema: type[BaseModel]) -> dict[str, Any]: ...

    @abstractmethod
    def _json_feedback(self, request: dict[str, Any], response: Any, error: str) -> dict[str, Any]:
        """The next complete_json request: previous exchange + the validation error."""

    def _merge_paused(self, held: list[dict[str, Any]], more: list[dict[str, Any]]) -> None:
        """Append a continuation to a paused assistant turn (Anthropic: one message, content lists joined)."""
        held[-1]["content"] = [*held[-1]["content"], *more[-1]["content"]]

    # ------------------------------------------------------------ the seam

    def start(self, system: str, user: str, tools: list[ToolSpec]) -> None:
        for tool in tools:
            if not _TOOL_NAME.match(tool.name):
                raise AgentError(f"{self.name}: tool name '{tool.name}' must match [A-Za-z0-9_-]{{1,64}}")
            if tool.parameters.get("type") != "object":
                raise AgentError(f"{self.name}: tool '{tool.name}' parameters must be a JSON Schema object")
        self._reset_conversation(system, tools)
        self.conv = Conversation(user, self.config.context)
        self._pending = []
        self._continue_text = CONTINUE_PROMPT
        self._started = True

    def step(self, results: list[ToolResult]) -> AgentTurn:
        if not self._started:
            raise AgentError(f"{self.name}: step() called before start()")
        by_id = {r.call_id: r for r in results}
        unknown = sorted(set(by_id) - {c.id for c in self._pending})
        if unknown:
            raise AgentError(f"{self.name}: results for unknown tool call ids {unknown}")
        mark = self.conv.snapshot()
        try:
            if self._pending:
                ordered = [by_id[c.id] for c in self._pending if c.id in by_id]
                self.conv.add_follow(self._results_native(self._pending, by_id), ordered)
            elif self.conv.awaiting_follow:
                self.conv.add_follow(self._text_native(self._continue_text), [])
            self.conv.maybe_compact()
            turn = self._request_turn()
        except (AgentError, BudgetExceeded):
            # nothing half-applied: the caller may retry this step with the same results
            self.conv.restore(mark)
            raise
        self._pending = list(turn.tool_calls)
        return turn

    def _request_turn(self) -> AgentTurn:
        """One assistant turn: the request, plus pause continuations and one overflow retry."""
        total = Usage()
        overflow_retried = False
        held: list[dict[str, Any]] | None = None  # a paused assistant turn being continued
        pauses = 0
        while True:
            request = self._step_request()
            too_big = request_size(request) > self.config.context.max_request_chars
            if too_big and held is None and self.conv.compact(1):
                request = self._step_request()
            try:
                response, chars, retries, latency = self._call("step", request, attempt=1)
            except ContextOverflow:
                if overflow_retried or held is not None or not self.conv.compact(1):
                    raise
                overflow_retried = True
                continue
            self.request_sizes.append(chars)
            reply = self._parse(response, chars)
            usage = self.meter.charge(reply.input_tokens, reply.output_tokens, chars, reply.cached_tokens,
                                      reply.cache_write_tokens)
            total = total.plus(usage)
            turn = AgentTurn(text=reply.text, tool_calls=reply.tool_calls, usage=usage, stop_reason=reply.stop_reason)
            if self.recorder is not None:
                self.recorder.record_turn(self.name, self.model, turn, retries=retries, latency_s=latency,
                                          request_chars=chars)
            if reply.outcome == "refused":
                raise ModelRefused(f"{self.name} {self.model}: the model refused (stop reason '{reply.stop_reason}')")
            if reply.outcome == "overflow":
                if overflow_retried or held is not None or not self.conv.compact(1):
                    raise ContextOverflow(f"{self.name} {self.model}: context window exceeded "
                                          f"(stop reason '{reply.stop_reason}') even after compaction")
                overflow_retried = True
                continue
            native = self._assistant_native(response)
            if held is None:
                held = native
                self.conv.add_assistant(held, reply.text, reply.tool_calls)
            else:
                self._merge_paused(held, native)
                ex = self.conv.exchanges[-1]
                ex.text, ex.calls = ex.text + reply.text, [*ex.calls, *reply.tool_calls]
            if reply.outcome == "pause":
                pauses += 1
                if pauses > MAX_PAUSES:
                    raise AgentError(f"{self.name} {self.model}: turn still paused after {MAX_PAUSES} continuations")
                continue
            ex = self.conv.exchanges[-1]
            self._continue_text = TRUNCATED_PROMPT if reply.outcome == "truncated" else CONTINUE_PROMPT
            return AgentTurn(text=ex.text, tool_calls=ex.calls, usage=total, stop_reason=reply.stop_reason)

    def complete_json(self, system: str, user: str, schema: type[M], max_attempts: int = 3) -> M:
        request = self._json_request(system, user, schema)
        last_error = "no attempt made"
        for attempt in range(1, max(1, max_attempts) + 1):
            response, chars, retries, latency = self._call("complete_json", request, attempt=attempt)
            reply = self._parse(response, chars)
            usage = self.meter.charge(reply.input_tokens, reply.output_tokens, chars, reply.cached_tokens,
                                      reply.cache_write_tokens)
            if reply.outcome == "refused":
                self._record_json(attempt, usage, reply, reply.text, retries, error="refused", latency=latency)
                raise ModelRefused(f"{self.name} {self.model}: the model refused (stop reason '{reply.stop_reason}')")
            raw = reply.json_answer if reply.json_answer is not None else reply.text
            try:
                answer = validate_answer(raw, schema)
            except ValueError as exc:
                last_error = one_line(str(exc))
                self._record_json(attempt, usage, reply, raw, retries, error=last_error, latency=latency)
                request = self._json_feedback(request, response, last_error)
                continue
            self._record_json(attempt, usage, reply, raw, retries, error="", latency=latency)
            return answer
        raise AgentError(f"{self.name}: no valid {schema.__name__} after {max_attempts} attempts: {last_error}")

    # ------------------------------------------------------------ internals

    def _call(self, kind: CallKind, request: dict[str, Any], attempt: int) -> tuple[Any, int, int, float]:
        """Budget gate, then the request with retries; failures are recorded before they propagate."""
        chars = request_size(request)
        retries = 0
        started = time.monotonic()

        def on_retry(_n: int, _failure: CallFailure, _delay: float) -> None:
            nonlocal retries
            retries += 1
            self.retries_total += 1

        try:
            self.meter.check(chars)
            response = call_with_retries(
                lambda: self._send(request),
                sdk=self.sdk,
                policy=self.retry_policy,
                secrets=[self._secret],
                label=f"{self.name} {self.model}",
                sleep=self._sleep,
                on_retry=on_retry,
            )
        except (BudgetExceeded, AgentError) as exc:
            if self.recorder is not None:
                error = f"{type(exc).__name__}: {exc}"
                self.recorder.record_failure(self.name, self.model, kind, error, attempt=attempt)
            raise
        return response, chars, retries, time.monotonic() - started

    def _record_json(self, attempt: int, usage: Usage, reply: ParsedReply, raw: Any, retries: int, error: str,
                     latency: float = 0.0) -> None:
        if self.recorder is None:
            return
        text = raw if isinstance(raw, str) else json.dumps(raw, default=str)
        self.recorder.record(
            CallRecord(
                ts=time.time(),
                backend=self.name,
                model=self.model,
                kind="complete_json",
                attempt=attempt,
                ok=not error,
                usage=usage,
                stop_reason=reply.stop_reason,
                text=redact(text, [self._secret]),
                error=error,
                retries=retries,
                latency_s=round(latency, 4),
                role=self.recorder.role,
                label=self.recorder.label,
            )
        )


def parse_arguments(raw: Any) -> tuple[dict[str, Any], str | None]:
    """Tool-call arguments → (object, None) or ({}, parse_error) when not a JSON object."""
    if isinstance(raw, dict):
        return raw, None
    if isinstance(raw, str):
        try:
            value = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            return {}, one_line(f"arguments are not valid JSON: {exc}", 200)
        if isinstance(value, dict):
            return value, None
        return {}, f"arguments must be a JSON object, got {type(value).__name__}"
    return {}, f"arguments must be a JSON object, got {type(raw).__name__}"
