"""Core puzzle types shared by every family generator, the parser and the trainer.

Stdlib only: this package lives inside the substrate workspace and must stay self-contained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FAMILIES: tuple[str, ...] = (
    "bit_manipulation",
    "text_cipher",
    "numeral_system",
    "unit_conversion",
    "gravity",
    "equations",
)

MAX_DIFFICULTY = 2


@dataclass(frozen=True)
class Example:
    """One visible input -> output pair of a puzzle (strings exactly as shown in the prompt)."""

    inp: str
    out: str


@dataclass(frozen=True)
class Puzzle:
    """A generated puzzle whose hidden rule is known, so the answer and trace are exact."""

    family: str
    rule: str
    rule_text: str
    examples: tuple[Example, ...]
    query: str
    answer: str
    difficulty: int
    prompt: str
    trace: tuple[str, ...]

    def __post_init__(self) -> None:
        # Fail at construction time so a broken generator never writes a bad item.
        if self.family not in FAMILIES:
            raise ValueError(f"family: unknown family {self.family!r}")
        if not 0 <= self.difficulty <= MAX_DIFFICULTY:
            raise ValueError(f"difficulty: {self.difficulty} not in 0..{MAX_DIFFICULTY}")
        if not self.trace or self.trace[-1] != f"\\boxed{{{self.answer}}}":
            raise ValueError("trace: last line must be \\boxed{answer}")

    def to_json(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "rule": self.rule,
            "rule_text": self.rule_text,
            "examples": [[ex.inp, ex.out] for ex in self.examples],
            "query": self.query,
            "answer": self.answer,
            "difficulty": self.difficulty,
            "prompt": self.prompt,
            "trace": list(self.trace),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Puzzle:
        expected = {"family", "rule", "rule_text", "examples", "query", "answer", "difficulty", "prompt", "trace"}
        if not isinstance(d, dict):
            raise ValueError("puzzle: expected a JSON object")
        missing = expected - d.keys()
        extra = d.keys() - expected
        if missing:
            raise ValueError(f"{sorted(missing)[0]}: missing field")
        if extra:
            raise ValueError(f"{sorted(extra)[0]}: unexpected field")
        for key in ("family", "rule", "rule_text", "query", "answer", "prompt"):
            if not isinstance(d[key], str):
                raise ValueError(f"{key}: expected a string")
        if not isinstance(d["difficulty"], int) or isinstance(d["difficulty"], bool):
            raise ValueError("difficulty: expected an integer")
        examples = d["examples"]
        if not isinstance(examples, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in examples
        ):
            raise ValueError("examples: expected a list of [inp, out] string pairs")
        trace = d["trace"]
        if not isinstance(trace, list) or not all(isinstance(s, str) for s in trace):
            raise ValueError("trace: expected a list of strings")
        return cls(
            family=d["family"],
            rule=d["rule"],
            rule_text=d["rule_text"],
            examples=tuple(Example(inp, out) for inp, out in examples),
            query=d["query"],
            answer=d["answer"],
            difficulty=d["difficulty"],
            prompt=d["prompt"],
            trace=tuple(trace),
        )


def boxed(answer: str) -> str:
    """The final trace line: the answer in the form the challenge metric extracts."""
    return f"\\boxed{{{answer}}}"
