"""How a (prompt, target) pair becomes token ids and loss labels (frozen: the base was pretrained with it)."""

from __future__ import annotations

from minitask.tokenizer import CharTokenizer

IGNORE = -100


def encode_pair(tok: CharTokenizer, prompt: str, target: str) -> tuple[list[int], list[int]]:
    """Token ids and labels: BOS + prompt (ignored by the loss) + target + EOS (learned)."""
    p_ids = [tok.bos_id, *tok.encode(prompt)]
    t_ids = [*tok.encode(target), tok.eos_id]
    return p_ids + t_ids, [IGNORE] * len(p_ids) + t_ids
