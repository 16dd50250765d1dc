"""Scorers of a user's benchmark (bench_spec.py): `challenge`, `exact` and `judge`; each answer scores 0 or 1.

`challenge` follows the challenge metric (substrate/default/minitask/metric.py, which evotrain does
not import: substrates are programs, not libraries): the answer is the last non-empty `\\boxed{...}`
(braces balanced); a binary-string gold such as `0101` (or `100`) needs the exact string, numbers match
within relative tolerance 1e-2, anything else matches exactly up to letter case (as the metric does).
A completion without a box scores 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from pydantic import Field

from evotrain.schemas.common import Artifact
from orchestrator.cycle.bench_spec import BenchmarkSpec, JudgeSpec
from orchestrator.cycle.models import BenchmarkOutput

REL_TOL = 1e-2
ABS_TOL = 1e-5  # the challenge grader's floor, so a gold of 0 accepts float noise
BOX = "\\boxed{"
_BINARY = re.compile(r"[01]+")

JudgeFn = Callable[[str, str, str], bool]  # (prompt, reference, answer) -> correct


def last_boxed(text: str) -> str | None:
    """The last non-empty \\boxed{...} content (nested braces balanced), or None without a box."""
    found: list[str] = []
    start = text.find(BOX)
    while start != -1:
        depth, j = 1, start + len(BOX)
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        if depth:  # never closed (a truncated completion): up to the end
            found.append(text[start + len(BOX):])
            break
        found.append(text[start + len(BOX): j - 1])
        start = text.find(BOX, j)
    if not found:
        return None
    non_empty = [b.strip() for b in found if b.strip()]
    return non_empty[-1] if non_empty else ""


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def challenge_correct(answer_text: str, reference: str) -> bool:
    answer = last_boxed(answer_text)
    gold = reference.strip()
    if not answer:
        return False
    if _BINARY.fullmatch(gold):
        return answer == gold
    a, g = _number(answer), _number(gold)
    if a is not None and g is not None:
        return math.isclose(a, g, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return answer.lower() == gold.lower()


def exact_correct(answer_text: str, reference: str) -> bool:
    return answer_text.strip() == reference.strip()


class JudgeVerdict(Artifact):
    """What the judge model answers (complete_json validates it)."""

    correct: bool
    reason: str = Field(default="", max_length=2000)


def llm_judge(spec: JudgeSpec) -> JudgeFn:
    """A judge through evotrain's LLM backends, within the spec's token and dollar budget."""
    from llm.common import LLMBudget
    from llm.factory import make_llm_backend

    backend = make_llm_backend(spec.agent, LLMBudget(max_tokens=spec.max_tokens, max_dollars=spec.max_dollars))

    def judge(prompt: str, reference: str, answer: str) -> bool:
        user = f"## Prompt\n{prompt}\n\n## Reference\n{reference}\n\n## Answer under test\n{answer}"
        return backend.complete_json(spec.instructions, user, JudgeVerdict).correct

    return judge


def score_answers(spec: BenchmarkSpec, answers: dict[str, str], judge: JudgeFn | None = None) -> BenchmarkOutput:
    """Per-category accuracy and the overall accuracy over all prompts (a missing answer scores 0)."""
    by_category: dict[str, float] = {}
    n_by_category: dict[str, int] = {}
    total = 0
    for category in spec.categories:
        right = 0
        for item in category.prompts:
            answer = answers.get(item.id)
            if answer is None:
                continue
            if category.scorer == "challenge":
                right += challenge_correct(answer, item.reference)
            elif category.scorer == "exact":
                right += exact_correct(answer, item.reference)
            else:
                if judge is None:
                    raise ValueError(f"category '{category.name}': scorer 'judge' needs a judge")
                right += judge(item.prompt, item.reference, answer)
        by_category[category.name] = right / len(category.prompts)
        n_by_category[category.name] = len(category.prompts)
        total += right
    n = sum(n_by_category.values())
    return BenchmarkOutput(overall=total / n, by_category=by_category, n_items=n, n_by_category=n_by_category)
