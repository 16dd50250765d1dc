"""8-bit transformations built from shifted/rotated copies of the input combined bitwise.

Hypothesis = k copies T1(x)..Tk(x) of the input (rotations, shifts, reversal) and one boolean
function g of k bits applied at every bit position: out[j] = g(T1(x)[j], ..., Tk(x)[j]). That one
family covers NOT, AND, OR, XOR, majority and choice of copies and their compositions. A copy
XORed with a constant byte is tried too (level 1 and 2). Search in order of simplicity; the first
level with consistent hypotheses that can answer the query wins, ties settled by a vote.
Last resort: each output bit on its own as a lookup table over the fewest input bits (the
classic per-bit solver).
All examples are evaluated at once by packing them into one big integer (8 bits per example).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from itertools import combinations

from ..families import Puzzle
from .base import Solution

MASK = 0xFF


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (8 - k))) & MASK


TRANSFORMS: dict[str, Callable[[int], int]] = {"x": lambda x: x}
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

    def __init__(self, xs: list[int], ys: list[int], query: int) -> None:
        self.full = _pack([MASK] * len(xs))
        self.ones = _pack([1] * len(xs))
        self.y = _pack(ys)
        self.packed = {name: _pack([fn(x) for x in xs]) for name, fn in TRANSFORMS.items()}
        self.at_query = {name: fn(query) for name, fn in TRANSFORMS.items()}

    def constant(self, diff: int) -> int | None:
        """The byte c with diff == c repeated in every example, else None."""
        c = diff & MASK
        return c if diff == c * self.ones else None


def _xor_constant(space: _Space, k: int) -> list[tuple[str, int]]:
    """out = T1(x) [XOR T2(x)] XOR c, c a constant byte read off the examples (NOT is c = 11111111)."""
    found = []
    for names in combinations(space.packed, k):
        value = 0
        q = 0
        for n in names:
            value ^= space.packed[n]
            q ^= space.at_query[n]
        c = space.constant(value ^ space.y)
        if c is not None:
            found.append((" XOR ".join([*names, _bits(c)]), q ^ c))
    return found


def _truth_table(space: _Space, names: tuple[str, ...]) -> dict[int, int] | None:
    """g as {pattern: bit} when out[j] = g(copies[j]) holds at every bit of every example, else None."""
    table: dict[int, int] = {}
    cols = [space.packed[n] for n in names]
    k = len(names)
    for pattern in range(1 << k):
        m = space.full
        for i, col in enumerate(cols):
            m &= col if pattern >> (k - 1 - i) & 1 else ~col
        if not m:
            continue
        hit = m & space.y
        if hit and hit != m:
            return None
        table[pattern] = 1 if hit else 0
    return table


def _apply_table(space: _Space, names: tuple[str, ...], table: dict[int, int]) -> int | None:
    out = 0
    for j in range(8):
        pattern = 0
        for n in names:
            pattern = pattern << 1 | (space.at_query[n] >> j & 1)
        if pattern not in table:
            return None  # the examples never showed this combination: g is unknown there
        out |= table[pattern] << j
    return out


def _describe(names: tuple[str, ...], table: dict[int, int]) -> str:
    ones = [format(p, f"0{len(names)}b") for p, v in sorted(table.items()) if v]
    return f"g({', '.join(names)}) = 1 on patterns {{{', '.join(ones) or 'none'}}}"


def _tables(space: _Space, k: int) -> list[tuple[str, int]]:
    found = []
    for names in combinations(space.packed, k):
        table = _truth_table(space, names)
        if table is None:
            continue
        value = _apply_table(space, names, table)
        if value is not None:
            found.append((_describe(names, table), value))
    return found


def _per_bit(xs: list[int], ys: list[int], query: int) -> tuple[list[str], int] | None:
    """Each output bit as a lookup table over the fewest input bits that explain it (votes on ties)."""
    out = 0
    notes = []
    for j in range(8):
        for k in range(4):
            votes: Counter[int] = Counter()
            for sub in combinations(range(8), k):
                table: dict[tuple[int, ...], int] = {}
                if all(table.setdefault(tuple(x >> i & 1 for i in sub), y >> j & 1) == y >> j & 1
                       for x, y in zip(xs, ys, strict=True)):
                    key = tuple(query >> i & 1 for i in sub)
                    if key in table:
                        votes[table[key]] += 1
            if votes:
                bit = votes.most_common(1)[0][0]
                out |= bit << j
                notes.append(f"bit {7 - j}: {bit} (from {k} input bits)")
                break
        else:
            return None
    return notes, out


def infer(xs: list[int], ys: list[int], query: int) -> tuple[list[str], int] | None:
    """(descriptions of the winning hypotheses, predicted query output) or None."""
    space = _Space(xs, ys, query)
    levels: list[Callable[[], list[tuple[str, int]]]] = [
        lambda: _xor_constant(space, 1),
        lambda: _tables(space, 2),
        lambda: _xor_constant(space, 2),
        lambda: _tables(space, 3),
    ]
    for level in levels:
        found = level()
        if found:
            value = Counter(v for _, v in found).most_common(1)[0][0]
            return [d for d, v in found if v == value], value
    return _per_bit(xs, ys, query)


def solve(puzzle: Puzzle) -> Solution | None:
    xs = [int(a, 2) for a, _ in puzzle.examples]
    ys = [int(b, 2) for _, b in puzzle.examples]
    q = int(puzzle.query, 2)
    result = infer(xs, ys, q)
    if result is None:
        return None
    descs, value = result
    rule = descs[0]
    steps = [f"Hypothesis: output = {rule}", "It reproduces every example:"]
    steps += [f"{_bits(x)} -> {_bits(y)}" for x, y in zip(xs, ys, strict=True)]
    steps.append(f"Apply to {puzzle.query}: {_bits(value)}")
    return Solution(answer=_bits(value), steps=tuple(steps), rule=rule)
