"""A tiny but valid PEFT LoRA adapter: adapter_config.json + adapter_model.safetensors (written by
hand in the safetensors layout, so no torch import), plus noop.json with what scoring needs."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

from pydantic import BaseModel

from noop_task.recipe import Recipe

HIDDEN = 4  # width of the pretend projections: the file stays a few hundred bytes
BASE_MODEL = "evotrain/noop-base"


class NoopCheckpoint(BaseModel):
    """noop.json beside the adapter: the latent quality and the step it was "trained" to."""

    quality: float
    step: int


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def safetensors_bytes(tensors: dict[str, tuple[list[int], list[float]]]) -> bytes:
    """Serialise F32 tensors: 8-byte little-endian header length, JSON header, raw data."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    blobs: list[bytes] = []
    offset = 0
    for name, (shape, values) in tensors.items():
        blob = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # the format pads the header to 8-byte alignment
    return struct.pack("<Q", len(raw)) + raw + b"".join(blobs)


def write_adapter(folder: Path, recipe: Recipe, quality: float, step: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": BASE_MODEL,
        "r": recipe.lora_r, "lora_alpha": recipe.lora_alpha, "lora_dropout": recipe.lora_dropout,
        "target_modules": list(recipe.lora_target_modules), "bias": "none", "inference_mode": True,
        "fan_in_fan_out": False, "modules_to_save": None, "rank_pattern": {}, "alpha_pattern": {},
    }
    tensors: dict[str, tuple[list[int], list[float]]] = {}
    for module in recipe.lora_target_modules:
        block = "mlp" if module in {"gate_proj", "up_proj", "down_proj"} else "self_attn"
        prefix = f"base_model.model.model.layers.0.{block}.{module}"
        tensors[f"{prefix}.lora_A.weight"] = ([recipe.lora_r, HIDDEN], [quality] * (recipe.lora_r * HIDDEN))
        tensors[f"{prefix}.lora_B.weight"] = ([HIDDEN, recipe.lora_r], [float(step)] * (HIDDEN * recipe.lora_r))
    _atomic_write(folder / "adapter_config.json", (json.dumps(config, indent=2) + "\n").encode())
    _atomic_write(folder / "adapter_model.safetensors", safetensors_bytes(tensors))
    _atomic_write(folder / "noop.json", NoopCheckpoint(quality=quality, step=step).model_dump_json().encode())


def read_checkpoint(folder: Path) -> NoopCheckpoint:
    return NoopCheckpoint.model_validate_json((folder / "noop.json").read_text(encoding="utf-8"))
