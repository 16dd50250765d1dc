"""The dev split every worker sees (frozen). The hidden leaderboard split is NOT here: its spec
lives orchestrator-side (orchestrator/leaderboard.py) and its items never enter a sandbox.

Dev deliberately over-represents `equations` (a weak family) and the post-trained numeral skill, and
uses easier puzzles than the leaderboard (numerals 1..39 here, 1..100 there), so that dev and
leaderboard can disagree as they did in the paper.
"""

from __future__ import annotations

DEV_SEED = 7_000_001
DEV_MIX = {
    "bit_manipulation": 0.10,
    "text_cipher": 0.05,
    "numeral_system": 0.30,
    "unit_conversion": 0.075,
    "gravity": 0.075,
    "equations": 0.40,
}
DEV_DIFFICULTY: int | dict[str, int] = 0
TRAIN_SEED_OFFSET = 1_000  # training items are drawn with seed + offset, never the dev seed
