"""Tell a prompt's puzzle family from its wording, and split its examples from its query.

Equations come in two kinds the benchmarks report apart: numeric (``34/44 = 1``, digits and one
operator) and cryptarithm (every character a symbol).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FAMILIES = ("bit_manipulation", "text_cipher", "numeral_system", "unit_conversion", "gravity", "equations")
MARKERS = {
    "bit_manipulation": "a secret bit manipulation rule transforms",
    "text_cipher": "secret encryption rules are used on text",
    "numeral_system": "numbers are secretly converted into a different numeral system",
    "unit_conversion": "a secret unit conversion is applied to measurements",
    "gravity": "the gravitational constant has been secretly changed",
    "equations": "a secret set of transformation rules is applied to equations",
}
_QUERY = {
    "bit_manipulation": re.compile(r"Now, determine the output for: (\S+)\s*$"),
    "text_cipher": re.compile(r"Now, decrypt the following text: (.+?)\s*$"),
    "numeral_system": re.compile(r"Now, write the number (\d+) in the Wonderland numeral system"),
    "unit_conversion": re.compile(r"Now, convert the following measurement: ([-\d.]+) m"),
    "gravity": re.compile(r"Now, determine the falling distance for t = ([-\d.]+)s"),
    "equations": re.compile(r"Now, determine the result for: (.+?)\s*$"),
}
_EXAMPLE = {
    "bit_manipulation": re.compile(r"^([01]{8}) -> ([01]{8})$", re.M),
    "text_cipher": re.compile(r"^([a-z ]+) -> ([a-z ]+)$", re.M),
    "numeral_system": re.compile(r"^(\d+) -> (\S+)$", re.M),
    "unit_conversion": re.compile(r"^([-\d.]+) m becomes ([-\d.]+)$", re.M),
    "gravity": re.compile(r"^For t = ([-\d.]+)s, distance = ([-\d.]+) m$", re.M),
    "equations": re.compile(r"^(.{5}) = (.*)$", re.M),
}


@dataclass(frozen=True)
class Puzzle:
    family: str
    examples: tuple[tuple[str, str], ...]
    query: str

    @property
    def kind(self) -> str:
        """Family, with equations split into equations_numeric / equations_cryptarithm."""
        if self.family != "equations":
            return self.family
        return "equations_numeric" if re.fullmatch(r"\d\d\D\d\d", self.query) else "equations_cryptarithm"


def family_of(prompt: str) -> str:
    found = [name for name, marker in MARKERS.items() if marker in prompt]
    if len(found) != 1:
        raise ValueError(f"prompt: cannot tell the puzzle family of {prompt[:60]!r}")
    return found[0]


def parse(prompt: str) -> Puzzle:
    """The puzzle in a prompt; ValueError naming what is missing."""
    family = family_of(prompt)
    body, sep, tail = prompt.rpartition("\nNow, ")
    if not sep:
        raise ValueError(f"prompt: no 'Now, ...' query line in a {family} prompt")
    match = _QUERY[family].search("Now, " + tail)
    if match is None:
        raise ValueError(f"prompt: malformed query line in a {family} prompt")
    examples = tuple((a, b) for a, b in _EXAMPLE[family].findall(body))
    if not examples:
        raise ValueError(f"prompt: no examples in a {family} prompt")
    return Puzzle(family=family, examples=examples, query=match.group(1))
