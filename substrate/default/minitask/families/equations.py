"""Secret operator equations on two 2-digit operands, numeric ('34*57 = 1063') or symbolic.

Rule id: ";"-joined parts, e.g. "op:+=add", "rev;op:{=sub,*=mul", "sym:@#$%&'()*+;rev;op:!=concat".
- op:   displayed operator symbol -> operation name (each puzzle uses one or two operators)
- rev:  "reversed world": both operands are read backwards and the result digits are written backwards
- sym:  the 10 symbols standing for digits 0..9 (the symbolic variant)
A negative result is written with the operator symbol as its sign (the real data does this: '37{54 = {17').
"""

from __future__ import annotations

import random

from ..metric import extract_answer
from ..puzzle import Example, Puzzle, boxed

NAME = "equations"
MARKER = "a secret set of transformation rules is applied to equations"
HEADER = (
    "In Alice's Wonderland, a secret set of transformation rules is applied to equations. "
    "Below are a few examples:\n"
)
QUERY_PREFIX = "\nNow, determine the result for: "
SYMBOLS = "!\"#$%&'()*+-/:<>?@[\\]^`{|}"  # every non-digit character seen in the real equations
OPERATIONS = ("add", "sub", "mul", "absdiff", "concat", "concat_rev")
NATURAL = {"add": "+", "sub": "-", "mul": "*"}
# Level 0: the copy operations only, which a small model can learn to induce; arithmetic on two
# 2-digit operands it does not learn in a LoRA run (docs/BENCHMARKS.md, issue #13).
LEARNABLE_OPERATIONS = ("concat", "concat_rev")
N_EXAMPLES = (3, 5)


def _apply(name: str, a: str, b: str) -> str:
    x, y = int(a), int(b)
    value = {
        "add": lambda: str(x + y),
        "sub": lambda: str(x - y),
        "mul": lambda: str(x * y),
        "absdiff": lambda: str(abs(x - y)),
        "concat": lambda: a + b,
        "concat_rev": lambda: b + a,
    }.get(name)
    if value is None:
        raise ValueError(f"rule: unknown operation {name!r}")
    return value()


def parse_rule(rule: str) -> tuple[str | None, bool, dict[str, str]]:
    digits: str | None = None
    reverse = False
    ops: dict[str, str] = {}
    for part in rule.split(";"):
        if part.startswith("sym:"):
            digits = part[4:]
        elif part == "rev":
            reverse = True
        elif part.startswith("op:"):
            for item in part[3:].split(","):
                ops[item[0]] = item[2:]
    return digits, reverse, ops


def solve(rule: str, lhs: str) -> tuple[str, list[str]]:
    """Answer for a 5-character left-hand side under the rule, with the trace steps."""
    digits, reverse, ops = parse_rule(rule)
    steps: list[str] = []
    plain = lhs
    if digits is not None:
        plain = "".join(str(digits.index(c)) if c in digits else c for c in lhs)
        steps.append(f"decode: {lhs} -> {plain}")
    a, sym, b = plain[:2], plain[2], plain[3:]
    if reverse:
        a, b = a[::-1], b[::-1]
        steps.append(f"rev: {a} {b}")
    result = _apply(ops[sym], a, b)
    steps.append(f"{ops[sym]} {a} {b} = {result}")
    negative = result.startswith("-")
    body = result.lstrip("-")
    if reverse:
        body = body[::-1]
        steps.append(f"rev: {body}")
    if digits is not None:
        encoded = "".join(digits[int(c)] for c in body)
        steps.append(f"encode: {body} -> {encoded}")
        body = encoded
    answer = (sym if negative else "") + body
    if negative:
        steps.append(f"sign: {sym}")
    return answer, steps


def sample_rule(rng: random.Random, difficulty: int) -> str:
    if difficulty == 0:
        name = rng.choice(LEARNABLE_OPERATIONS)
        sym = NATURAL.get(name) or rng.choice(SYMBOLS)
        return f"op:{sym}={name}"
    pool = list(SYMBOLS)
    rng.shuffle(pool)
    parts: list[str] = []
    if difficulty == 2:
        parts.append("sym:" + "".join(pool[:10]))
        pool = pool[10:]
    if difficulty == 1 or rng.random() < 0.5:
        parts.append("rev")
    names = rng.sample(OPERATIONS, 2)
    parts.append("op:" + ",".join(f"{pool[i]}={name}" for i, name in enumerate(names)))
    return ";".join(parts)


def _scoreable(answer: str) -> bool:
    # An answer with a stray "}" cannot be recovered from \boxed{} by the challenge metric,
    # so as a query it would only teach noise.
    return extract_answer(boxed(answer)) == answer


def _lhs(rng: random.Random, digits: str | None, sym: str) -> str:
    text = f"{rng.randrange(100):02d}{sym}{rng.randrange(100):02d}"
    if digits is None:
        return text
    return "".join(digits[int(c)] if c.isdigit() else c for c in text)


def render_prompt(examples: list[Example], query: str) -> str:
    lines = "\n".join(f"{ex.inp} = {ex.out}" for ex in examples)
    return HEADER + lines + QUERY_PREFIX + query


def parse(prompt: str) -> tuple[list[Example], str]:
    body, _, query = prompt.partition(QUERY_PREFIX)
    lines = body.split("\n")[1:]  # the first line is the header sentence
    pairs = [line.split(" = ", 1) for line in lines if " = " in line]
    return [Example(a, b) for a, b in pairs], query.strip()


def generate(rng: random.Random, difficulty: int) -> Puzzle:
    rule = sample_rule(rng, difficulty)
    digits, _, ops = parse_rule(rule)
    symbols = list(ops)
    n = rng.randint(*N_EXAMPLES)
    # Every operator appears in the examples, so the query operator is always demonstrated.
    example_syms = [symbols[i % len(symbols)] for i in range(n)]
    rng.shuffle(example_syms)
    lhs_all: list[str] = []
    for k, sym in enumerate([*example_syms, rng.choice(symbols)]):
        lhs = _lhs(rng, digits, sym)
        while lhs in lhs_all or (k == n and not _scoreable(solve(rule, lhs)[0])):
            lhs = _lhs(rng, digits, sym)
        lhs_all.append(lhs)
    examples = [Example(lhs, solve(rule, lhs)[0]) for lhs in lhs_all[:-1]]
    query = lhs_all[-1]
    answer, steps = solve(rule, query)
    return Puzzle(
        family=NAME,
        rule=rule,
        rule_text=describe(rule),
        examples=tuple(examples),
        query=query,
        answer=answer,
        difficulty=difficulty,
        prompt=render_prompt(examples, query),
        trace=(f"rule: {rule}", *steps, boxed(answer)),
    )


def describe(rule: str) -> str:
    digits, reverse, ops = parse_rule(rule)
    text = ", ".join(f"'{s}' means {name}" for s, name in ops.items())
    if reverse:
        text += "; operands and result are written backwards"
    if digits is not None:
        text += f"; digits 0-9 are written as {digits}"
    return text
