"""The recipe a worker edits (recipe.yaml), as a strict pydantic model.

Flat keys in the style TRL/axolotl users know. Unknown key, wrong type or out-of-range value is a
one-line RecipeError naming the key; run.py and validate.py turn it into exit code 2.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from minitask.puzzle import FAMILIES, MAX_DIFFICULTY

LORA_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class RecipeError(Exception):
    """Bad recipe or missing file: one line naming the key or path."""


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_checkpoint: str = "base"  # relative to the substrate folder
    # LoRA capacity (vLLM at challenge scoring accepts rank <= 32)
    lora_r: int = Field(default=8, ge=1, le=32)
    lora_alpha: float = Field(default=16.0, gt=0, le=1024)
    lora_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    lora_target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "v_proj"], min_length=1)
    # optimiser and schedule
    learning_rate: float = Field(default=3e-3, gt=0.0, le=1.0)
    lr_scheduler: Literal["constant", "linear", "cosine"] = "cosine"
    warmup_steps: int = Field(default=0, ge=0, le=100_000)
    max_steps: int = Field(default=100, ge=1, le=100_000)
    batch_size: int = Field(default=16, ge=1, le=1024)
    grad_accum: int = Field(default=1, ge=1, le=64)
    max_grad_norm: float = Field(default=1.0, ge=0.0, le=1e6)  # 0 disables clipping
    weight_decay: float = Field(default=0.0, ge=0.0, le=1.0)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    # data
    mixture_weights: dict[str, float] = Field(default_factory=lambda: dict.fromkeys(FAMILIES, 1.0))
    num_train_examples: int = Field(default=4000, ge=1, le=1_000_000)
    train_difficulty: int | dict[str, int] = 0
    trace_style: Literal["answer_only", "step_by_step"] = "step_by_step"
    # checkpoints and evaluation
    save_steps: list[int] = Field(default_factory=lambda: [50, 100], min_length=1, max_length=20)
    dev_items: int = Field(default=300, ge=12, le=20_000)
    # numeric knobs for features a worker adds to the editable train.py / pipeline/ (e.g.
    # `extras: {label_smoothing: 0.1}`); the frozen harness never reads them
    extras: dict[str, float] = Field(default_factory=dict, max_length=32)

    @field_validator("extras")
    @classmethod
    def _extra_names(cls, value: dict[str, float]) -> dict[str, float]:
        for name in value:
            if not name.isidentifier():
                raise ValueError(f"'{name}' is not a valid knob name (letters, digits, underscores)")
        return value

    @field_validator("lora_target_modules", "save_steps", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        """Also accept "q_proj,v_proj" / "75,150": search axes carry list values as one string."""
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            return [int(p) if p.isdigit() else p for p in parts]
        return value

    @field_validator("lora_target_modules")
    @classmethod
    def _known_modules(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in LORA_MODULES:
                raise ValueError(f"unknown module '{name}' (allowed: {', '.join(LORA_MODULES)})")
        return value

    @field_validator("mixture_weights")
    @classmethod
    def _known_families(cls, value: dict[str, float]) -> dict[str, float]:
        for name, weight in value.items():
            if name not in FAMILIES:
                raise ValueError(f"unknown family '{name}' (allowed: {', '.join(FAMILIES)})")
            if not 0.0 <= weight <= 1000.0:
                raise ValueError(f"weight of '{name}' must be in [0, 1000]")
        if sum(value.values()) <= 0:
            raise ValueError("at least one family needs a positive weight")
        return value

    @field_validator("train_difficulty")
    @classmethod
    def _difficulty(cls, value: int | dict[str, int]) -> int | dict[str, int]:
        levels = value.values() if isinstance(value, dict) else [value]
        if isinstance(value, dict):
            for name in value:
                if name not in FAMILIES:
                    raise ValueError(f"unknown family '{name}'")
        for level in levels:
            if not 0 <= level <= MAX_DIFFICULTY:
                raise ValueError(f"difficulty must be in [0, {MAX_DIFFICULTY}]")
        return value

    @model_validator(mode="after")
    def _steps(self) -> Recipe:
        for step in self.save_steps:
            if not 1 <= step <= self.max_steps:
                raise ValueError(f"save_steps: step {step} outside [1, max_steps={self.max_steps}]")
        if sorted(set(self.save_steps)) != self.save_steps:
            raise ValueError("save_steps: must be strictly increasing")
        return self

    def mixture(self) -> dict[str, float]:
        """Normalised mixture over all families (missing families weigh 0)."""
        total = sum(self.mixture_weights.values())
        return {f: self.mixture_weights.get(f, 0.0) / total for f in FAMILIES}


def _one_line(exc: ValidationError, source: str) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ())) or "<root>"
    msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{source}: field '{loc}': {msg}"


def load_recipe(path: Path | str) -> Recipe:
    """Parse and validate recipe.yaml; every failure is one RecipeError line."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"{path}: recipe file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RecipeError(f"{path}: cannot parse YAML: {reason}") from exc
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: top level must be a mapping of recipe keys")
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(_one_line(exc, str(path))) from exc


def resolve_base(recipe: Recipe, substrate_dir: Path) -> Path:
    """The base checkpoint folder; missing -> RecipeError naming the path."""
    base = Path(recipe.base_checkpoint)
    base = base if base.is_absolute() else substrate_dir / base
    if not (base / "config.json").is_file():
        raise RecipeError(f"base_checkpoint: {base}: no checkpoint (config.json) found")
    return base


def recipe_sha256(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
