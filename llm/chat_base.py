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
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from llm.base import AgentError, AgentTurn, BudgetExceeded, ToolCall, ToolResult, ToolSpec, Usage
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

if TYPE_CHECKING:
    from llm.config import AgentConfig

M = TypeVar("M", bound=BaseModel)

# Both APIs accept only these tool names.
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CONTINUE_PROMPT = "No tool results this turn. Continue with the task using the tools; finish when done."


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
        price = config.prices.lookup(config.model)  # unknown model: error before any spend
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
        self._messages: list[dict[str, Any]] = []  # the conversation, in the API's own message format
        self._pending: list[ToolCall] = []

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model={self.model!r}, base_url={self.config.base_url!r}, "
            f"api_key_env={self.key_env!r})"
        )

    @property
    def usage(self) -> Usage:
        """Cumulative usage of this backend instance (all calls, step and complete_json)."""
        return self.meter.spent

    # ------------------------------------------------------------ wire format (per API)

    @property
    @abstractmethod
    def sdk(self) -> ModuleType: ...

    @abstractmethod
    def _make_client(self, secret: Secret) -> Any: ...

    @abstractmethod
    def _reset_conversation(self, system: str, user: str, tools: list[ToolSpec]) -> None: ...

    @abstractmethod
    def _add_tool_results(self, pending: list[ToolCall], results: dict[str, ToolResult]) -> None: ...

    @abstractmethod
    def _add_continue(self) -> None:
        """Append a user nudge when the model answered without tool calls and the loop goes on."""

    @abstractmethod
    def _last_is_user(self) -> bool: ...

    @abstractmethod
    def _step_request(self) -> dict[str, Any]: ...

    @abstractmethod
    def _send(self, request: dict[str, Any]) -> Any: ...

    @abstractmethod
    def _parse(self, response: Any, request_chars: int) -> ParsedReply: ...

    @abstractmethod
    def _add_assistant(self, response: Any) -> None: ...

    @abstractmethod
    def _json_request(self, system: str, user: str, schema: type[BaseModel]) -> dict[str, Any]: ...

    @abstractmethod
    def _json_feedback(self, request: dict[str, Any], response: Any, error: str) -> dict[str, Any]:
        """The next complete_json request: previous exchange + the validation error."""

    # ------------------------------------------------------------ the seam

    def start(self, system: str, user: str, tools: list[ToolSpec]) -> None:
        for tool in tools:
            if not _TOOL_NAME.match(tool.name):
                raise AgentError(f"{self.name}: tool name '{tool.name}' must match [A-Za-z0-9_-]{{1,64}}")
            if tool.parameters.get("type") != "object":
                raise AgentError(f"{self.name}: tool '{tool.name}' parameters must be a JSON Schema object")
        self._reset_conversation(system, user, tools)
        self._pending = []
        self._started = True

    def step(self, results: list[ToolResult]) -> AgentTurn:
        if not self._started:
            raise AgentError(f"{self.name}: step() called before start()")
        by_id = {r.call_id: r for r in results}
        unknown = sorted(set(by_id) - {c.id for c in self._pending})
        if unknown:
            raise AgentError(f"{self.name}: results for unknown tool call ids {unknown}")
        mark = len(self._messages)
        try:
            if self._pending:
                self._add_tool_results(self._pending, by_id)
            elif not self._last_is_user():
                self._add_continue()
            request = self._step_request()
            response, chars, retries = self._call("step", request, attempt=1)
            reply = self._parse(response, chars)
        except (AgentError, BudgetExceeded):
            # nothing half-applied: the caller may retry this step with the same results
            del self._messages[mark:]
            raise
        usage = self.meter.charge(reply.input_tokens, reply.output_tokens, chars)
        turn = AgentTurn(text=reply.text, tool_calls=reply.tool_calls, usage=usage, stop_reason=reply.stop_reason)
        self._add_assistant(response)
        self._pending = list(reply.tool_calls)
        if self.recorder is not None:
            self.recorder.record_turn(self.name, self.model, turn, retries=retries)
        return turn

    def complete_json(self, system: str, user: str, schema: type[M], max_attempts: int = 3) -> M:
        request = self._json_request(system, user, schema)
        last_error = "no attempt made"
        for attempt in range(1, max(1, max_attempts) + 1):
            response, chars, retries = self._call("complete_json", request, attempt=attempt)
            reply = self._parse(response, chars)
            usage = self.meter.charge(reply.input_tokens, reply.output_tokens, chars)
            raw = reply.json_answer if reply.json_answer is not None else reply.text
            try:
                answer = validate_answer(raw, schema)
            except ValueError as exc:
                last_error = one_line(str(exc))
                self._record_json(attempt, usage, reply, raw, retries, error=last_error)
                request = self._json_feedback(request, response, last_error)
                continue
            self._record_json(attempt, usage, reply, raw, retries, error="")
            return answer
        raise AgentError(f"{self.name}: no valid {schema.__name__} after {max_attempts} attempts: {last_error}")

    # ------------------------------------------------------------ internals

    def _call(self, kind: CallKind, request: dict[str, Any], attempt: int) -> tuple[Any, int, int]:
        """Budget gate, then the request with retries; failures are recorded before they propagate."""
        chars = request_size(request)
        retries = 0

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
        return response, chars, retries

    def _record_json(self, attempt: int, usage: Usage, reply: ParsedReply, raw: Any, retries: int, error: str) -> None:
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
