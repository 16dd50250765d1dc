"""The dev split every worker sees (frozen). The hidden leaderboard split is NOT here: its spec
lives orchestrator-side (orchestrator/leaderboard.py) and its items never enter a sandbox.

Dev deliberately over-represents `equations` (a weak family) and uses easier puzzles than the
leaderboard, so that dev and leaderboard can disagree as they did in the paper.
"""

from __future__ import annotations

DEV_SEED = 7_000_001
DEV_MIX = {
    "bit_manipulation": 0.15,
    "text_cipher": 0.10,
    "numeral_system": 0.10,
    "unit_conversion": 0.10,
    "gravity": 0.10,
    "equations": 0.45,
}
DEV_DIFFICULTY: int | dict[str, int] = 0
TRAIN_SEED_OFFSET = 1_000  # training items are drawn with seed + offset, never the dev seed
