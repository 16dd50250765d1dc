"""8-bit transformations built from shifted/rotated copies of the input combined bitwise.

Search in order of simplicity (first level with a consistent hypothesis wins; ties are settled
by a vote of the consistent hypotheses on the query):
1. one copy T(x), possibly inverted, possibly XORed with a constant read off the examples;
2. two copies combined by AND / OR / XOR (either side possibly inverted), possibly XOR a constant;
3. three copies combined by majority, choice or XOR.
All examples are evaluated at once by packing them into one big integer (8 bits per example).
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations, product

from ..families import Puzzle
from .base import Solution

MASK = 0xFF


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (8 - k))) & MASK


# name -> function; identity first (simplest)
TRANSFORMS: dict[str, object] = {"x": lambda x: x}
for _k in range(1, 8):
    TRANSFORMS[f"rotl{_k}(x)"] = lambda x, k=_k: _rot(x, k)
for _k in range(1, 8):
    TRANSFORMS[f"shl{_k}(x)"] = lambda x, k=_k: (x << k) & MASK
    TRANSFORMS[f"shr{_k}(x)"] = lambda x, k=_k: x >> k
TRANSFORMS["rev(x)"] = lambda x: int(format(x, "08b")[::-1], 2)


def _pack(values: list[int]) -> int:
    return sum(v << (8 * i) for i, v in enumerate(values))


def _bits(x: int) -> str:
    return format(x & MASK, "08b")


class _Space:
    """Every transform evaluated on the examples (packed) and on the query."""

    def __init__(self, xs: list[int], query: int) -> None:
        self.n = len(xs)
        self.full = _pack([MASK] * self.n)
        self.ones = _pack([1] * self.n)
        self.packed: dict[str, int] = {}
        self.at_query: dict[str, int] = {}
        for name, fn in TRANSFORMS.items():
            self.packed[name] = _pack([fn(x) for x in xs])  # type: ignore[operator]
            self.at_query[name] = fn(query)  # type: ignore[operator]
        for name in list(TRANSFORMS):
            self.packed["~" + name] = self.packed[name] ^ self.full
            self.at_query["~" + name] = self.at_query[name] ^ MASK


_OPS = {"AND": lambda a, b: a & b, "OR": lambda a, b: a | b, "XOR": lambda a, b: a ^ b}
_OPS3 = {
    "MAJ": lambda a, b, c: (a & b) | (a & c) | (b & c),
    "CH": lambda a, b, c, m=MASK: (a & b) | ((a ^ m) & c),
    "XOR3": lambda a, b, c: a ^ b ^ c,
}


def _constant(diff: int, space: _Space) -> int | None:
    """The byte c with diff == c repeated in every example, else None."""
    c = diff & MASK
    return c if diff == c * space.ones else None


def _level1(space: _Space, y: int) -> list[tuple[str, int]]:
    found = []
    for name, v in space.packed.items():
        c = _constant(v ^ y, space)
        if c is not None:
            desc = name if c == 0 else f"{name} XOR {_bits(c)}"
            found.append((desc, space.at_query[name] ^ c))
    return found


def _level2(space: _Space, y: int) -> list[tuple[str, int]]:
    found = []
    names = list(space.packed)
    for a, b in combinations(names, 2):
        pa, pb = space.packed[a], space.packed[b]
        for op, fn in _OPS.items():
            c = _constant(fn(pa, pb) ^ y, space)
            if c is not None:
                value = fn(space.at_query[a], space.at_query[b]) ^ c
                desc = f"{a} {op} {b}" + ("" if c == 0 else f" XOR {_bits(c)}")
                found.append((desc, value))
    return found


def _level3(space: _Space, y: int) -> list[tuple[str, int]]:
    found = []
    names = list(TRANSFORMS)
    for a, b, c in product(names, repeat=3):
        if len({a, b, c}) < 3:
            continue
        pa, pb, pc = space.packed[a], space.packed[b], space.packed[c]
        for op, fn in _OPS3.items():
            if op != "CH" and not (a < b < c):
                continue  # symmetric ops: one ordering is enough
            if fn(pa, pb, pc) == y:
                value = fn(space.at_query[a], space.at_query[b], space.at_query[c])
                found.append((f"{op}({a}, {b}, {c})", value))
    return found


def infer(xs: list[int], ys: list[int], query: int) -> tuple[list[str], int] | None:
    """(descriptions of the winning hypotheses, predicted query output) or None."""
    space = _Space(xs, query)
    y = _pack(ys)
    for level in (_level1, _level2, _level3):
        found = level(space, y)
        if found:
            votes = Counter(v for _, v in found)
            value = votes.most_common(1)[0][0]
            return [d for d, v in found if v == value], value
    return None


def solve(puzzle: Puzzle) -> Solution | None:
    xs = [int(a, 2) for a, _ in puzzle.examples]
    ys = [int(b, 2) for _, b in puzzle.examples]
    q = int(puzzle.query, 2)
    result = infer(xs, ys, q)
    if result is None:
        return None
    descs, value = result
    rule = descs[0]
    steps = [f"Hypothesis: output = {rule}", "Check on the examples:"]
    steps += [f"{_bits(x)} -> {_bits(y)}" for x, y in zip(xs, ys, strict=True)]
    steps.append(f"Apply to {puzzle.query}: {_bits(value)}")
    return Solution(answer=_bits(value), steps=tuple(steps), rule=rule)
