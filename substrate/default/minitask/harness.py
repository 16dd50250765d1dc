"""Frozen evaluation harness: batched greedy generation (KV cache) + the challenge metric.

Every checkpoint of every candidate, and the leaderboard, is scored by this one function, so
scores are comparable across workers and rounds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from minitask.metric import extract_answer, is_correct
from minitask.prompt_format import PuzzleLike, render_prompt
from minitask.tokenizer import CharTokenizer

MAX_NEW_TOKENS = 96  # longest target: a 40-char rule id + → + a boxed ~45-char cipher answer
EVAL_BATCH = 96


class ScoredPuzzle(PuzzleLike):
    answer: str


@dataclass(frozen=True)
class EvalScores:
    overall: float
    by_family: dict[str, float]
    n_by_family: dict[str, int]
    n_items: int
    completions: list[str]


@torch.no_grad()
def greedy_complete(model: torch.nn.Module, tok: CharTokenizer, prompts: Sequence[str]) -> list[str]:
    """Greedy completions, batched by similar length (left padding), stopping at EOS."""
    device = next(model.parameters()).device
    encoded = [[tok.bos_id, *tok.encode(p)] for p in prompts]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    out: list[str] = [""] * len(encoded)
    model.eval()
    for start in range(0, len(order), EVAL_BATCH):
        idx = order[start : start + EVAL_BATCH]
        width = max(len(encoded[i]) for i in idx)
        ids = torch.full((len(idx), width), tok.pad_id, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for row, i in enumerate(idx):
            seq = encoded[i]
            ids[row, width - len(seq) :] = torch.tensor(seq)
            mask[row, width - len(seq) :] = 1
        gen = model.generate(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            max_new_tokens=MAX_NEW_TOKENS,
            do_sample=False,
            use_cache=True,
            eos_token_id=tok.eos_id,
            pad_token_id=tok.pad_id,
        )
        for row, i in enumerate(idx):
            out[i] = tok.decode(gen[row, width:].tolist())
    return out


def score(model: torch.nn.Module, tok: CharTokenizer, items: Sequence[ScoredPuzzle]) -> EvalScores:
    """Per-family and overall accuracy, answers extracted as the challenge metric does."""
    completions = greedy_complete(model, tok, [render_prompt(p) for p in items])
    hits: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    for item, text in zip(items, completions, strict=True):
        counts[item.family] += 1
        hits[item.family] += int(is_correct(extract_answer(text), item.answer))
    n = len(items)
    return EvalScores(
        overall=sum(hits.values()) / n if n else 0.0,
        by_family={f: hits[f] / counts[f] for f in sorted(counts)},
        n_by_family=dict(sorted(counts.items())),
        n_items=n,
        completions=completions,
    )
