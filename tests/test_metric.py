"""The challenge metric: extraction rules, tolerance edges, binary exactness, real-data sanity."""

import csv
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "substrate" / "default"))

from minitask.metric import extract_answer, is_correct, score

SHARED = Path(os.environ.get("EVOTRAIN_SHARED_DIR", Path(__file__).resolve().parents[1].parent / "shared"))
TRAIN_CSV = SHARED / "data" / "nemotron-reasoning" / "train.csv"


def test_nested_braces_are_balanced() -> None:
    assert extract_answer("so \\boxed{\\frac{1}{2}} done") == "\\frac{1}{2}"
    assert extract_answer("\\boxed{{a}{b}}") == "{a}{b}"


def test_last_non_empty_box_wins_and_empty_boxes_are_ignored() -> None:
    assert extract_answer("\\boxed{1} then \\boxed{2}") == "2"
    assert extract_answer("\\boxed{7} and finally \\boxed{}") == "7"
    assert extract_answer("\\boxed{7} \\boxed{  }") == "7"
    assert extract_answer("\\boxed{ 42 }") == "42"
    # Boxes present but all empty: the public grader yields "", which is never correct.
    assert extract_answer("\\boxed{} the answer is 5") == ""
    assert not is_correct(extract_answer("\\boxed{} 5"), "5")


def test_unbalanced_or_truncated_box() -> None:
    assert extract_answer("answer: \\boxed{{17}") == "{17"  # real equation answers such as "{17"
    assert extract_answer("... \\boxed{10010") == "10010"  # completion cut off mid-box


def test_fallbacks_without_a_box() -> None:
    assert extract_answer("The final answer is: queen reads book\nbye 3") == "queen reads book"
    assert extract_answer("blah\nFinal answer: XLII") == "XLII"
    assert extract_answer("so d = 0.5*g*t^2 gives 12.5 m, roughly") == "12.5"
    assert extract_answer("it is -7 overall") == "-7"
    assert extract_answer("no digits here\n  last line words  \n\n") == "last line words"
    assert extract_answer("   \n ") is None
    assert extract_answer("") is None
    assert extract_answer(None) is None


def test_relative_tolerance_edges() -> None:
    assert is_correct("201.98", "200")  # 0.99% off: inside 1e-2
    assert is_correct("202", "200")  # exactly 1%: inclusive, as math.isclose
    # math.isclose is symmetric (tolerance relative to the larger value), as in the public grader:
    assert is_correct("202.02", "200")  # 2.02 <= 0.01 * 202.02
    assert not is_correct("202.05", "200")  # 2.05 > 0.01 * 202.05: just outside
    assert is_correct("198", "200") and not is_correct("197.99", "200")
    assert not is_correct("197.9", "200")
    assert is_correct("0.000001", "0.0")  # the public grader's absolute floor of 1e-5
    assert is_correct("16.65", "16.65") and is_correct("16.6", "16.65")
    assert not is_correct("16.4", "16.65")


def test_negative_numbers() -> None:
    assert is_correct("-35", "-35")
    assert is_correct("-35.2", "-35")
    assert not is_correct("35", "-35")
    assert extract_answer("\\boxed{-62}") == "-62"


def test_binary_answers_need_an_exact_match() -> None:
    assert is_correct("00101", "00101")
    assert not is_correct("101", "00101")  # leading zeros matter
    assert not is_correct("00101.0", "00101")
    assert not is_correct("00100", "00101")  # numerically within 1% would not matter: exact only
    assert is_correct(" 10010111 ", "10010111")


def test_strings_compare_case_insensitively_after_strip() -> None:
    assert is_correct("xxxviii", "XXXVIII")
    assert is_correct("  Cat Imagines Book ", "cat imagines book")
    assert not is_correct("cat imagines books", "cat imagines book")
    assert is_correct("{17", "{17")
    assert not is_correct(None, "XI")


def test_leading_zero_numbers_that_are_not_binary_compare_numerically() -> None:
    assert is_correct("75", "0075")  # gold "0075" is not binary (has a 7): numeric comparison
    assert not is_correct("1", "01")  # gold "01" is binary: exact
    assert not is_correct("100.5", "100")  # gold "100" is all 0/1 digits, so it is binary: exact


def test_score_is_accuracy_and_rejects_mismatched_lengths() -> None:
    assert score(["1", "2", None, "x"], ["1", "3", "5", "X"]) == 0.5
    with pytest.raises(ValueError, match="preds"):
        score(["1"], ["1", "2"])
    with pytest.raises(ValueError, match="golds"):
        score([], [])


def _closes_early(answer: str) -> bool:
    """True if some prefix has more '}' than '{', so the box closes inside the answer."""
    depth = 0
    for ch in answer:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return True
    return False


@pytest.mark.skipif(not TRAIN_CSV.exists(), reason=f"real data not found at {TRAIN_CSV}")
def test_every_real_gold_scores_itself() -> None:
    with TRAIN_CSV.open(newline="", encoding="utf-8") as fh:
        golds = [row["answer"] for row in csv.DictReader(fh)]
    assert len(golds) == 9500
    assert score(golds, golds) == 1.0
    # Boxing then extracting recovers the gold except for answers with a stray "}" (which the
    # public grader cannot extract either); the count is pinned so a regression shows up.
    boxed = [extract_answer(f"reasoning...\n\\boxed{{{g}}}") for g in golds]
    lost = [g for g, b in zip(golds, boxed, strict=True) if not is_correct(b, g)]
    # Exactly the golds whose braces close early are lost, counted here by the test's own rule.
    assert lost == [g for g in golds if _closes_early(g)]
    assert len(lost) > 0
