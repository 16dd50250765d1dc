"""Pieces shared by the LLM backends: secrets, budget accounting, retries, JSON answers.

Kept SDK-agnostic: the Anthropic and OpenAI SDKs share one exception shape (`APIStatusError` with
`status_code`, `APIConnectionError` incl. timeouts), so the retry policy is written once here.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from evotrain.errors import EvotrainError
from evotrain.schemas.brief import WorkerBudget
from evotrain.schemas.common import Artifact
from llm.base import AgentError, BudgetExceeded, ContextOverflow, Usage
from llm.pricing import ModelPrice

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

REDACTED = "[REDACTED]"
# Key-shaped strings redacted even when we do not know the exact key (e.g. echoed by a proxy).
_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|sk-ant-[A-Za-z0-9_\-]{8,})")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class AgentConfigError(EvotrainError, AgentError):
    """Bad agent configuration (missing key, unknown model): user input, exit 2; also an AgentError
    so a worker loop that catches AgentError ends cleanly."""


# ---------------------------------------------------------------- secrets


class Secret:
    """An API key that never shows itself in repr/str/logs; `reveal()` only for the SDK client."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


def resolve_api_key(env_name: str, *, optional: bool = False) -> Secret:
    """Read the key from the named environment variable; one-line error naming the variable."""
    if not _ENV_NAME.match(env_name):
        raise AgentConfigError("agent.api_key_env: must be the name of an environment variable")
    value = os.environ.get(env_name, "").strip()
    if not value:
        if optional:
            return Secret("EMPTY")  # local OpenAI-compatible servers (vLLM) accept any key
        raise AgentConfigError(f"agent.api_key_env: environment variable {env_name} is not set")
    return Secret(value)


def redact(text: str, secrets: Iterable[Secret] = ()) -> str:
    """Remove known secrets and anything key-shaped from text bound for a file, log or error."""
    for secret in secrets:
        value = secret.reveal()
        if value and value != "EMPTY":
            text = text.replace(value, REDACTED)
    return _KEY_PATTERN.sub(REDACTED, text)


def one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# ---------------------------------------------------------------- budget


class LLMBudget(Artifact):
    """What one backend instance may spend over its lifetime."""

    max_tokens: int = Field(ge=0)  # input + output tokens
    max_dollars: float | None = Field(default=None, ge=0)  # None: no dollar cap (tokens still counted)

    @classmethod
    def from_worker_budget(cls, budget: WorkerBudget) -> LLMBudget:
        return cls(max_tokens=budget.max_tokens, max_dollars=budget.max_dollars)


# Before the first response we assume ~3.3 characters per token (a slight over-estimate for
# English/JSON); after it, the ratio is calibrated on the API's real input_tokens count.
_DEFAULT_TOKENS_PER_CHAR = 0.3


@dataclass
class BudgetMeter:
    """Tracks spend; refuses a call whose worst case (estimated input + max output) would overrun."""

    budget: LLMBudget
    price: ModelPrice
    max_output_tokens: int
    spent: Usage = field(default_factory=Usage)
    tokens_per_char: float = _DEFAULT_TOKENS_PER_CHAR

    def estimate_input_tokens(self, request_chars: int) -> int:
        return math.ceil(request_chars * self.tokens_per_char)

    def check(self, request_chars: int) -> None:
        """Raise BudgetExceeded if the next call could exceed the remaining token or dollar budget."""
        est_in = self.estimate_input_tokens(request_chars)
        worst_tokens = self.spent.input_tokens + self.spent.output_tokens + est_in + self.max_output_tokens
        if worst_tokens > self.budget.max_tokens:
            raise BudgetExceeded(
                f"token budget: {self.spent.input_tokens + self.spent.output_tokens} used + up to "
                f"{est_in + self.max_output_tokens} for the next call > {self.budget.max_tokens}"
            )
        cap = self.budget.max_dollars
        # worst case prices every input token as uncached: caching only ever makes a call cheaper
        worst_dollars = self.spent.dollars + self.price.cost(est_in, self.max_output_tokens)
        if cap is not None and worst_dollars > cap:
            raise BudgetExceeded(
                f"dollar budget: ${self.spent.dollars:.4f} used + up to "
                f"${worst_dollars - self.spent.dollars:.4f} for the next call > ${cap:.4f}"
            )

    def charge(self, input_tokens: int, output_tokens: int, request_chars: int, cached_tokens: int = 0,
               cache_write_tokens: int = 0) -> Usage:
        """Record one call's real usage; return that call's Usage (tokens, dollars, calls=1)."""
        call = Usage(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            dollars=self.price.cost(input_tokens, output_tokens, cached_tokens, cache_write_tokens),
            calls=1,
            cached_input_tokens=cached_tokens,
            cache_write_tokens=cache_write_tokens,
        )
        self.spent = self.spent.plus(call)
        if input_tokens > 0 and request_chars > 0:
            self.tokens_per_char = input_tokens / request_chars
        return call


def request_size(payload: Any) -> int:
    """Characters of the JSON request body: the basis of the pre-call token estimate."""
    return len(json.dumps(payload, default=str, ensure_ascii=False))


# ---------------------------------------------------------------- retries


class RetryPolicy(Artifact):
    max_retries: int = Field(default=4, ge=0, le=20)
    backoff_initial_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)

    def delay(self, retry_no: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter; a server's Retry-After wins but is capped."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.backoff_max_s)
        base = min(self.backoff_initial_s * (2**retry_no), self.backoff_max_s)
        return base * (0.75 + 0.25 * random.random())


TRANSIENT_STATUSES = frozenset({408, 409, 425, 429})  # plus every 5xx (500, 502, 503, 504, 529)


# HTTP 400 texts of a request over the context window: Anthropic "prompt is too long: N tokens > M",
# OpenAI `context_length_exceeded`, vLLM "maximum context length is N tokens".
_CONTEXT_OVERFLOW = re.compile(r"prompt is too long|context_length_exceeded|maximum context length|context window",
                               re.IGNORECASE)


@dataclass(frozen=True)
class CallFailure:
    transient: bool
    message: str  # one line, redacted
    retry_after: float | None = None
    context_overflow: bool = False


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            return float(raw) / scale
        except ValueError:
            continue
    return None


def _api_error_message(exc: Any) -> str:
    """The API's own error text (`{"error": {"message": ...}}` in both APIs), else the SDK's."""
    body = getattr(exc, "body", None)
    inner = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(inner, dict) and isinstance(inner.get("message"), str):
        kind = inner.get("type")
        return f"{kind}: {inner['message']}" if isinstance(kind, str) and kind else inner["message"]
    return str(getattr(exc, "message", "") or type(exc).__name__)


def classify_sdk_error(exc: BaseException, sdk: Any, secrets: Iterable[Secret]) -> CallFailure | None:
    """Map an Anthropic/OpenAI SDK exception to transient/permanent; None if it is not an API error."""
    if isinstance(exc, sdk.APIStatusError):
        status = int(exc.status_code)
        message = _api_error_message(exc)
        text = one_line(redact(f"HTTP {status} {type(exc).__name__}: {message}", secrets))
        transient = status in TRANSIENT_STATUSES or status >= 500
        overflow = status in (400, 413) and bool(_CONTEXT_OVERFLOW.search(f"{message} {getattr(exc, 'code', '')}"))
        return CallFailure(transient, text, _retry_after(getattr(exc.response, "headers", None)), overflow)
    if isinstance(exc, sdk.APIConnectionError):  # includes APITimeoutError
        return CallFailure(True, one_line(redact(f"{type(exc).__name__}: {exc}", secrets)))
    return None


def call_with_retries(
    fn: Callable[[], T],
    *,
    sdk: Any,
    policy: RetryPolicy,
    secrets: Iterable[Secret],
    label: str,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[int, CallFailure, float], None] | None = None,
) -> T:
    """Run `fn` (one API request); retry transient failures with backoff; AgentError otherwise.

    The SDK's own retries are disabled (max_retries=0 on the client) so that the policy, the
    backoff and the count are ours and visible.
    """
    secrets = tuple(secrets)
    attempt = 0
    while True:
        try:
            return fn()
        except Exception as exc:
            failure = classify_sdk_error(exc, sdk, secrets)
            if failure is None:
                raise AgentError(
                    one_line(redact(f"{label}: unexpected {type(exc).__name__}: {exc}", secrets))
                ) from None
            if failure.context_overflow:
                raise ContextOverflow(f"{label}: {failure.message}") from None
            if not failure.transient:
                raise AgentError(f"{label}: {failure.message}") from None
            if attempt >= policy.max_retries:
                raise AgentError(f"{label}: giving up after {attempt + 1} attempts: {failure.message}") from None
            delay = policy.delay(attempt, failure.retry_after)
            if on_retry is not None:
                on_retry(attempt + 1, failure, delay)
            sleep(delay)
            attempt += 1


# ---------------------------------------------------------------- JSON answers


def extract_json_object(text: str) -> Any:
    """The first JSON object in a model's text (bare, in ```json fences, or amid prose)."""
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", stripped):
        try:
            value, _ = decoder.raw_decode(stripped, match.start())
        except ValueError:
            continue
        return value
    raise ValueError("no JSON object found in the answer")


def validate_answer(raw: Any, schema: type[M]) -> M:
    """Validate a parsed answer; ValueError with a short, model-readable reason on failure."""
    if isinstance(raw, str):
        raw = extract_json_object(raw)
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:8]:
            loc = ".".join(str(p) for p in err.get("loc", ())) or "<root>"
            problems.append(f"{loc}: {err.get('msg', 'invalid')}")
        raise ValueError("; ".join(problems)) from None


def json_instructions(schema: type[BaseModel]) -> str:
    """Prompt text asking for one JSON object matching the schema (the schema is included)."""
    return (
        "Answer with exactly one JSON object and nothing else. It must validate against this JSON "
        f"Schema:\n{json.dumps(schema.model_json_schema(), indent=1)}"
    )


def retry_feedback(error: str) -> str:
    return (
        f"Your previous answer was invalid: {error}. "
        "Answer again with one corrected JSON object that validates against the schema."
    )
