"""Compact rendering of a puzzle prompt (frozen: evaluation and the base checkpoint depend on it).

The challenge's English prompt is ~400 characters; a 0.5M-parameter model cannot afford that. The
compact form keeps exactly the information the puzzle carries: a one-letter family tag, the
few-shot examples and the query, e.g. for bit manipulation

    B|01010001>11011101;00001001>01101101|00110100=

The model then writes its completion: `\\boxed{answer}` (answer only) or `rule→\\boxed{answer}`
(step by step: first the inferred rule id, then the answer). See encode.py for the targets.
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
# The first examples only: on 2 CPU cores every token costs training time. Cipher lines are long.
MAX_EXAMPLES = 3
MAX_EXAMPLES_BY_FAMILY = {"text_cipher": 2}
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
    keep = MAX_EXAMPLES_BY_FAMILY.get(puzzle.family, MAX_EXAMPLES)
    shots = EXAMPLE_SEP.join(f"{e.inp}{IO_SEP}{e.out}" for e in puzzle.examples[:keep])
    return f"{tag}|{shots}|{puzzle.query}{QUERY_END}"


class RuledPuzzleLike(PuzzleLike, Protocol):
    rule: str  # the generator's compact rule id, e.g. 'rotl3|xor:10110001', 'g:9.81'


MAX_RULE_CHARS = 40
RULE_END = "→"  # one token of its own (see tokenizer.py): rule ids may contain any ASCII


def compact_rule(puzzle: RuledPuzzleLike) -> str:
    """The rule id as one short line."""
    return " ".join(puzzle.rule.split()).replace(RULE_END, " ")[:MAX_RULE_CHARS]


def render_explicit_prompt(puzzle: RuledPuzzleLike) -> str:
    """Prompt with the rule stated (base pretraining): the model learns to apply a named rule."""
    return f"{render_prompt(puzzle)}{compact_rule(puzzle)}{RULE_END}"
