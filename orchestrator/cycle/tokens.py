"""Token counts with the substrate's own tokenizer, read from its base checkpoint folder.

Two formats: a Hugging Face tokenizer (`tokenizer.json` / `tokenizer_config.json`, loaded offline
with AutoTokenizer) or a `vocab.json` token list (the embedded substrate's character tokenizer:
greedy longest match, so `\\boxed{` counts as one token as it does there). Nothing is imported
from the substrate; only its files are read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from evotrain.errors import EvotrainError

SPECIAL_MARKERS = ("<pad>", "<s>", "</s>", "<unk>")


class VocabCounter:
    """Greedy longest-match over a token list; unknown characters count one token each (as <unk>)."""

    def __init__(self, tokens: list[str]) -> None:
        self.multi = sorted({t for t in tokens if len(t) > 1 and t not in SPECIAL_MARKERS}, key=len, reverse=True)

    def __call__(self, text: str) -> int:
        count, i = 0, 0
        while i < len(text):
            step = next((len(t) for t in self.multi if text.startswith(t, i)), 1)
            i += step
            count += 1
        return count


def base_dir(substrate_dir: Path, recipe_values: dict[str, object]) -> Path:
    base = Path(str(recipe_values.get("base_checkpoint") or "base"))
    return base if base.is_absolute() else substrate_dir / base


def token_counter(base: Path) -> Callable[[str], int]:
    """A text -> number-of-tokens function for the substrate's base model."""
    if (base / "tokenizer.json").is_file() or (base / "tokenizer_config.json").is_file():
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
        return lambda text: len(tok.encode(text, add_special_tokens=False))
    vocab = base / "vocab.json"
    if vocab.is_file():
        try:
            tokens = json.loads(vocab.read_text(encoding="utf-8"))["tokens"]
        except (ValueError, KeyError, TypeError) as exc:
            raise EvotrainError(f"{vocab}: expected {{\"tokens\": [...]}}") from exc
        return VocabCounter([str(t) for t in tokens])
    raise EvotrainError(f"{base}: no tokenizer found (tokenizer.json or vocab.json)")
