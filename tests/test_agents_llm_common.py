"""Pricing, budget accounting, retry classification and JSON-answer helpers (no network)."""

from __future__ import annotations

from pathlib import Path

import anthropic
import httpx2
import openai
import pytest
from pydantic import BaseModel

from evotrain.errors import EvotrainError
from llm.base import AgentError, BudgetExceeded
from llm.common import (
    BudgetMeter,
    LLMBudget,
    RetryPolicy,
    Secret,
    call_with_retries,
    classify_sdk_error,
    extract_json_object,
    validate_answer,
)
from llm.pricing import DEFAULT_PRICES, ModelPrice, PriceTable, load_price_table


class Pick(BaseModel):
    name: str
    score: float


# ---------------------------------------------------------------- pricing


def test_price_lookup_exact_snapshot_override_and_unknown() -> None:
    table = PriceTable()
    assert table.lookup("gpt-4o-mini") == DEFAULT_PRICES["gpt-4o-mini"]
    assert table.lookup("claude-haiku-4-5-20251001") == DEFAULT_PRICES["claude-haiku-4-5"]
    assert table.lookup("gpt-4.1-mini-2025-04-14") == DEFAULT_PRICES["gpt-4.1-mini"]  # not gpt-4.1's price
    with pytest.raises(EvotrainError, match="no price for model 'claude-haiku-4-5-turbo'"):
        table.lookup("claude-haiku-4-5-turbo")  # a suffix that is not a snapshot date is not guessed
    custom = PriceTable(models={"my-vllm-model": ModelPrice(input_per_mtok=0, output_per_mtok=0.5)})
    assert custom.lookup("my-vllm-model").output_per_mtok == 0.5
    assert PriceTable(allow_unpriced=True).lookup("qwen-local").cost(10**6, 10**6) == 0.0


def test_cost_is_per_million_tokens() -> None:
    assert ModelPrice(input_per_mtok=3, output_per_mtok=15).cost(2_000, 1_000) == pytest.approx(0.021)


def test_price_table_file_bad_field_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("models:\n  m:\n    input_per_mtok: -1\n    output_per_mtok: 2\n")
    with pytest.raises(EvotrainError) as info:
        load_price_table(path)
    assert "models.m.input_per_mtok" in str(info.value) and "\n" not in str(info.value)
    path.write_text("models:\n  m: {input_per_mtok: 1, output_per_mtok: 2}\nallow_unpriced: true\n")
    assert load_price_table(path).lookup("m").input_per_mtok == 1


# ---------------------------------------------------------------- budget


def test_budget_meter_refuses_worst_case_and_calibrates_estimate() -> None:
    price = ModelPrice(input_per_mtok=1, output_per_mtok=10)
    meter = BudgetMeter(LLMBudget(max_tokens=10_000, max_dollars=1.0), price, max_output_tokens=2_000)
    meter.check(request_chars=1_000)  # ~300 + 2000 <= 10000
    usage = meter.charge(input_tokens=5_000, output_tokens=1_000, request_chars=10_000)
    assert (usage.input_tokens, usage.output_tokens, usage.calls) == (5_000, 1_000, 1)
    assert usage.dollars == pytest.approx(0.015)
    assert meter.tokens_per_char == pytest.approx(0.5)  # calibrated on the real count
    meter.check(request_chars=4_000)  # 6000 used + 2000 est + 2000 = 10000: allowed
    with pytest.raises(BudgetExceeded, match="token budget"):
        meter.check(request_chars=4_002)
    assert meter.spent.calls == 1


def test_budget_meter_dollars() -> None:
    meter = BudgetMeter(
        LLMBudget(max_tokens=10**9, max_dollars=0.01), ModelPrice(input_per_mtok=0, output_per_mtok=10), 1_000
    )
    meter.check(0)  # worst case exactly $0.01
    meter.charge(0, 1, 0)
    with pytest.raises(BudgetExceeded, match="dollar budget"):
        meter.check(0)


# ---------------------------------------------------------------- retries


def _status_error(sdk, status: int, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    request = httpx2.Request("POST", "http://127.0.0.1/v1/x")
    response = httpx2.Response(status, headers=headers or {}, request=request, json={"error": {"message": "m"}})
    return sdk.APIStatusError("m", response=response, body={"error": {"message": "m"}})


@pytest.mark.parametrize("sdk", [anthropic, openai], ids=["anthropic", "openai"])
@pytest.mark.parametrize(
    ("status", "transient"),
    [(429, True), (500, True), (502, True), (503, True), (529, True), (400, False), (401, False), (404, False)],
)
def test_classification(sdk, status: int, transient: bool) -> None:  # type: ignore[no-untyped-def]
    failure = classify_sdk_error(_status_error(sdk, status), sdk, [])
    assert failure is not None and failure.transient is transient and f"HTTP {status}" in failure.message


@pytest.mark.parametrize("sdk", [anthropic, openai], ids=["anthropic", "openai"])
def test_connection_errors_are_transient_and_others_unexpected(sdk) -> None:  # type: ignore[no-untyped-def]
    request = httpx2.Request("POST", "http://127.0.0.1/v1/x")
    failure = classify_sdk_error(sdk.APIConnectionError(request=request), sdk, [])
    assert failure is not None and failure.transient
    assert classify_sdk_error(ValueError("x"), sdk, []) is None


def test_call_with_retries_counts_and_stops() -> None:
    attempts: list[int] = []
    sleeps: list[float] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise _status_error(openai, 503, {"retry-after": "0.5"})
        return "ok"

    policy = RetryPolicy(max_retries=5, backoff_initial_s=0.1, backoff_max_s=0.3)
    assert call_with_retries(flaky, sdk=openai, policy=policy, secrets=[], label="t", sleep=sleeps.append) == "ok"
    assert sleeps == [0.3, 0.3]  # Retry-After honoured but capped at backoff_max_s

    def broken() -> str:
        raise KeyError("surprise sk-secret-1234567890")

    with pytest.raises(AgentError) as info:
        call_with_retries(
            broken, sdk=openai, policy=policy, secrets=[Secret("sk-secret-1234567890")], label="t", sleep=sleeps.append
        )
    assert "unexpected KeyError" in str(info.value) and "1234567890" not in str(info.value)


# ---------------------------------------------------------------- JSON answers


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "a", "score": 1}',
        'Here: ```json\n{"name": "a", "score": 1}\n``` done',
        'x {bad} {"name": "a", "score": 1}',
    ],
)
def test_extract_json_object(text: str) -> None:
    assert validate_answer(text, Pick) == Pick(name="a", score=1)


def test_validate_answer_reasons_name_the_field() -> None:
    with pytest.raises(ValueError, match="score"):
        validate_answer({"name": "a", "score": "high"}, Pick)
    with pytest.raises(ValueError, match="no JSON object"):
        extract_json_object("I refuse.")
