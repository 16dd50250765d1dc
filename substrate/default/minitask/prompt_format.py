"""Compact rendering of a puzzle prompt (frozen: evaluation and the base checkpoint depend on it).

The challenge's English prompt is ~400 characters; a 0.5M-parameter model cannot afford that. The
compact form keeps exactly the information the puzzle carries: a one-letter family tag, the
few-shot examples and the query, e.g. for bit manipulation

    B|01010001>11011101;00001001>01101101|00110100=

The model then writes its completion: `\\boxed{answer}` (answer only) or `rule:\\boxed{answer}`
(step by step: first the inferred rule, then the answer). See encode.py for the targets.
"""

from __future__ import annotations

from typing import Protocol

FAMILY_TAGS = {
    "bit_manipulation": "B",
    "text_cipher": "T",
    "numeral_system": "N",
    "unit_conversion": "U",
    "gravity": "G",
    "equations": "E",
}
MAX_EXAMPLES = 4  # the first examples only: longer contexts cost more than they teach a tiny model
EXAMPLE_SEP = ";"
IO_SEP = ">"
QUERY_END = "="


class ExampleLike(Protocol):
    inp: str
    out: str


class PuzzleLike(Protocol):
    family: str
    examples: tuple[ExampleLike, ...]
    query: str


def render_prompt(puzzle: PuzzleLike) -> str:
    """The compact prompt the model is conditioned on (no answer, no rule)."""
    tag = FAMILY_TAGS.get(puzzle.family)
    if tag is None:
        raise ValueError(f"family '{puzzle.family}': no compact tag")
    shots = EXAMPLE_SEP.join(f"{e.inp}{IO_SEP}{e.out}" for e in puzzle.examples[:MAX_EXAMPLES])
    return f"{tag}|{shots}|{puzzle.query}{QUERY_END}"
