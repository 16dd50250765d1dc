"""Fidelity to the real challenge data: family detection, exact templates, formats, round trips.

Reads the real train.csv from ../shared (override the shared dir with EVOTRAIN_SHARED_DIR);
nothing of it is copied into the repository.
"""

import collections
import csv
import os
import random
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "substrate" / "default"))

from minitask import FAMILIES, family_of, generate_puzzle, parse_prompt
from minitask.families import MODULES

SHARED = Path(os.environ.get("EVOTRAIN_SHARED_DIR", Path(__file__).resolve().parents[1].parent / "shared"))
TRAIN_CSV = SHARED / "data" / "nemotron-reasoning" / "train.csv"
# Family counts stated in the data README (by prompt wording).
README_COUNTS = {
    "bit_manipulation": 1602,
    "gravity": 1597,
    "unit_conversion": 1594,
    "text_cipher": 1576,
    "numeral_system": 1576,
    "equations": 1555,
}
pytestmark = pytest.mark.skipif(not TRAIN_CSV.exists(), reason=f"real data not found at {TRAIN_CSV}")


@pytest.fixture(scope="module")
def real_rows() -> list[dict[str, str]]:
    with TRAIN_CSV.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def real_by_family(real_rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    by: dict[str, list[dict[str, str]]] = collections.defaultdict(list)
    for row in real_rows:
        by[family_of(row["prompt"])].append(row)
    return by


def generated(family: str, difficulties=(0, 1, 2), seeds=range(60)):
    return [generate_puzzle(family, random.Random(s), d) for d in difficulties for s in seeds]


# ---- masking: independent of the parser, by regex on each line ----


def mask_line(line: str) -> str:
    if re.fullmatch(r"[^ ]{5} = [^ ]*", line):  # equations example (numeric or symbolic)
        return "<L> = <R>"
    if re.fullmatch(r"[a-z ]+ -> [a-z ]+", line):  # cipher example
        return "<T> -> <T>"
    line = re.sub(r"(decrypt the following text: ).*", r"\1<T>", line)
    line = re.sub(r"(determine the result for: ).*", r"\1<L>", line)
    line = re.sub(r"[01]{8}", "<B>", line)
    line = re.sub(r"\d+(?:\.\d+)?", "<N>", line)
    return re.sub(r"-> [IVXLCDM]+$", "-> <R>", line)


def template(prompt: str) -> str:
    """Masked lines with runs of identical example lines collapsed (example counts checked apart)."""
    lines = [mask_line(line) for line in prompt.split("\n")]
    return "\n".join(line for i, line in enumerate(lines) if i == 0 or line != lines[i - 1])


def shape(answer: str) -> str:
    """Digits -> 9, Roman letters -> R, any other symbol (operator signs, '-') -> #; '.' and spaces kept."""
    return re.sub(r"[^9R. ]", "#", re.sub(r"[IVXLCDM]", "R", re.sub(r"\d", "9", answer)))


# ---- tests ----


def test_family_of_classifies_every_real_row(real_rows, real_by_family) -> None:
    assert len(real_rows) == 9500
    assert {f: len(rows) for f, rows in real_by_family.items()} == README_COUNTS


def test_family_of_rejects_unknown_wording() -> None:
    with pytest.raises(ValueError, match=r"^prompt: cannot tell the puzzle family"):
        family_of("In Alice's Wonderland, the Cheshire cat grins. What is 2+2?")


def test_every_real_prompt_parses_and_rerenders_byte_identically(real_rows) -> None:
    for row in real_rows:
        family, examples, query = parse_prompt(row["prompt"])
        assert 3 <= len(examples) <= 11 and query
        assert MODULES[family].render_prompt(examples, query) == row["prompt"], row["id"]


@pytest.mark.parametrize("family", FAMILIES)
def test_generated_templates_are_real_templates(family: str, real_by_family) -> None:
    real = collections.Counter(template(r["prompt"]) for r in real_by_family[family])
    assert len(real) == 1  # each family has one real template once variable parts are masked
    gen = {template(p.prompt) for p in generated(family)}
    assert gen <= set(real), gen - set(real)


@pytest.mark.parametrize("family", FAMILIES)
def test_generated_example_counts_occur_in_the_real_data(family: str, real_by_family) -> None:
    real = {len(parse_prompt(r["prompt"])[1]) for r in real_by_family[family]}
    gen = {len(p.examples) for p in generated(family)}
    assert gen <= real, (gen, real)


@pytest.mark.parametrize(
    ("family", "difficulties"),
    [
        ("bit_manipulation", (0, 1, 2)),
        ("unit_conversion", (0, 1, 2)),
        ("gravity", (0, 1, 2)),
        ("numeral_system", (0, 1)),  # difficulty 2 deliberately goes beyond the real 1..100
        ("equations", (0, 1)),
    ],
)
def test_generated_answer_formats_occur_in_the_real_data(family, difficulties, real_by_family) -> None:
    real = {shape(r["answer"]) for r in real_by_family[family]}
    gen = {shape(p.answer) for p in generated(family, difficulties, range(150))}
    assert gen <= real, sorted(gen - real)[:10]


def test_generated_numeric_inputs_look_like_the_real_ones(real_by_family) -> None:
    for family in ("unit_conversion", "gravity"):
        real = {shape(e.inp) for r in real_by_family[family] for e in parse_prompt(r["prompt"])[1]}
        real_out = {shape(e.out) for r in real_by_family[family] for e in parse_prompt(r["prompt"])[1]}
        gen = generated(family)
        assert {shape(e.inp) for p in gen for e in p.examples} | {shape(p.query) for p in gen} <= real
        assert {shape(e.out) for p in gen for e in p.examples} <= real_out


def test_cipher_queries_use_real_sentence_lengths(real_by_family) -> None:
    real = {len(r["answer"].split()) for r in real_by_family["text_cipher"]}
    assert {len(p.answer.split()) for p in generated("text_cipher")} <= real


@pytest.mark.parametrize("family", FAMILIES)
def test_parse_prompt_round_trips_generated_prompts(family: str) -> None:
    for p in generated(family):
        parsed_family, examples, query = parse_prompt(p.prompt)
        assert (parsed_family, tuple(examples), query) == (family, p.examples, p.query)
