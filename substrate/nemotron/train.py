"""LoRA post-training with TRL's SFTTrainer (editable: workers change how training runs).

    train(model, tokenizer, examples, recipe, out_dir, on_save) -> TrainOutcome

Completion-only loss (the prompt is context, only the trace is learned); checkpoints at the
recipe's save_steps, each handed to `on_save` (run.py scores it on dev). bf16, gradient
checkpointing and 4-bit loading (QLoRA) are recipe switches for GPU runs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import Dataset
from nemotron_task.prompting import render_prompt
from nemotron_task.recipe import Recipe
from nemotron_task.traces import Example
from peft import LoraConfig
from transformers import TrainerCallback
from trl import SFTConfig, SFTTrainer


@dataclass
class TrainOutcome:
    steps: int = 0
    train_seconds: float = 0.0
    loss_curve: list[tuple[int, float]] = field(default_factory=list)
    nan_loss: bool = False


class _Checkpoints(TrainerCallback):
    """Save exactly at the recipe's save_steps, record the loss, hand each checkpoint to on_save."""

    def __init__(self, recipe: Recipe, outcome: TrainOutcome, on_save: Callable[[int, Path, Any], None]) -> None:
        self.save_steps = set(recipe.save_steps)
        self.outcome = outcome
        self.on_save_cb = on_save
        self.eval_seconds = 0.0

    def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        control.should_save = state.global_step in self.save_steps
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):  # type: ignore[no-untyped-def]
        if logs and "loss" in logs:
            loss = float(logs["loss"])
            self.outcome.loss_curve.append((state.global_step, loss))
            if not math.isfinite(loss):
                self.outcome.nan_loss = True
                control.should_training_stop = True
        return control

    def on_save(self, args, state, control, model=None, **kwargs):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        self.on_save_cb(state.global_step, ckpt, model)
        self.eval_seconds += time.perf_counter() - t0
        return control


def train(
    model: Any,
    tokenizer: Any,
    examples: Sequence[Example],
    recipe: Recipe,
    out_dir: Path,
    on_save: Callable[[int, Path, Any], None],
) -> TrainOutcome:
    dataset = Dataset.from_list(
        [{"prompt": render_prompt(tokenizer, e.prompt), "completion": e.completion} for e in examples]
    )
    peft_config = LoraConfig(
        r=recipe.lora_r,
        lora_alpha=recipe.lora_alpha,
        lora_dropout=recipe.lora_dropout,
        target_modules=list(recipe.lora_target_modules),
        task_type="CAUSAL_LM",
    )
    args = SFTConfig(
        output_dir=str(out_dir),
        max_steps=recipe.max_steps,
        per_device_train_batch_size=recipe.batch_size,
        gradient_accumulation_steps=recipe.grad_accum,
        learning_rate=recipe.learning_rate,
        lr_scheduler_type=recipe.lr_scheduler,
        warmup_steps=recipe.warmup_steps,
        weight_decay=recipe.weight_decay,
        max_grad_norm=recipe.max_grad_norm if recipe.max_grad_norm > 0 else 1e9,
        optim=recipe.optimizer if recipe.optimizer != "adamw_8bit" else "adamw_bnb_8bit",
        seed=recipe.seed,
        data_seed=recipe.seed,
        bf16=recipe.bf16,
        gradient_checkpointing=recipe.gradient_checkpointing,
        max_length=recipe.max_seq_length,
        completion_only_loss=True,
        packing=False,
        save_strategy="no",  # _Checkpoints decides, at exactly the recipe's save_steps
        save_only_model=True,
        logging_steps=1,
        report_to="none",
        dataloader_num_workers=0,
        dataset_num_proc=None,
        disable_tqdm=True,
    )
    outcome = TrainOutcome()
    callback = _Checkpoints(recipe, outcome, on_save)
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[callback],
    )
    t0 = time.perf_counter()
    result = trainer.train()
    outcome.steps = int(result.global_step)
    outcome.train_seconds = time.perf_counter() - t0 - callback.eval_seconds
    return outcome
