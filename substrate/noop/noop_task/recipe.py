"""The noop recipe: the default substrate's keys (strict, one-line errors naming the key) + sleep_s."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from noop_task import FAMILIES

LORA_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
# keys that do not change what a candidate "learns": its quality ignores them
NEUTRAL_KEYS = ("seed", "sleep_s", "base_checkpoint", "dev_items")


class RecipeError(Exception):
    """Bad recipe or missing file: one line naming the key or path."""


class _Loader(yaml.SafeLoader):
    """Also reads `3e-3` as a float (YAML 1.2), as evotrain's recipe parser does."""


_Loader.add_implicit_resolver("tag:yaml.org,2002:float",
                              re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
                              list("-+0123456789"))


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_checkpoint: str = "none"
    sleep_s: float = Field(default=0.2, ge=0.0, le=3600.0)
    lora_r: int = Field(default=8, ge=1, le=32)
    lora_alpha: float = Field(default=16.0, gt=0, le=1024)
    lora_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    lora_target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "v_proj"], min_length=1)
    learning_rate: float = Field(default=3e-3, gt=0.0, le=1.0)
    lr_scheduler: Literal["constant", "linear", "cosine"] = "cosine"
    warmup_steps: int = Field(default=0, ge=0, le=100_000)
    max_steps: int = Field(default=100, ge=1, le=100_000)
    batch_size: int = Field(default=16, ge=1, le=1024)
    grad_accum: int = Field(default=1, ge=1, le=64)
    max_grad_norm: float = Field(default=1.0, ge=0.0, le=1e6)
    weight_decay: float = Field(default=0.0, ge=0.0, le=1.0)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    mixture_weights: dict[str, float] = Field(default_factory=lambda: dict.fromkeys(FAMILIES, 1.0))
    num_train_examples: int = Field(default=4000, ge=1, le=1_000_000)
    train_difficulty: int | dict[str, int] = 0
    trace_style: Literal["answer_only", "step_by_step"] = "step_by_step"
    save_steps: list[int] = Field(default_factory=lambda: [50, 100], min_length=1, max_length=20)
    dev_items: int = Field(default=300, ge=12, le=20_000)

    @field_validator("lora_target_modules", "save_steps", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        """Search axes carry list values as one string ("q_proj,v_proj", "50,100")."""
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            return [int(p) if p.isdigit() else p for p in parts]
        return value

    @field_validator("lora_target_modules")
    @classmethod
    def _known_modules(cls, value: list[str]) -> list[str]:
        unknown = [m for m in value if m not in LORA_MODULES]
        if unknown:
            raise ValueError(f"unknown module '{unknown[0]}' (allowed: {', '.join(LORA_MODULES)})")
        return value

    @field_validator("mixture_weights")
    @classmethod
    def _known_families(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = [f for f in value if f not in FAMILIES]
        if unknown:
            raise ValueError(f"unknown family '{unknown[0]}' (allowed: {', '.join(FAMILIES)})")
        if sum(value.values()) <= 0 or min(value.values()) < 0:
            raise ValueError("weights must be >= 0 with at least one positive")
        return value

    @model_validator(mode="after")
    def _steps(self) -> Recipe:
        for step in self.save_steps:
            if not 1 <= step <= self.max_steps:
                raise ValueError(f"save_steps: step {step} outside [1, max_steps={self.max_steps}]")
        if sorted(set(self.save_steps)) != self.save_steps:
            raise ValueError("save_steps: must be strictly increasing")
        return self

    def quality_key(self) -> str:
        """Canonical JSON of what the candidate's quality depends on (neutral keys left out)."""
        return json.dumps(self.model_dump(mode="json", exclude=set(NEUTRAL_KEYS)), sort_keys=True)


def _one_line(exc: ValidationError, source: str) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ())) or "<root>"
    msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{source}: field '{loc}': {msg}"


def load_recipe(path: Path | str) -> Recipe:
    """Parse and validate a recipe file; every failure is one RecipeError line."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"{path}: recipe file not found")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # a SafeLoader subclass
    except (OSError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RecipeError(f"{path}: cannot parse YAML: {reason}") from exc
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: top level must be a mapping of recipe keys")
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(_one_line(exc, str(path))) from exc


def recipe_sha256(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
