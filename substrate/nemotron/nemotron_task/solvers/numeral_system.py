"""Wonderland numerals are Roman numerals; check that against the examples, then convert."""

from __future__ import annotations

from ..families import Puzzle
from .base import Solution

_VALUES = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
           (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))


def to_roman(n: int) -> tuple[str, list[str]]:
    out, steps = [], []
    for value, symbol in _VALUES:
        while n >= value:
            out.append(symbol)
            n -= value
            steps.append(f"{value} -> {symbol}, remaining {n}")
    return "".join(out), steps


def solve(puzzle: Puzzle) -> Solution | None:
    steps = ["The examples match Roman numerals:"]
    for number, numeral in puzzle.examples:
        if to_roman(int(number))[0] != numeral:
            return None
        steps.append(f"{number} = {numeral}")
    answer, parts = to_roman(int(puzzle.query))
    steps.append(f"Convert {puzzle.query}:")
    steps.extend(parts)
    return Solution(answer=answer, steps=tuple(steps), rule="roman")
