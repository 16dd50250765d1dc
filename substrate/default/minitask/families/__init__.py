"""Registry of puzzle families: one module per family, each with the same small surface.

Each module exposes NAME, MARKER (a phrase unique to its real prompt wording), render_prompt,
parse (prompt -> examples, query) and generate (rng, difficulty -> Puzzle).
"""

from __future__ import annotations

import random
from types import ModuleType

from ..puzzle import FAMILIES, MAX_DIFFICULTY, Puzzle
from . import bit_manipulation, equations, gravity, numeral_system, text_cipher, unit_conversion

MODULES: dict[str, ModuleType] = {
    m.NAME: m for m in (bit_manipulation, text_cipher, numeral_system, unit_conversion, gravity, equations)
}
assert tuple(MODULES) == FAMILIES, "family registry out of sync with puzzle.FAMILIES"


def generate_puzzle(family: str, rng: random.Random, difficulty: int) -> Puzzle:
    """One puzzle of `family` at `difficulty` (0..2), fully determined by the rng state."""
    module = MODULES.get(family)
    if module is None:
        raise ValueError(f"family: unknown family {family!r} (expected one of {', '.join(FAMILIES)})")
    if not isinstance(difficulty, int) or not 0 <= difficulty <= MAX_DIFFICULTY:
        raise ValueError(f"difficulty: {difficulty!r} not in 0..{MAX_DIFFICULTY}")
    return module.generate(rng, difficulty)
