"""The tiny base model (frozen): a 2-layer, hidden-128 Llama in a standard transformers class.

Standard classes keep the substrate honest: PEFT adapters trained here have the same format
(adapter_config.json + adapter_model.safetensors) as adapters for the real challenge model.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.utils import logging as hf_logging

from minitask.tokenizer import CharTokenizer

MAX_POSITIONS = 512
# What every adapter trained here names as its base (adapter_config.json base_model_name_or_path): a model
# id, as Kaggle's scorer resolves it, never the path this machine loaded the weights from
BASE_MODEL_ID = "evotrain/minitask-llama"

# Job logs are read by workers and humans: no progress bars, no deprecation chatter.
hf_logging.disable_progress_bar()
hf_logging.set_verbosity_error()
warnings.filterwarnings("ignore", category=FutureWarning)
# PEFT looks the id up on the hub when saving (offline in jobs): the base here is local by design
warnings.filterwarnings("ignore", message="(Could not find a config file|Unable to fetch remote file)")


def tiny_config(tok: CharTokenizer) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=tok.vocab_size,
        hidden_size=128,
        intermediate_size=384,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=MAX_POSITIONS,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        bos_token_id=tok.bos_id,
        eos_token_id=tok.eos_id,
        pad_token_id=tok.pad_id,
    )


def pick_device() -> torch.device:
    """CPU by default; CUDA when present (the same code path trains a GPU candidate)."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_base(path: Path, device: torch.device) -> tuple[LlamaForCausalLM, CharTokenizer]:
    tok = CharTokenizer.load(path)
    model = LlamaForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    model.config._name_or_path = model.name_or_path = BASE_MODEL_ID  # what PEFT records in every adapter
    model.to(device)
    return model, tok
