"""Load the base model and tokenizer a recipe names (frozen: run.py and evaluate.py share it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .data import read_rows
from .recipe import Recipe
from .splits import rows_of


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_base(recipe: Recipe, substrate_dir: Path) -> tuple[Any, Any]:
    """(model, tokenizer). The tiny stand-in is rebuilt from the train split's prompts; a real model
    loads from base_model_path (local weights) or the hub id, in bf16 or 4-bit (QLoRA)."""
    if recipe.is_tiny:
        from .tiny_model import build_tiny

        rows = rows_of(read_rows(recipe.csv_path(substrate_dir)), "train")
        return build_tiny([r.prompt for r in rows])
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = recipe.base_model_path or recipe.base_model
    kwargs: dict[str, Any] = {"dtype": torch.bfloat16 if recipe.bf16 else torch.float32}
    if recipe.load_in_4bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16
        )
        kwargs["device_map"] = "auto"
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    model.config.name_or_path = recipe.base_model  # the adapter must name the hub id, never a local path
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer
