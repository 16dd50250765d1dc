"""Price table for LLM backends: USD per million input / output tokens, per model.

Defaults cover common Anthropic and OpenAI models at their public list prices when this file was
written; prices change, so a campaign config can override or add models (`PriceTable.models`).
An unknown model is an error unless the config opts in to zero cost (`allow_unpriced: true`, e.g.
a local vLLM server), so a typo never silently makes a run look free.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.schemas.common import Artifact


class ModelPrice(Artifact):
    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1_000_000


def _p(input_per_mtok: float, output_per_mtok: float) -> ModelPrice:
    return ModelPrice(input_per_mtok=input_per_mtok, output_per_mtok=output_per_mtok)


DEFAULT_PRICES: dict[str, ModelPrice] = {
    # Anthropic
    "claude-opus-4-5": _p(5.0, 25.0),
    "claude-opus-4-1": _p(15.0, 75.0),
    "claude-opus-4-0": _p(15.0, 75.0),
    "claude-opus-4": _p(15.0, 75.0),
    "claude-sonnet-4-5": _p(3.0, 15.0),
    "claude-sonnet-4-0": _p(3.0, 15.0),
    "claude-sonnet-4": _p(3.0, 15.0),
    "claude-3-7-sonnet": _p(3.0, 15.0),
    "claude-haiku-4-5": _p(1.0, 5.0),
    "claude-3-5-haiku": _p(0.8, 4.0),
    # OpenAI
    "gpt-5": _p(1.25, 10.0),
    "gpt-5-mini": _p(0.25, 2.0),
    "gpt-5-nano": _p(0.05, 0.4),
    "gpt-4.1": _p(2.0, 8.0),
    "gpt-4.1-mini": _p(0.4, 1.6),
    "gpt-4.1-nano": _p(0.1, 0.4),
    "gpt-4o": _p(2.5, 10.0),
    "gpt-4o-mini": _p(0.15, 0.6),
    "o4-mini": _p(1.1, 4.4),
    "o3": _p(2.0, 8.0),
}

ZERO_PRICE = _p(0.0, 0.0)

# A dated snapshot of a listed model costs the same: `claude-sonnet-4-5-20250929`, `gpt-4o-2024-08-06`.
_SNAPSHOT_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2}|latest)")


class PriceTable(Artifact):
    """Per-model prices; `models` entries override/extend DEFAULT_PRICES."""

    models: dict[str, ModelPrice] = Field(default_factory=dict)
    allow_unpriced: bool = False  # explicit opt-in: unknown models cost $0 (local servers)

    def lookup(self, model: str) -> ModelPrice:
        """Price for `model`: exact name, else a listed model plus a snapshot suffix; else error."""
        for table in (self.models, DEFAULT_PRICES):
            if model in table:
                return table[model]
        for table in (self.models, DEFAULT_PRICES):
            for name in sorted(table, key=len, reverse=True):
                if model.startswith(name) and _SNAPSHOT_SUFFIX.fullmatch(model[len(name) :]):
                    return table[name]
        if self.allow_unpriced:
            return ZERO_PRICE
        raise EvotrainError(
            f"agent.prices: no price for model '{model}'; add it under prices.models "
            "(input_per_mtok, output_per_mtok) or set prices.allow_unpriced: true"
        )


def load_price_table(path: Path | str) -> PriceTable:
    """Read a price table from YAML/JSON (one-line EvotrainError on bad input)."""
    return read_model(path, PriceTable)
