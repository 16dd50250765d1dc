"""The recipe a worker edits (recipe.yaml / recipe.tiny.yaml), as a strict pydantic model (frozen).

Flat keys in the style TRL users know. Unknown key, wrong type or out-of-range value is a one-line
RecipeError naming the key; run.py and validate.py turn it into exit code 2.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .families import FAMILIES

# evotrain binds the user-given CSV (substrate.yaml `inputs.train_csv`) read-only into jobs and names it here;
# workers' jobs get a copy without the held-out leaderboard rows (prepare_data.py)
INPUT_ENV = "EVOTRAIN_INPUT_TRAIN_CSV"
TINY_MODEL_ID = "evotrain/nemotron-h-tiny"  # the CPU stand-in: built at run time, never downloaded
MAX_LORA_RANK = 32  # what vLLM accepts at challenge scoring (max_lora_rank=32)
# Mamba's out_proj and conv1d are refused by PEFT; the routed experts are fused tensors.
LORA_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "in_proj", "up_proj", "down_proj")


class RecipeError(Exception):
    """Bad recipe or missing file: one line naming the key or path."""


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # base model: a Hugging Face id recorded in the adapter; TINY_MODEL_ID builds the CPU stand-in
    base_model: str = TINY_MODEL_ID
    base_model_path: str | None = None  # local weights for base_model (never recorded in the adapter)
    load_in_4bit: bool = False  # QLoRA via bitsandbytes (CUDA only)
    bf16: bool = False  # on GPU
    gradient_checkpointing: bool = False  # on GPU
    train_csv: str = "../../../shared/data/nemotron-reasoning/train.csv"  # relative to the substrate
    # LoRA capacity
    lora_r: int = Field(default=16, ge=1, le=MAX_LORA_RANK)
    lora_alpha: float = Field(default=32.0, gt=0, le=1024)
    lora_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    lora_target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "v_proj"], min_length=1)
    # optimiser and schedule
    learning_rate: float = Field(default=2e-4, gt=0.0, le=1.0)
    lr_scheduler: Literal["constant", "linear", "cosine"] = "cosine"
    warmup_steps: int = Field(default=0, ge=0, le=100_000)
    max_steps: int = Field(default=100, ge=1, le=1_000_000)
    batch_size: int = Field(default=4, ge=1, le=1024)
    grad_accum: int = Field(default=1, ge=1, le=1024)
    max_grad_norm: float = Field(default=1.0, ge=0.0, le=1e6)  # 0 disables clipping
    weight_decay: float = Field(default=0.0, ge=0.0, le=1.0)
    optimizer: Literal["adamw_torch", "adamw_8bit", "sgd"] = "adamw_torch"
    max_seq_length: int = Field(default=1024, ge=64, le=32_768)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    # data: which solved rows, how their traces look, what to do with unsolved rows
    mixture_weights: dict[str, float] = Field(default_factory=lambda: dict.fromkeys(FAMILIES, 1.0))
    num_train_examples: int = Field(default=2000, ge=1, le=1_000_000)
    trace_style: Literal["answer_only", "rule_then_answer", "step_by_step"] = "step_by_step"
    unsolved: Literal["drop", "answer_only"] = "drop"
    only_correct: bool = True  # keep a solved row only when the solver's answer matches the gold answer
    # checkpoints and evaluation (the challenge's scoring settings are frozen in harness.py)
    save_steps: list[int] = Field(default_factory=lambda: [50, 100], min_length=1, max_length=20)
    dev_items: int = Field(default=120, ge=6, le=20_000)

    @field_validator("lora_target_modules", "save_steps", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        """Also accept "q_proj,v_proj" / "50,100": search axes carry list values as one string."""
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

    @field_validator("base_model")
    @classmethod
    def _model_id(cls, value: str) -> str:
        # the adapter records this id and Kaggle resolves it: a local path would not load there
        if value.startswith(("/", ".", "~")) or value.count("/") != 1:
            raise ValueError(f"must be a Hugging Face model id 'owner/name', got {value!r} (use base_model_path)")
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

    @model_validator(mode="after")
    def _consistent(self) -> Recipe:
        for step in self.save_steps:
            if not 1 <= step <= self.max_steps:
                raise ValueError(f"save_steps: step {step} outside [1, max_steps={self.max_steps}]")
        if sorted(set(self.save_steps)) != self.save_steps:
            raise ValueError("save_steps: must be strictly increasing")
        if self.base_model == TINY_MODEL_ID and (self.load_in_4bit or self.bf16):
            raise ValueError("load_in_4bit/bf16: the tiny CPU model trains in float32")
        return self

    @property
    def is_tiny(self) -> bool:
        return self.base_model == TINY_MODEL_ID

    def mixture(self) -> dict[str, float]:
        """Normalised mixture over all families (missing families weigh 0)."""
        total = sum(self.mixture_weights.values())
        return {f: self.mixture_weights.get(f, 0.0) / total for f in FAMILIES}

    def csv_path(self, substrate_dir: Path) -> Path:
        """The CSV evotrain bound for this job (env EVOTRAIN_INPUT_TRAIN_CSV) when set; else train_csv
        (relative to the substrate folder) for a run outside evotrain. Never searched for elsewhere."""
        env = os.environ.get(INPUT_ENV)
        if env:
            return Path(env)
        path = Path(self.train_csv).expanduser()
        return path if path.is_absolute() else (substrate_dir / path).resolve()


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


def check_paths(recipe: Recipe, substrate_dir: Path, data: bool = True) -> None:
    """Files the recipe names must exist: RecipeError naming the key otherwise. `data=False` (the validate
    command) skips the CSV: in a campaign evotrain checks and binds it, and a validator sees no inputs."""
    csv_path = recipe.csv_path(substrate_dir)
    if data and not csv_path.is_file():
        where = f"{INPUT_ENV}={csv_path}" if os.environ.get(INPUT_ENV) else f"train_csv: {csv_path}"
        raise RecipeError(f"{where}: not found (bring the Kaggle train.csv: campaign config inputs.train_csv)")
    if recipe.base_model_path is not None and not Path(recipe.base_model_path).expanduser().is_dir():
        raise RecipeError(f"base_model_path: {recipe.base_model_path}: not a directory")


def recipe_sha256(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
