"""Generators: determinism, answers re-derived independently from the hidden rule, traces, JSON."""

import random
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "substrate" / "default"))

from minitask import FAMILIES, Puzzle, extract_answer, generate_puzzle, is_correct

SEEDS = range(40)
CASES = [(f, d) for f in FAMILIES for d in range(3)]


# ---- independent re-derivations (string based, deliberately not sharing code with the generators) ----


def _bit_simple(op: str, s: str) -> str:
    if op == "not":
        return "".join("1" if c == "0" else "0" for c in s)
    if op == "rev":
        return s[::-1]
    if op.startswith("xor:"):
        return "".join(str(int(a) ^ int(b)) for a, b in zip(s, op[4:], strict=True))
    kind, k = op[:-1], int(op[-1])
    return {
        "rotl": s[k:] + s[:k],
        "rotr": s[-k:] + s[:-k],
        "shl": s[k:] + "0" * k,
        "shr": "0" * k + s[:-k],
    }[kind]


def _bitwise(fn, *words: str) -> str:
    return "".join(str(fn(*(int(w[i]) for w in words))) for i in range(8))


def bit_answer(rule: str, s: str) -> str:
    head, _, arg = rule.partition(":")
    if head in ("and", "or", "xor2"):
        y = _bit_simple(arg, s)
        fn = {"and": lambda a, b: a & b, "or": lambda a, b: a | b, "xor2": lambda a, b: a ^ b}[head]
        return _bitwise(fn, s, y)
    if head in ("maj", "ch"):
        a_op, b_op = arg.split(",")
        a, b = _bit_simple(a_op, s), _bit_simple(b_op, s)
        if head == "maj":
            return _bitwise(lambda x, y, z: int(x + y + z >= 2), s, a, b)
        return _bitwise(lambda x, y, z: y if x else z, s, a, b)
    for op in rule.split("|"):
        s = _bit_simple(op, s)
    return s


def roman(n: int) -> str:
    table = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
             (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]  # fmt: skip
    out = ""
    for value, sym in table:
        while n >= value:
            out, n = out + sym, n - value
    return out


def equation_answer(rule: str, lhs: str) -> str:
    parts = rule.split(";")
    digits = next((p[4:] for p in parts if p.startswith("sym:")), None)
    reverse = "rev" in parts
    ops = dict(item.split("=") for item in next(p for p in parts if p.startswith("op:"))[3:].split(","))
    if digits:
        lhs = "".join(str(digits.find(c)) if c in digits else c for c in lhs)
    a, sym, b = lhs[:2], lhs[2], lhs[3:]
    if reverse:
        a, b = a[::-1], b[::-1]
    name = ops[sym]
    if name == "concat":
        raw = a + b
    elif name == "concat_rev":
        raw = b + a
    else:
        raw = str({"add": int(a) + int(b), "sub": int(a) - int(b), "mul": int(a) * int(b),
                   "absdiff": abs(int(a) - int(b))}[name])  # fmt: skip
    sign, body = ("-", raw[1:]) if raw.startswith("-") else ("", raw)
    if reverse:
        body = body[::-1]
    if digits:
        body = "".join(digits[int(c)] for c in body)
    return (sym if sign else "") + body


def expected_answer(p: Puzzle, query: str) -> str:
    """The answer for `query` under p.rule, computed without the generator code."""
    if p.family == "bit_manipulation":
        return bit_answer(p.rule, query)
    if p.family == "text_cipher":
        key = p.rule.removeprefix("sub:")
        return query.translate(str.maketrans(key, "abcdefghijklmnopqrstuvwxyz"))
    if p.family == "numeral_system":
        return roman(int(query))
    if p.family == "equations":
        return equation_answer(p.rule, query)
    raise AssertionError(p.family)


def assert_numeric(p: Puzzle, query: str, answer: str) -> None:
    factor = float(p.rule.split(":")[1])
    exact = float(query) * factor if p.family == "unit_conversion" else 0.5 * factor * float(query) ** 2
    assert abs(float(answer) - exact) <= 0.005 + 1e-9, (query, answer, exact)
    if p.family == "unit_conversion":
        assert re.fullmatch(r"\d+\.\d\d", answer), answer  # real outputs always show 2 decimals
    else:
        assert re.fullmatch(r"\d+\.\d{1,2}", answer), answer  # real: str(round(d, 2))


@pytest.mark.parametrize(("family", "difficulty"), CASES)
def test_answer_and_examples_follow_the_hidden_rule(family: str, difficulty: int) -> None:
    for seed in SEEDS:
        p = generate_puzzle(family, random.Random(seed), difficulty)
        assert p.family == family and p.difficulty == difficulty
        for inp, out in [*((e.inp, e.out) for e in p.examples), (p.query, p.answer)]:
            if family in ("unit_conversion", "gravity"):
                assert_numeric(p, inp, out)
            else:
                assert out == expected_answer(p, inp), (p.rule, inp, out)
        assert p.query not in {e.inp for e in p.examples}


@pytest.mark.parametrize(("family", "difficulty"), CASES)
def test_trace_ends_with_the_boxed_answer_that_the_metric_accepts(family: str, difficulty: int) -> None:
    for seed in SEEDS:
        p = generate_puzzle(family, random.Random(seed), difficulty)
        assert p.trace[-1] == f"\\boxed{{{p.answer}}}"
        assert p.trace[0] == f"rule: {p.rule}"
        assert is_correct(extract_answer(p.trace[-1]), p.answer)
        assert is_correct(extract_answer("\n".join(p.trace)), p.answer)
        assert all("\n" not in line and line for line in p.trace)


@pytest.mark.parametrize(("family", "difficulty"), CASES)
def test_same_seed_same_puzzle_other_seed_other_puzzle(family: str, difficulty: int) -> None:
    first = [generate_puzzle(family, random.Random(s), difficulty) for s in range(10)]
    again = [generate_puzzle(family, random.Random(s), difficulty) for s in range(10)]
    assert first == again
    assert len({p.prompt for p in first}) == 10


@pytest.mark.parametrize("family", FAMILIES)
def test_json_round_trip(family: str) -> None:
    p = generate_puzzle(family, random.Random(7), 2)
    assert Puzzle.from_json(p.to_json()) == p


def test_difficulty_knobs_change_the_puzzles() -> None:
    rng = random.Random
    # bit: 0 = one of 6 one-step ops, 1 = one of 10 (shifts/rotations by 1 or 2),
    # 2 = two composed ops, or AND/OR/XOR with a shifted self, or maj/choice
    level0 = {generate_puzzle("bit_manipulation", rng(s), 0).rule for s in range(200)}
    assert level0 == {"not", "rev", "shl1", "shr1", "rotl1", "rotr1"}
    level1 = {generate_puzzle("bit_manipulation", rng(s), 1).rule for s in range(300)}
    assert level1 == level0 | {"shl2", "shr2", "rotl2", "rotr2"}
    hard = [generate_puzzle("bit_manipulation", rng(s), 2).rule for s in range(100)]
    assert any("|" in r for r in hard)
    assert {r.split(":")[0] for r in hard if "|" not in r} <= {"and", "or", "xor2", "maj", "ch"}
    # unit and gravity: levels 0-1 draw from a few factors / g values, level 2 from the real range
    assert {generate_puzzle("unit_conversion", rng(s), d).rule for s in range(200) for d in (0, 1)} == {
        "factor:0.5", "factor:1.5", "factor:2.0", "factor:2.5", "factor:3.0"}
    assert {generate_puzzle("gravity", rng(s), d).rule for s in range(200) for d in (0, 1)} == {
        "g:4.0", "g:6.0", "g:8.0", "g:10.0", "g:12.0"}
    assert len({generate_puzzle("unit_conversion", rng(s), 2).rule for s in SEEDS}) > 20  # 151 factors
    assert max(float(generate_puzzle("unit_conversion", rng(s), 0).query) for s in SEEDS) <= 12
    assert {generate_puzzle("gravity", rng(s), 1).query for s in range(100)} >= {"1.5", "4.5"}
    # cipher: a Caesar shift at 0 (1..3) and 1 (1..6), any key at 2
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    for d, shifts in ((0, range(1, 4)), (1, range(1, 7))):
        keys = {generate_puzzle("text_cipher", rng(s), d).rule.removeprefix("sub:") for s in range(100)}
        assert keys == {alphabet[k:] + alphabet[:k] for k in shifts}
    # cipher: fewer example lines at higher difficulty; 0 and 1 cover every query letter
    for d, lines in ((0, 5), (1, 4), (2, 3)):
        for s in SEEDS:
            p = generate_puzzle("text_cipher", rng(s), d)
            assert len(p.examples) == lines
            if d < 2:
                assert set(p.query) <= set("".join(e.inp for e in p.examples))
    # numeral: value range grows
    assert max(int(generate_puzzle("numeral_system", rng(s), 0).query) for s in SEEDS) <= 39
    assert max(int(generate_puzzle("numeral_system", rng(s), 2).query) for s in SEEDS) > 100
    # equations: 0 one copy operator (concatenate either way) under a random symbol, 1 reversed
    # world with two of all six operations, 2 symbolic digits
    level0 = {generate_puzzle("equations", rng(s), 0).rule.split("=")[1] for s in range(100)}
    assert level0 == {"concat", "concat_rev"}
    assert all(generate_puzzle("equations", rng(s), 0).rule.count("=") == 1 for s in SEEDS)
    level1 = {op.split("=")[1] for s in range(200)
              for op in generate_puzzle("equations", rng(s), 1).rule.split(";")[-1][3:].split(",")}
    assert level1 == {"add", "sub", "mul", "absdiff", "concat", "concat_rev"}
    assert all("rev" in generate_puzzle("equations", rng(s), 1).rule.split(";") for s in SEEDS)
    for s in SEEDS:
        p = generate_puzzle("equations", rng(s), 2)
        assert p.rule.startswith("sym:") and not re.search(r"\d", p.prompt.split("\n", 1)[1])


def test_bad_family_or_difficulty_is_a_one_line_value_error() -> None:
    with pytest.raises(ValueError, match="family"):
        generate_puzzle("chess", random.Random(0), 0)
    with pytest.raises(ValueError, match="difficulty"):
        generate_puzzle("gravity", random.Random(0), 3)


def test_from_json_names_the_bad_field() -> None:
    d = generate_puzzle("gravity", random.Random(0), 0).to_json()
    with pytest.raises(ValueError, match=r"^answer: missing field"):
        Puzzle.from_json({k: v for k, v in d.items() if k != "answer"})
    with pytest.raises(ValueError, match=r"^trace:"):
        Puzzle.from_json({**d, "trace": ["no box"]})
    with pytest.raises(ValueError, match=r"^extra: unexpected field"):
        Puzzle.from_json({**d, "extra": 1})
