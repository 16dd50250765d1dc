"""What every solver returns: the answer and the reasoning steps that lead to it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Solution:
    answer: str
    steps: tuple[str, ...] = field(default_factory=tuple)
    rule: str = ""  # short rule id, for benchmarks and answer-only traces

    def trace(self, style: str = "step_by_step") -> str:
        """The completion a model is trained to write; the challenge metric reads its last box."""
        box = "\\boxed{" + self.answer + "}"
        if style == "answer_only":
            return box
        if style == "rule_then_answer":
            return f"Rule: {self.rule}\n{box}"
        return "\n".join([*self.steps, f"Answer: {box}"])
