"""Secret gravitational constant: d = 0.5 * g * t^2, distances shown like str(round(d, 2))."""

from __future__ import annotations

import random
import re

from ..puzzle import Example, Puzzle, boxed

NAME = "gravity"
MARKER = "the gravitational constant has been secretly changed"
HEADER = (
    "In Alice's Wonderland, the gravitational constant has been secretly changed. "
    "Here are some example observations:\n"
)
QUERY_PREFIX = "\nNow, determine the falling distance for t = "
QUERY_SUFFIX = "s given d = 0.5*g*t^2."
# Real data: g in about [4.9, 19.6], t in [1, 5] shown like str(round(t, 2)).
G_RANGE = (4.9, 19.6)
T_RANGE = (1.0, 5.0)
# difficulty -> example count. Levels 0 and 1 use a few whole g values (a table a small model can
# learn to induce); 0 has whole seconds (shown "3.0", a real input shape), 1 half seconds over the
# real range. Level 2 is the real data: g with 2 decimals, t with 2 decimals.
KNOBS = {0: 4, 1: 4, 2: 4}
LEARNABLE_G = (4, 6, 8, 10, 12)
LEARNABLE_TIMES = {0: tuple(float(t) for t in range(1, 7)), 1: tuple(t / 2 for t in range(2, 11))}


def show(x: float) -> str:
    return str(round(x, 2))


def distance(t: str, g: float) -> str:
    return show(0.5 * g * float(t) ** 2)


def render_prompt(examples: list[Example], query: str) -> str:
    lines = "\n".join(f"For t = {ex.inp}s, distance = {ex.out} m" for ex in examples)
    return HEADER + lines + QUERY_PREFIX + query + QUERY_SUFFIX


def parse(prompt: str) -> tuple[list[Example], str]:
    body, _, tail = prompt.partition(QUERY_PREFIX)
    pairs = re.findall(r"^For t = (\S+)s, distance = (\S+) m$", body, re.M)
    return [Example(a, b) for a, b in pairs], tail.removesuffix(QUERY_SUFFIX).strip()


def generate(rng: random.Random, difficulty: int) -> Puzzle:
    n_examples = KNOBS[difficulty]
    learnable = difficulty in LEARNABLE_TIMES
    g = float(rng.choice(LEARNABLE_G)) if learnable else round(rng.uniform(*G_RANGE), 2)
    times: list[str] = []
    while len(times) < n_examples + 1:
        t = str(rng.choice(LEARNABLE_TIMES[difficulty])) if learnable else show(rng.uniform(*T_RANGE))
        if t not in times:
            times.append(t)
    examples = [Example(t, distance(t, g)) for t in times[:-1]]
    query = times[-1]
    answer = distance(query, g)
    return Puzzle(
        family=NAME,
        rule=f"g:{g}",
        rule_text=f"the gravitational constant is g = {g}",
        examples=tuple(examples),
        query=query,
        answer=answer,
        difficulty=difficulty,
        prompt=render_prompt(examples, query),
        trace=(f"rule: g:{g}", f"d = 0.5*{g}*{query}^2 = {answer}", boxed(answer)),
    )
