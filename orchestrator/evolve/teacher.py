"""Offline teacher: synthetic training data for an intent, seeded by the cluster's own requests.

The seed's teacher is a large LLM writing prompt/answer pairs for the new intent. Offline, the
teacher reads each request of the cluster (the substrate's parser tells which puzzle family it is)
and writes new puzzles of that family with the substrate's generators, one rng per (request, k),
so the data follows the cluster's mix. Like an LLM teacher it makes mistakes: a configured share
of items carries a wrong answer (the reward filter's verifier must catch them). Every item keeps
its provenance (family, rng seed, difficulty), which is what the offline verifier re-derives.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from orchestrator.evolve.schemas import TeacherItemRef
from orchestrator.evolve.substrate_bridge import Minitask, parse_request


@dataclass(frozen=True)
class TeacherItem:
    puzzle: Any  # minitask.puzzle.Puzzle
    ref: TeacherItemRef


def _corrupt(answer: str, rng: random.Random) -> str:
    """A plausible wrong answer: one character changed within its class (digit, bit, letter)."""
    positions = [i for i, c in enumerate(answer) if c.isalnum()]
    if not positions:
        return answer + "?"
    i = rng.choice(positions)
    c = answer[i]
    if c in "01" and set(answer) <= {"0", "1"}:
        new = "1" if c == "0" else "0"
    elif c.isdigit():
        new = str((int(c) + rng.randint(1, 9)) % 10)
    elif c.isupper():
        new = rng.choice([x for x in "IVXLCDM" if x != c]) if c in "IVXLCDM" else chr((ord(c) - 64) % 26 + 65)
    else:
        new = chr((ord(c.lower()) - 96) % 26 + 97)
    return answer[:i] + new + answer[i + 1 :]


def make_item(mt: Minitask, family: str, seed: str, difficulty: int, flawed: bool) -> TeacherItem:
    puzzle = mt.families.generate_puzzle(family, random.Random(seed), difficulty)
    if flawed:
        wrong = _corrupt(puzzle.answer, random.Random(f"{seed}:flaw"))
        puzzle = dataclasses.replace(puzzle, answer=wrong, trace=(*puzzle.trace[:-1], mt.puzzle.boxed(wrong)))
    return TeacherItem(puzzle, TeacherItemRef(family=family, seed=seed, difficulty=difficulty, flawed=flawed))


def regenerate_answer(mt: Minitask, ref: TeacherItemRef) -> str:
    """The answer the generator gives for this provenance (the offline verifier's ground truth)."""
    return mt.families.generate_puzzle(ref.family, random.Random(ref.seed), ref.difficulty).answer


def teach(
    mt: Minitask,
    requests: list[str],
    items_per_request: int,
    max_items: int,
    flawed_fraction: float,
    difficulty: int = 0,
    salt: str = "",
) -> tuple[list[TeacherItem], Counter[str]]:
    """Teacher items for the cluster's requests, plus the family each request was read as."""
    families: Counter[str] = Counter()
    seeds: list[tuple[str, str]] = []
    for prompt in requests:
        parsed = parse_request(mt, prompt)
        if parsed is None:
            families["<not a puzzle>"] += 1
            continue
        families[parsed.family] += 1
        digest = hashlib.sha256(f"{salt}|{prompt}".encode()).hexdigest()[:16]
        seeds += [(parsed.family, f"teacher:{digest}:{k}") for k in range(items_per_request)]
    if len(seeds) > max_items:  # spread the cap over all requests rather than keep the first ones
        seeds = random.Random(f"{salt}:cap").sample(seeds, max_items)
    items = []
    for family, seed in seeds:
        flawed = random.Random(f"{seed}:flawed?").random() < flawed_fraction
        items.append(make_item(mt, family, seed, difficulty, flawed))
    return items, families
