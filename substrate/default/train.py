"""LoRA post-training of the base checkpoint (editable: workers may change the loop).

A plain PyTorch loop in the nanoGPT style: sample a batch, forward, loss on target tokens,
backward, clip, step. Adapters are saved in PEFT format at the recipe's save_steps and at the last
step; the caller's `on_save` hook evaluates each one while the model is in memory.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from minitask.batching import collate, lm_loss
from minitask.recipe import Recipe
from minitask.tokenizer import CharTokenizer
from peft import LoraConfig, get_peft_model
from transformers import LlamaForCausalLM

LOG_EVERY = 10
MEGABATCH = 16  # batches per length-sorted group (HF's group_by_length idea)


@dataclass
class TrainOutcome:
    steps: int = 0
    train_seconds: float = 0.0
    loss_curve: list[tuple[int, float]] = field(default_factory=list)
    nan_loss: bool = False


def lr_factor(step: int, recipe: Recipe) -> float:
    """Warmup then constant / linear / cosine decay to 0 at max_steps (step is 0-based)."""
    if step < recipe.warmup_steps:
        return (step + 1) / recipe.warmup_steps
    span = max(1, recipe.max_steps - recipe.warmup_steps)
    progress = min(1.0, (step - recipe.warmup_steps) / span)
    if recipe.lr_scheduler == "linear":
        return 1.0 - progress
    if recipe.lr_scheduler == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0


def length_grouped_batches(
    examples: Sequence[tuple[list[int], list[int]]], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """One epoch of index batches, each of similar lengths: cipher prompts are 3x longer than the
    rest, and padding every batch to them would triple the cost of a step."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    group = batch_size * MEGABATCH
    for start in range(0, len(order), group):
        chunk = sorted(order[start : start + group], key=lambda i: len(examples[i][0]))
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def attach_lora(base: LlamaForCausalLM, recipe: Recipe) -> torch.nn.Module:
    config = LoraConfig(
        r=recipe.lora_r,
        lora_alpha=recipe.lora_alpha,
        lora_dropout=recipe.lora_dropout,
        target_modules=list(recipe.lora_target_modules),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(base, config)


def train(
    base: LlamaForCausalLM,
    tok: CharTokenizer,
    examples: Sequence[tuple[list[int], list[int]]],
    recipe: Recipe,
    out_dir: Path,
    on_save: Callable[[int, Path, torch.nn.Module], None],
) -> TrainOutcome:
    """Train LoRA adapters; save to out_dir/checkpoints/step-XXXXX at each save step."""
    torch.manual_seed(recipe.seed)
    rng = random.Random(recipe.seed)
    model = attach_lora(base, recipe)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=recipe.learning_rate, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, recipe))
    device = next(model.parameters()).device
    outcome = TrainOutcome()
    queue: list[list[int]] = []
    window: list[float] = []
    t0 = time.perf_counter()
    for step in range(1, recipe.max_steps + 1):
        model.train()
        opt.zero_grad(set_to_none=True)
        total = 0.0
        for _ in range(recipe.grad_accum):
            if not queue:
                queue = length_grouped_batches(examples, recipe.batch_size, rng)
            batch = [examples[i] for i in queue.pop()]
            ids, mask, labels = (t.to(device) for t in collate(batch, tok.pad_id))
            loss = lm_loss(model(input_ids=ids, attention_mask=mask).logits, labels) / recipe.grad_accum
            loss.backward()
            total += float(loss.detach())
        if not math.isfinite(total):
            outcome.nan_loss = True
            outcome.steps = step
            break
        if recipe.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(params, recipe.max_grad_norm)
        opt.step()
        sched.step()
        window.append(total)
        outcome.steps = step
        if step % LOG_EVERY == 0 or step == recipe.max_steps:
            outcome.loss_curve.append((step, sum(window) / len(window)))
            window.clear()
        # the last step is always saved: a longer schedule is judged on where it ends, not on a
        # checkpoint it shares with a shorter one
        if step in recipe.save_steps or step == recipe.max_steps:
            outcome.train_seconds += time.perf_counter() - t0
            ckpt = out_dir / "checkpoints" / f"step-{step:05d}"
            model.save_pretrained(str(ckpt))
            on_save(step, ckpt, model)
            t0 = time.perf_counter()
    outcome.train_seconds += time.perf_counter() - t0
    return outcome
