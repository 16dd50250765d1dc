"""Integer -> Roman numeral puzzles (the only numeral system in the real data, values 1..100)."""

from __future__ import annotations

import random
import re

from ..puzzle import Example, Puzzle, boxed

NAME = "numeral_system"
MARKER = "numbers are secretly converted into a different numeral system"
HEADER = (
    "In Alice's Wonderland, numbers are secretly converted into a different numeral system. "
    "Some examples are given below:\n"
)
QUERY_PREFIX = "\nNow, write the number "
QUERY_SUFFIX = " in the Wonderland numeral system."
# difficulty -> largest value; 1 matches the real data (1..100), 2 extends to the full Roman range.
MAX_VALUE = {0: 39, 1: 100, 2: 3999}
N_EXAMPLES = (3, 5)
PLACES = (
    (1000, ("", "M", "MM", "MMM")),
    (100, ("", "C", "CC", "CCC", "CD", "D", "DC", "DCC", "DCCC", "CM")),
    (10, ("", "X", "XX", "XXX", "XL", "L", "LX", "LXX", "LXXX", "XC")),
    (1, ("", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX")),
)


def roman_steps(n: int) -> tuple[str, list[str]]:
    """Convert place by place, returning the numeral and one trace line per non-zero place."""
    if not 1 <= n <= 3999:
        raise ValueError(f"query: {n} outside the Roman range 1..3999")
    parts: list[str] = []
    steps: list[str] = []
    for value, symbols in PLACES:
        digit = n // value % 10 if value < 1000 else n // 1000
        if digit:
            parts.append(symbols[digit])
            steps.append(f"{digit * value} -> {symbols[digit]}")
    return "".join(parts), steps


def render_prompt(examples: list[Example], query: str) -> str:
    lines = "\n".join(f"{ex.inp} -> {ex.out}" for ex in examples)
    return HEADER + lines + QUERY_PREFIX + query + QUERY_SUFFIX


def parse(prompt: str) -> tuple[list[Example], str]:
    body, _, tail = prompt.partition(QUERY_PREFIX)
    pairs = re.findall(r"^(\d+) -> (\S+)$", body, re.M)
    return [Example(a, b) for a, b in pairs], tail.removesuffix(QUERY_SUFFIX).strip()


def generate(rng: random.Random, difficulty: int) -> Puzzle:
    values = rng.sample(range(1, MAX_VALUE[difficulty] + 1), rng.randint(*N_EXAMPLES) + 1)
    examples = [Example(str(v), roman_steps(v)[0]) for v in values[:-1]]
    answer, steps = roman_steps(values[-1])
    query = str(values[-1])
    return Puzzle(
        family=NAME,
        rule="roman",
        rule_text="write the number as a Roman numeral",
        examples=tuple(examples),
        query=query,
        answer=answer,
        difficulty=difficulty,
        prompt=render_prompt(examples, query),
        trace=("rule: roman", *steps, boxed(answer)),
    )
