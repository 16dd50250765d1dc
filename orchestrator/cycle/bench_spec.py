"""A user's benchmark: prompts per category, each category with a scorer (issue #14, point 4).

    categories:
      - {name: math, scorer: challenge, prompts: [{id: m1, prompt: "...", reference: "12.5"}]}
      - {name: names, scorer: exact, prompts: [...]}
      - {name: review, scorer: judge, prompts: [{id: r1, prompt: "...", reference: "what a good answer says"}]}
    answer_command: ["{python}", "answer.py", "--adapter", "{adapter}", "--prompts", "{prompts}", "--out", "{answers}"]
    judge: {agent: {kind: openai, model: gpt-4.1-mini}, max_tokens: 200000, max_dollars: 2.0}

The cycle writes the prompts ({id, category, prompt} lines) to `{prompts}`, runs `answer_command`
in the spec's folder with the candidate's `{adapter}`, reads `{answers}` (AnswerRecord lines) and
scores each answer with its category's scorer (scorers.py). A prompt without an answer scores 0.
JSON Schema: `BenchmarkSpec.json_schema()`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.schemas.common import Artifact
from llm.config import LLM_KINDS, AgentConfig

ScorerName = Literal["challenge", "exact", "judge"]

JUDGE_INSTRUCTIONS = (
    "You grade one answer of a model under test. Compare it with the reference (the expected answer or "
    "what a good answer must contain). correct = true only if the answer is right and complete; "
    "say why in one sentence."
)


class BenchmarkPrompt(Artifact):
    id: str = Field(min_length=1)
    prompt: str
    reference: str = ""  # the gold answer (challenge, exact) or what a good answer contains (judge)


class BenchmarkCategory(Artifact):
    name: str = Field(min_length=1)
    scorer: ScorerName
    prompts: list[BenchmarkPrompt] = Field(min_length=1)


class JudgeSpec(Artifact):
    """The judge model, reached through evotrain's LLM backends (llm.factory.make_llm_backend)."""

    agent: AgentConfig
    instructions: str = JUDGE_INSTRUCTIONS
    max_tokens: int = Field(default=200_000, ge=1)  # the judge's whole budget per benchmark run
    max_dollars: float | None = Field(default=2.0, ge=0)

    @field_validator("agent")
    @classmethod
    def _llm(cls, agent: AgentConfig) -> AgentConfig:
        if agent.kind not in LLM_KINDS:
            raise ValueError(f"kind '{agent.kind}' is not an LLM kind ({', '.join(sorted(LLM_KINDS))})")
        return agent


class BenchmarkSpec(Artifact):
    schema_version: int = 1
    categories: list[BenchmarkCategory] = Field(min_length=1)
    # placeholders {python} {adapter} {prompts} {answers}; run with the spec's folder as working directory
    answer_command: list[str] = Field(min_length=1)
    judge: JudgeSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> BenchmarkSpec:
        names = [c.name for c in self.categories]
        ids = [p.id for c in self.categories for p in c.prompts]
        for label, values in (("category name", names), ("prompt id", ids)):
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise ValueError(f"{label} '{twice[0]}' used twice")
        if self.judge is None and any(c.scorer == "judge" for c in self.categories):
            raise ValueError("a category uses scorer 'judge' but the spec has no 'judge'")
        return self


class PromptRecord(Artifact):
    """One line of the `{prompts}` file the answer command reads."""

    id: str
    category: str
    prompt: str


class AnswerRecord(Artifact):
    """One line of the `{answers}` file the answer command writes."""

    id: str
    answer: str


def load_spec_file(path: Path) -> BenchmarkSpec:
    if not path.is_file():
        raise EvotrainError(f"benchmark.spec: {path}: not found")
    return read_model(path, BenchmarkSpec)


def prompt_lines(spec: BenchmarkSpec) -> str:
    return "".join(PromptRecord(id=p.id, category=c.name, prompt=p.prompt).model_dump_json() + "\n"
                   for c in spec.categories for p in c.prompts)


def read_answers(path: Path) -> dict[str, str]:
    """id -> answer; a malformed line is a one-line error naming the file and line."""
    if not path.is_file():
        raise EvotrainError(f"benchmark: the answer command wrote no answers file ({path})")
    answers: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                record = AnswerRecord.model_validate_json(line)
            except ValueError as exc:
                raise EvotrainError(f"benchmark: {path}:{lineno}: not an AnswerRecord ({{id, answer}})") from exc
            answers[record.id] = record.answer
    return answers
