"""The challenge metric: answer extraction from a model completion, and per-item correctness.

Follows the grader of the Kaggle "NVIDIA Nemotron Model Reasoning Challenge" as published in
participants' code ("verbatim from the real scoring path"), with two deliberate refinements the
project brief asks for:
- boxes are matched with balanced nested braces (``\\boxed{\\frac{1}{2}}`` -> ``\\frac{1}{2}``),
  where the public regex stops at the first ``}``;
- binary-string golds (``^[01]+$``) need an exact string match (the public grader would parse
  ``00101`` as the number 101 and accept ``101``; the competition's documented rule is exact).

Extraction order (first that yields something wins):
1. the last non-empty ``\\boxed{...}``, braces balanced. A box whose braces never balance (an
   answer with unbalanced braces such as ``\\boxed{{17}``, or a truncated completion) runs to the
   last ``}`` of the text, or to its end if there is none; nothing after it is searched. If boxes
   exist but all are empty, the answer is ``""`` (never correct), as in the public grader.
2. the last ``The final answer is: X`` / ``final answer: X`` (case-insensitive, to end of line);
3. the last number in the text (``-?\\d+(?:\\.\\d+)?``);
4. the last non-empty line. Empty or whitespace-only text -> None.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

BOX_OPEN = "\\boxed{"
REL_TOL = 1e-2
ABS_TOL = 1e-5  # the public grader's absolute floor, so gold 0 accepts tiny float noise
_FINAL_PATTERNS = (
    re.compile(r"The final answer is:\s*([^\n]+)", re.IGNORECASE),
    re.compile(r"final answer\s*[:：]\s*([^\n]+)", re.IGNORECASE),
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_BINARY = re.compile(r"[01]+")


def boxed_contents(text: str) -> list[str]:
    """Contents of every \\boxed{...} in order, nested braces balanced; see module doc for truncation."""
    found: list[str] = []
    start = text.find(BOX_OPEN)
    while start != -1:
        i = start + len(BOX_OPEN)
        depth = 1
        j = i
        while j < len(text) and depth:
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
            j += 1
        if depth:
            # Never closed: an answer with unbalanced braces ("{17") or a truncated completion.
            # Take everything up to the last "}" (or to the end when there is none).
            end = text.rfind("}", i)
            found.append(text[i:end] if end != -1 else text[i:])
            break
        found.append(text[i : j - 1])
        start = text.find(BOX_OPEN, j)
    return found


def extract_answer(text: str | None) -> str | None:
    """The answer a completion commits to (see module doc for the exact order); None if none."""
    if text is None:
        return None
    boxes = boxed_contents(text)
    if boxes:
        non_empty = [b.strip() for b in boxes if b.strip()]
        return non_empty[-1] if non_empty else ""
    for pattern in _FINAL_PATTERNS:
        hits = pattern.findall(text)
        if hits:
            return hits[-1].strip()
    numbers = _NUMBER.findall(text)
    if numbers:
        return numbers[-1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else None


def _as_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def is_correct(pred: str | None, gold: str) -> bool:
    """Binary gold: exact match. Else numeric within rel 1e-2 if both parse; else case-insensitive."""
    if pred is None:
        return False
    pred, gold = pred.strip(), gold.strip()
    if _BINARY.fullmatch(gold):
        return pred == gold
    gold_num, pred_num = _as_number(gold), _as_number(pred)
    if gold_num is not None and pred_num is not None:
        return math.isclose(gold_num, pred_num, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return pred.lower() == gold.lower()


def score(preds: Sequence[str | None], golds: Sequence[str]) -> float:
    """Accuracy of already-extracted predictions against gold answers."""
    if len(preds) != len(golds):
        raise ValueError(f"preds: length {len(preds)} differs from golds length {len(golds)}")
    if not golds:
        raise ValueError("golds: empty, accuracy undefined")
    return sum(is_correct(p, g) for p, g in zip(preds, golds, strict=True)) / len(golds)
