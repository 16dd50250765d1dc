"""minitask: synthetic Nemotron-Reasoning-style puzzles, prompt parser and the challenge metric.

A plain package inside the substrate workspace (import it with substrate/default on sys.path);
stdlib only, no imports from evotrain/orchestrator/workers.
"""

from .families import generate_puzzle
from .generate import apportion, generate_items, load_items, save_items
from .metric import extract_answer, is_correct, score
from .parse import family_of, parse_prompt
from .puzzle import FAMILIES, Example, Puzzle

__all__ = [
    "FAMILIES",
    "Example",
    "Puzzle",
    "apportion",
    "extract_answer",
    "family_of",
    "generate_items",
    "generate_puzzle",
    "is_correct",
    "load_items",
    "parse_prompt",
    "save_items",
    "score",
]
