"""8-bit binary transformation puzzles (rotations, shifts, XOR, NOT, AND/OR/majority/choice)."""

from __future__ import annotations

import random
import re

from ..puzzle import Example, Puzzle, boxed

NAME = "bit_manipulation"
MARKER = "a secret bit manipulation rule transforms"
HEADER = (
    "In Alice's Wonderland, a secret bit manipulation rule transforms 8-bit binary numbers. "
    "The transformation involves operations like bit shifts, rotations, XOR, AND, OR, NOT, "
    "and possibly majority or choice functions.\n\nHere are some examples of input -> output:\n"
)
QUERY_PREFIX = "\n\nNow, determine the output for: "
MASK = 0xFF
N_EXAMPLES = (7, 10)  # the real prompts show 7..10 examples


def bits(x: int) -> str:
    return format(x & MASK, "08b")


def apply_simple(op: str, x: int) -> int:
    """Apply one simple op id (rotl3, rotr1, shl2, shr4, not, rev, xor:10110001)."""
    if op == "not":
        return ~x & MASK
    if op == "rev":
        return int(bits(x)[::-1], 2)
    if op.startswith("xor:"):
        return x ^ int(op[4:], 2)
    m = re.fullmatch(r"(rotl|rotr|shl|shr)([1-7])", op)
    if m is None:
        raise ValueError(f"rule: unknown bit op {op!r}")
    kind, k = m.group(1), int(m.group(2))
    if kind == "rotl":
        return ((x << k) | (x >> (8 - k))) & MASK
    if kind == "rotr":
        return ((x >> k) | (x << (8 - k))) & MASK
    if kind == "shl":
        return (x << k) & MASK
    return x >> k


def _simple_op(rng: random.Random) -> str:
    kind = rng.choice(["rotl", "rotr", "shl", "shr", "not", "rev", "xor"])
    if kind in ("not", "rev"):
        return kind
    if kind == "xor":
        return "xor:" + bits(rng.randint(1, MASK))
    return f"{kind}{rng.randint(1, 7 if kind.startswith('rot') else 4)}"


# Levels 0 and 1 draw from small rule sets a 0.44M model can learn to induce in a one-minute LoRA
# run (docs/BENCHMARKS.md, issue #13); level 2 keeps the composed and boolean rules of the real data.
LEARNABLE_OPS = {0: ("not", "rev", "shl1", "shr1", "rotl1", "rotr1"),
                 1: ("not", "rev", "shl1", "shr1", "rotl1", "rotr1", "shl2", "shr2", "rotl2", "rotr2")}


def _rotation(rng: random.Random) -> str:
    return rng.choice(["rotl", "rotr", "shl", "shr"]) + str(rng.randint(1, 3))


def sample_rule(rng: random.Random, difficulty: int) -> str:
    """Rule ids: 'rotl3' | 'rotl3|xor:10110001' (left to right) | 'and:shl1' | 'maj:rotl1,rotr2'."""
    while True:
        rule = _sample_rule_once(rng, difficulty)
        outputs = [apply_rule(rule, x)[0] for x in range(256)]
        # Reject rules that are the identity ("rotl3|rotr3") or constant ("shl4|shl4"): nothing to learn.
        if outputs != list(range(256)) and len(set(outputs)) > 1:
            return rule


def _sample_rule_once(rng: random.Random, difficulty: int) -> str:
    if difficulty in LEARNABLE_OPS:
        return rng.choice(LEARNABLE_OPS[difficulty])
    if rng.random() < 0.5:  # two composed simple ops
        first = _simple_op(rng)
        second = _simple_op(rng)
        while second == first:
            second = _simple_op(rng)
        return f"{first}|{second}"
    kind = rng.choice(["and", "or", "xor2", "maj", "ch"])
    if kind in ("maj", "ch"):
        a, b = _rotation(rng), _rotation(rng)
        while b == a:
            b = _rotation(rng)
        return f"{kind}:{a},{b}"
    return f"{kind}:{_rotation(rng)}"


def apply_rule(rule: str, x: int) -> tuple[int, list[str]]:
    """Return the output and the mechanical trace steps for input x."""
    steps: list[str] = []
    head, _, arg = rule.partition(":")
    if head in ("and", "or", "xor2"):
        y = apply_simple(arg, x)
        z = {"and": x & y, "or": x | y, "xor2": x ^ y}[head]
        steps.append(f"{arg}: {bits(x)} -> {bits(y)}")
        steps.append(f"{head}: {bits(x)} {bits(y)} -> {bits(z)}")
        return z, steps
    if head in ("maj", "ch"):
        a_op, b_op = arg.split(",")
        a, b = apply_simple(a_op, x), apply_simple(b_op, x)
        steps.append(f"{a_op}: {bits(x)} -> {bits(a)}")
        steps.append(f"{b_op}: {bits(x)} -> {bits(b)}")
        z = (x & a) | (x & b) | (a & b) if head == "maj" else (x & a) | (~x & b & MASK)
        steps.append(f"{head}: {bits(x)} {bits(a)} {bits(b)} -> {bits(z)}")
        return z, steps
    for op in rule.split("|"):
        y = apply_simple(op, x)
        steps.append(f"{op}: {bits(x)} -> {bits(y)}")
        x = y
    return x, steps


def describe(rule: str) -> str:
    head, _, arg = rule.partition(":")
    if head in ("and", "or", "xor2"):
        return f"x {head.rstrip('2').upper()} {arg}(x)"
    if head == "maj":
        return f"majority(x, {arg.replace(',', '(x), ')}(x))"
    if head == "ch":
        return f"choice(x, {arg.replace(',', '(x), ')}(x)): x selects first else second"
    return "apply " + " then ".join(rule.split("|")) + " to x"


def render_prompt(examples: list[Example], query: str) -> str:
    lines = "\n".join(f"{ex.inp} -> {ex.out}" for ex in examples)
    return HEADER + lines + QUERY_PREFIX + query


def parse(prompt: str) -> tuple[list[Example], str]:
    body, _, query = prompt.partition(QUERY_PREFIX)
    pairs = re.findall(r"^([01]{8}) -> ([01]{8})$", body, re.M)
    return [Example(a, b) for a, b in pairs], query.strip()


def generate(rng: random.Random, difficulty: int) -> Puzzle:
    rule = sample_rule(rng, difficulty)
    values = rng.sample(range(256), rng.randint(*N_EXAMPLES) + 1)
    examples = [Example(bits(v), bits(apply_rule(rule, v)[0])) for v in values[:-1]]
    query = values[-1]
    answer_int, steps = apply_rule(rule, query)
    answer = bits(answer_int)
    return Puzzle(
        family=NAME,
        rule=rule,
        rule_text=describe(rule),
        examples=tuple(examples),
        query=bits(query),
        answer=answer,
        difficulty=difficulty,
        prompt=render_prompt(examples, bits(query)),
        trace=(f"rule: {rule}", *steps, boxed(answer)),
    )
