"""Price table for LLM backends: USD per million tokens (input, output, cache read, cache write), per model.

Defaults are the providers' public list prices as of PRICES_AS_OF (Anthropic: platform.claude.com pricing,
OpenAI: developers.openai.com pricing). Prices change, so a campaign config overrides or adds models
under `prices.models`. An unknown model is refused when a dollar cap is set (the cap could not be
enforced); without a dollar cap it runs at $0 and its tokens are still counted.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.schemas.common import Artifact

PRICES_AS_OF = "2026-11"
# Provider defaults when a model's cache prices are not listed: Anthropic reads at 0.1x and writes
# (5-minute TTL) at 1.25x the input price; OpenAI has no write surcharge.
DEFAULT_CACHE_READ_FACTOR = 0.1
DEFAULT_CACHE_WRITE_FACTOR = 1.25


class ModelPrice(Artifact):
    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)
    cached_input_per_mtok: float | None = Field(default=None, ge=0)  # None: 0.1 x input
    cache_write_per_mtok: float | None = Field(default=None, ge=0)  # None: 1.25 x input

    @property
    def cache_read_rate(self) -> float:
        rate = self.cached_input_per_mtok
        return self.input_per_mtok * DEFAULT_CACHE_READ_FACTOR if rate is None else rate

    @property
    def cache_write_rate(self) -> float:
        rate = self.cache_write_per_mtok
        return self.input_per_mtok * DEFAULT_CACHE_WRITE_FACTOR if rate is None else rate

    def cost(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0, cache_write_tokens: int = 0) -> float:
        """Dollars for one call; `input_tokens` counts every input token, cached and written ones included."""
        fresh = max(0, input_tokens - cached_tokens - cache_write_tokens)
        return (
            fresh * self.input_per_mtok
            + cached_tokens * self.cache_read_rate
            + cache_write_tokens * self.cache_write_rate
            + output_tokens * self.output_per_mtok
        ) / 1_000_000


def _a(inp: float, out: float) -> ModelPrice:
    """Anthropic: cache read 0.1x, 5-minute cache write 1.25x of the input price."""
    return ModelPrice(input_per_mtok=inp, output_per_mtok=out, cached_input_per_mtok=round(inp * 0.1, 6),
                      cache_write_per_mtok=round(inp * 1.25, 6))


def _o(inp: float, out: float, cached: float) -> ModelPrice:
    """OpenAI: automatic caching, no write surcharge."""
    return ModelPrice(input_per_mtok=inp, output_per_mtok=out, cached_input_per_mtok=cached, cache_write_per_mtok=inp)


DEFAULT_PRICES: dict[str, ModelPrice] = {
    # Anthropic
    "claude-opus-5": _a(5.0, 25.0),
    "claude-opus-4-8": _a(5.0, 25.0),
    "claude-opus-4-7": _a(5.0, 25.0),
    "claude-opus-4-6": _a(5.0, 25.0),
    "claude-opus-4-5": _a(5.0, 25.0),
    "claude-opus-4-1": _a(15.0, 75.0),
    "claude-opus-4-0": _a(15.0, 75.0),
    "claude-opus-4": _a(15.0, 75.0),
    "claude-sonnet-4-6": _a(3.0, 15.0),
    "claude-sonnet-4-5": _a(3.0, 15.0),
    "claude-sonnet-4-0": _a(3.0, 15.0),
    "claude-sonnet-4": _a(3.0, 15.0),
    "claude-3-7-sonnet": _a(3.0, 15.0),
    "claude-haiku-4-5": _a(1.0, 5.0),
    "claude-3-5-haiku": _a(0.8, 4.0),
    # OpenAI (cached input: 0.1x on the GPT-5 family, 0.25x on GPT-4.1, 0.5x on GPT-4o and o-series)
    "gpt-5.5": _o(5.0, 30.0, 0.5),
    "gpt-5.4": _o(2.5, 15.0, 0.25),
    "gpt-5.4-mini": _o(0.75, 4.5, 0.075),
    "gpt-5.4-nano": _o(0.2, 1.25, 0.02),
    "gpt-5.1": _o(1.25, 10.0, 0.125),
    "gpt-5": _o(1.25, 10.0, 0.125),
    "gpt-5-mini": _o(0.25, 2.0, 0.025),
    "gpt-5-nano": _o(0.05, 0.4, 0.005),
    "gpt-4.1": _o(2.0, 8.0, 0.5),
    "gpt-4.1-mini": _o(0.4, 1.6, 0.1),
    "gpt-4.1-nano": _o(0.1, 0.4, 0.025),
    "gpt-4o": _o(2.5, 10.0, 1.25),
    "gpt-4o-mini": _o(0.15, 0.6, 0.075),
    "o4-mini": _o(1.1, 4.4, 0.275),
    "o3": _o(2.0, 8.0, 0.5),
}

ZERO_PRICE = ModelPrice(input_per_mtok=0.0, output_per_mtok=0.0, cached_input_per_mtok=0.0, cache_write_per_mtok=0.0)

# A dated snapshot of a listed model costs the same: `claude-sonnet-4-5-20250929`, `gpt-4o-2024-08-06`.
_SNAPSHOT_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2}|latest)")


class PriceTable(Artifact):
    """Per-model prices; `models` entries override/extend DEFAULT_PRICES."""

    models: dict[str, ModelPrice] = Field(default_factory=dict)
    allow_unpriced: bool = False  # explicit opt-in: unknown models cost $0 even under a dollar cap

    def find(self, model: str) -> ModelPrice | None:
        """Price for `model`: exact name, else a listed model plus a snapshot suffix; else None."""
        for table in (self.models, DEFAULT_PRICES):
            if model in table:
                return table[model]
        for table in (self.models, DEFAULT_PRICES):
            for name in sorted(table, key=len, reverse=True):
                if model.startswith(name) and _SNAPSHOT_SUFFIX.fullmatch(model[len(name) :]):
                    return table[name]
        return None

    def lookup(self, model: str) -> ModelPrice:
        """The price, or an error naming `prices.models` (unless allow_unpriced)."""
        price = self.find(model)
        if price is not None:
            return price
        if self.allow_unpriced:
            return ZERO_PRICE
        raise EvotrainError(
            f"agent.prices: no price for model '{model}'; add it under prices.models "
            "(input_per_mtok, output_per_mtok) or set prices.allow_unpriced: true"
        )

    def for_budget(self, model: str, dollar_cap: float | None) -> tuple[ModelPrice, bool]:
        """(price, priced). Unknown model: refused under a dollar cap, else $0 and tokens counted."""
        price = self.find(model)
        if price is not None:
            return price, True
        if dollar_cap is None or self.allow_unpriced:
            return ZERO_PRICE, False
        raise EvotrainError(
            f"agent.prices.models: no price for model '{model}' and a dollar cap of ${dollar_cap:g} is set; "
            "add the model under prices.models (input_per_mtok, output_per_mtok) or remove the dollar cap"
        )


def load_price_table(path: Path | str) -> PriceTable:
    """Read a price table from YAML/JSON (one-line EvotrainError on bad input)."""
    return read_model(path, PriceTable)
