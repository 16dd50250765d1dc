"""Secret multiplicative unit conversion: 'x m becomes y', y = x * factor shown with 2 decimals."""

from __future__ import annotations

import random
import re

from ..puzzle import Example, Puzzle, boxed

NAME = "unit_conversion"
MARKER = "a secret unit conversion is applied to measurements"
HEADER = "In Alice's Wonderland, a secret unit conversion is applied to measurements. For example:\n"
QUERY_PREFIX = "\nNow, convert the following measurement: "
# Real data: factor in [0.5, 2.0], inputs 5..50 shown like Python's str(round(x, 2)), outputs "%.2f".
FACTOR_RANGE = (0.5, 2.0)
VALUE_RANGE = (5.0, 50.0)
# difficulty -> example count. Levels 0 and 1 use a few factors and whole-number inputs (shown "12.0",
# a real input shape) so the rule can be induced by a small model; 1 has larger inputs.
# Level 2 is the real data: any factor in FACTOR_RANGE with 2 decimals, any 2-decimal input.
KNOBS = {0: 5, 1: 4, 2: 4}
LEARNABLE_FACTORS = (0.5, 1.5, 2.0, 2.5, 3.0)
LEARNABLE_VALUES = {0: (2, 12), 1: (5, 33)}  # answers stay below 100 like the real ones


def show_value(x: float) -> str:
    return str(round(x, 2))


def convert(value: str, factor: float) -> str:
    return f"{float(value) * factor:.2f}"


def render_prompt(examples: list[Example], query: str) -> str:
    lines = "\n".join(f"{ex.inp} m becomes {ex.out}" for ex in examples)
    return HEADER + lines + QUERY_PREFIX + query + " m"


def parse(prompt: str) -> tuple[list[Example], str]:
    body, _, query = prompt.partition(QUERY_PREFIX)
    pairs = re.findall(r"^(\S+) m becomes (\S+)$", body, re.M)
    return [Example(a, b) for a, b in pairs], query.strip().removesuffix(" m")


def generate(rng: random.Random, difficulty: int) -> Puzzle:
    n_examples = KNOBS[difficulty]
    learnable = difficulty in LEARNABLE_VALUES
    factor = rng.choice(LEARNABLE_FACTORS) if learnable else round(rng.uniform(*FACTOR_RANGE), 2)
    values: list[str] = []
    while len(values) < n_examples + 1:
        if learnable:
            v = str(float(rng.randint(*LEARNABLE_VALUES[difficulty])))
        else:
            v = show_value(rng.uniform(*VALUE_RANGE))
        if v not in values:
            values.append(v)
    examples = [Example(v, convert(v, factor)) for v in values[:-1]]
    query = values[-1]
    answer = convert(query, factor)
    return Puzzle(
        family=NAME,
        rule=f"factor:{factor}",
        rule_text=f"multiply the measurement by {factor}",
        examples=tuple(examples),
        query=query,
        answer=answer,
        difficulty=difficulty,
        prompt=render_prompt(examples, query),
        trace=(f"rule: factor:{factor}", f"{query} * {factor} = {answer}", boxed(answer)),
    )
