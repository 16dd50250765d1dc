"""Frozen evaluation: the challenge's scoring settings, greedy generation, the challenge metric.

Every checkpoint, every candidate and the leaderboard are scored by `score`, so numbers compare.
Engine: transformers `generate` (greedy = temperature 0). The real model gets the challenge's
settings; the tiny CPU stand-in the same settings scaled down (a 0.2M-parameter model cannot use
7,680 new tokens, and 2 cores cannot afford them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .items import Item
from .metric import extract_answer, is_correct
from .prompting import render_prompt

CHALLENGE = {"temperature": 0.0, "max_tokens": 7680, "max_model_len": 8192, "max_lora_rank": 32}
TINY = {"temperature": 0.0, "max_tokens": 48, "max_model_len": 2048, "max_lora_rank": 32}
EVAL_BATCH = 64


@dataclass(frozen=True)
class EvalScores:
    overall: float
    by_family: dict[str, float]
    n_by_family: dict[str, int]
    n_items: int
    completions: list[str]


def settings_for(model: Any) -> dict[str, float]:
    return TINY if model.config.hidden_size <= 256 else CHALLENGE


@torch.no_grad()
def greedy_complete(model: Any, tokenizer: Any, prompts: Sequence[str]) -> list[str]:
    """Greedy completions, batched by similar length (left padding), stopping at EOS."""
    settings = settings_for(model)
    device = next(model.parameters()).device
    texts = [render_prompt(tokenizer, p) for p in prompts]
    encoded = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    budget = int(settings["max_model_len"])
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    out = [""] * len(encoded)
    model.eval()
    for start in range(0, len(order), EVAL_BATCH):
        idx = order[start : start + EVAL_BATCH]
        seqs = [encoded[i][-(budget - 1) :] for i in idx]  # a prompt never fills the context alone
        width = max(len(s) for s in seqs)
        new_tokens = min(int(settings["max_tokens"]), budget - width)
        ids = torch.full((len(idx), width), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for row, seq in enumerate(seqs):
            ids[row, width - len(seq) :] = torch.tensor(seq)
            mask[row, width - len(seq) :] = 1
        gen = model.generate(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            max_new_tokens=new_tokens,
            do_sample=False,
            use_cache=True,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
        for row, i in enumerate(idx):
            out[i] = tokenizer.decode(gen[row, width:].tolist(), skip_special_tokens=True)
    return out


def score_completions(items: Sequence[Item], completions: Sequence[str]) -> EvalScores:
    """Per-family and overall accuracy, answers extracted as the challenge metric does."""
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
        completions=list(completions),
    )


def score(model: Any, tokenizer: Any, items: Sequence[Item]) -> EvalScores:
    return score_completions(items, greedy_complete(model, tokenizer, [i.prompt for i in items]))
