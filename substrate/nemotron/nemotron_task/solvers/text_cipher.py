"""Letter substitution: read the letter map off the examples; letters never shown are filled in by
matching whole query words against a vocabulary of plaintext words (from the prompts' examples)."""

from __future__ import annotations

from collections import Counter

from ..families import Puzzle
from .base import Solution


def letter_map(examples: tuple[tuple[str, str], ...]) -> dict[str, str] | None:
    """cipher letter -> plain letter, or None when the examples contradict a substitution."""
    mapping: dict[str, str] = {}
    for cipher, plain in examples:
        if len(cipher) != len(plain):
            return None
        for c, p in zip(cipher, plain, strict=True):
            if (c == " ") != (p == " "):
                return None
            if c != " " and mapping.setdefault(c, p) != p:
                return None
    return mapping


def _candidates(word: str, mapping: dict[str, str], used: set[str], vocab: Counter[str]) -> list[str]:
    out = []
    for cand in vocab:
        if len(cand) != len(word):
            continue
        local: dict[str, str] = {}
        ok = True
        for c, p in zip(word, cand, strict=True):
            want = mapping.get(c) or local.get(c)
            if want is not None:
                ok = want == p
            else:
                # a new cipher letter must map to a plain letter no other cipher letter has taken
                ok = p not in used and p not in local.values()
                local[c] = p
            if not ok:
                break
        if ok:
            out.append(cand)
    return sorted(out, key=lambda w: -vocab[w])


def solve(puzzle: Puzzle, vocab: Counter[str] | None = None) -> Solution | None:
    mapping = letter_map(puzzle.examples)
    if mapping is None:
        return None
    vocab = vocab or Counter(w for _, plain in puzzle.examples for w in plain.split())
    steps = ["Letter map from the examples: " + ", ".join(f"{c}->{p}" for c, p in sorted(mapping.items()))]
    words: list[str] = []
    for word in puzzle.query.split():
        if all(c in mapping for c in word):
            plain = "".join(mapping[c] for c in word)
            steps.append(f"{word} -> {plain}")
        else:
            cands = _candidates(word, mapping, set(mapping.values()), vocab)
            if not cands:
                return None
            plain = cands[0]
            for c, p in zip(word, plain, strict=True):
                mapping.setdefault(c, p)
            steps.append(f"{word} -> {plain} (unknown letters completed from the word list)")
        words.append(plain)
    answer = " ".join(words)
    return Solution(answer=answer, steps=tuple(steps), rule="substitution")
