"""Per-family solvers (editable): each infers a puzzle's hidden rule from its examples."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ..families import Puzzle
from . import bit_manipulation, equations, gravity, numeral_system, text_cipher, unit_conversion
from .base import Solution

__all__ = ["Solution", "Solver", "solve"]


class Solver:
    """Solves puzzles; holds what is shared across rows (the plaintext word list for ciphers)."""

    def __init__(self, prompts: Iterable[Puzzle] = ()) -> None:
        self.vocab: Counter[str] = Counter()
        for p in prompts:
            if p.family == "text_cipher":
                self.vocab.update(w for _, plain in p.examples for w in plain.split())

    def solve(self, puzzle: Puzzle) -> Solution | None:
        if puzzle.family == "text_cipher":
            return text_cipher.solve(puzzle, self.vocab or None)
        module = {
            "bit_manipulation": bit_manipulation,
            "numeral_system": numeral_system,
            "unit_conversion": unit_conversion,
            "gravity": gravity,
            "equations": equations,
        }[puzzle.family]
        return module.solve(puzzle)


def solve(puzzle: Puzzle) -> Solution | None:
    return Solver([puzzle]).solve(puzzle)
