"""Training examples from puzzles (editable pipeline: a worker may change how targets are written).

Targets follow the compact prompt from prompt_format.py:
- answer_only:  `\\boxed{answer}`
- step_by_step: `<rule id>→\\boxed{answer}`, the rule the generator knows, written first so the model
  states the inferred rule and then applies it (the base checkpoint has learned to apply a stated
  rule; see pretrain_base.py).
Loss is on the target tokens only.
"""

from __future__ import annotations

from typing import Literal, Protocol

from minitask.encoding import IGNORE, encode_pair
from minitask.prompt_format import RULE_END, RuledPuzzleLike, compact_rule, render_prompt
from minitask.tokenizer import CharTokenizer

__all__ = ["IGNORE", "RuledPuzzle", "TraceStyle", "build_target", "encode_pair", "encode_puzzle"]

TraceStyle = Literal["answer_only", "step_by_step"]


class RuledPuzzle(RuledPuzzleLike, Protocol):
    answer: str


def build_target(puzzle: RuledPuzzle, trace_style: TraceStyle) -> str:
    boxed = f"\\boxed{{{puzzle.answer}}}"
    if trace_style == "answer_only":
        return boxed
    return f"{compact_rule(puzzle)}{RULE_END}{boxed}"


def encode_puzzle(tok: CharTokenizer, puzzle: RuledPuzzle, trace_style: TraceStyle) -> tuple[
    list[int], list[int]
]:
    return encode_pair(tok, render_prompt(puzzle), build_target(puzzle, trace_style))
