"""Training examples from the train split (editable): which rows, which trace style, what mix.

A row the solver answers correctly (or answers at all, when only_correct is off) becomes
prompt -> step-by-step trace ending in \\boxed{answer}; an unsolved row is dropped or kept
answer-only (recipe `unsolved`). Per-family counts follow the recipe's mixture weights.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .data import Row
from .families import Puzzle, parse
from .metric import extract_answer, is_correct
from .recipe import Recipe
from .solvers import Solution, Solver


@dataclass(frozen=True)
class Example:
    id: str
    family: str
    prompt: str  # the challenge prompt (prompting.py adds the instruction and chat template)
    completion: str  # the trace, ending in \boxed{answer}


def _example(row: Row, puzzle: Puzzle, solver: Solver, recipe: Recipe) -> Example | None:
    sol = solver.solve(puzzle)
    if sol is not None:
        text = sol.trace(recipe.trace_style)
        if not recipe.only_correct or is_correct(extract_answer(text), row.answer or ""):
            return Example(row.id, puzzle.family, row.prompt, text)
    if recipe.unsolved == "answer_only" and row.answer is not None:
        return Example(row.id, puzzle.family, row.prompt, Solution(answer=row.answer).trace("answer_only"))
    return None


def build_examples(rows: Sequence[Row], recipe: Recipe) -> tuple[list[Example], Counter[str]]:
    """(examples in training order, per-family counts). Rows are visited in a seeded random order
    per family and solved only until the family's quota is met (solving all rows costs ~15 s)."""
    puzzles = [parse(r.prompt) for r in rows]
    solver = Solver(puzzles)  # the cipher word list comes from every prompt's examples
    pools: dict[str, list[tuple[Row, Puzzle]]] = {}
    for row, puzzle in sorted(zip(rows, puzzles, strict=True), key=lambda rp: rp[0].id):
        if row.answer is not None:
            pools.setdefault(puzzle.family, []).append((row, puzzle))
    rng = random.Random(recipe.seed)
    mix = recipe.mixture()
    picked: list[Example] = []
    for family in sorted(pools):
        pool = pools[family]
        rng.shuffle(pool)
        quota = round(recipe.num_train_examples * mix.get(family, 0.0))
        kept = 0
        for row, puzzle in pool:
            if kept >= quota:
                break
            example = _example(row, puzzle, solver, recipe)
            if example is not None:
                picked.append(example)
                kept += 1
    rng.shuffle(picked)
    return picked, Counter(e.family for e in picked)
