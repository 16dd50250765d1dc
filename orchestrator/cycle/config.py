"""The cycle's config (YAML, every field typed, unknown keys are errors) and its embedded default.

Relative paths resolve against the config file's folder; without a config file, against the
repository root (so `evotrain cycle run --once` on a fresh clone uses `substrate/default/`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.schemas.common import Artifact

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SUBSTRATE = REPO_ROOT / "substrate" / "default"
DEFAULT_WORKDIR = REPO_ROOT / "runs" / "cycle"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str, field: str = "every") -> float:
    """'12h' / '30m' / '2s' / '45' (seconds) -> seconds; one-line error naming the field."""
    match = _DURATION.match(str(text))
    if not match or float(match.group(1)) <= 0:
        raise EvotrainError(f"{field}: expected a positive duration like 12h, 30m or 2s, got {text!r}")
    return float(match.group(1)) * _UNIT_S[match.group(2) or "s"]


class GeneratorConfig(Artifact):
    """One generator instance; `name` is its source tag (the per-source cap counts by it)."""

    kind: str  # an entry point of the group `evotrain.cycle_generators` (built-ins: see generators/registry.py)
    name: str = ""
    enabled: bool = True
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _default_name(self) -> GeneratorConfig:
        if not self.name:
            self.name = self.kind
        return self


class QualityConfig(Artifact):
    """The seed's quality gate; every threshold configurable."""

    min_tokens: int = Field(default=10, ge=0)
    max_tokens: int = Field(default=800, ge=1)
    max_bigram_repeat: float = Field(default=0.4, gt=0.0, le=1.0)  # dropped when ratio >= this
    strip_noise: bool = True
    # 0.15: every substrate puzzle pair scores >= 0.18, shuffled (mismatched) pairs mostly below (BENCHMARKS.md)
    min_coherence: float | None = Field(default=0.15, ge=-1.0, le=1.0)  # None disables the rule
    embedding_model: str = "all-MiniLM-L6-v2"  # a local folder, or the name of the packaged weights
    per_source_cap: int | None = Field(default=600, ge=1)  # None disables the cap
    seed: int = 0  # which examples survive the cap (a seeded shuffle per source)

    @model_validator(mode="after")
    def _range(self) -> QualityConfig:
        if self.min_tokens > self.max_tokens:
            raise ValueError("min_tokens must be <= max_tokens")
        return self


class BenchmarkConfig(Artifact):
    """Per-category benchmark. `substrate`: the substrate's families on a held-out split generated
    through its generate command (seeds disjoint from every training seed), scored by its evaluate command.
    `spec`: a user's benchmark file (bench_spec.py: prompts per category, scorer challenge/exact/judge)."""

    kind: Literal["substrate", "spec"] = "substrate"
    spec: Path | None = None  # kind 'spec': the BenchmarkSpec file (relative to the config's folder)
    n_items: int = Field(default=240, ge=6)
    seed: int = 909_090
    difficulty: int | dict[str, int] = Field(
        default_factory=lambda: {
            "bit_manipulation": 1, "text_cipher": 0, "numeral_system": 1,
            "unit_conversion": 1, "gravity": 1, "equations": 1,
        }
    )

    @model_validator(mode="after")
    def _spec_for_kind(self) -> BenchmarkConfig:
        if self.kind == "spec" and self.spec is None:
            raise ValueError("kind 'spec' needs 'spec': the path of a benchmark spec file")
        return self


class GateConfig(Artifact):
    """Promote when overall >= min_overall and no category < its minimum (and, optionally, the
    challenger beats the champion's overall by `beat_champion_by`, e.g. the noise band)."""

    min_overall: float = Field(default=0.70, ge=0.0, le=1.0)
    min_category: float = Field(default=0.30, ge=0.0, le=1.0)
    category_min: dict[str, float] = Field(default_factory=dict)  # per-category overrides
    beat_champion_by: float | None = Field(default=None, ge=0.0, le=1.0)
    weak_below: float = Field(default=0.30, ge=0.0, le=1.0)  # categories fed to `targeted` next cycle

    def minimum_for(self, category: str) -> float:
        return self.category_min.get(category, self.min_category)


class ScheduleConfig(Artifact):
    every: str = "12h"

    @field_validator("every")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value, "schedule.every")
        return value


class CycleConfig(Artifact):
    schema_version: int = 1
    name: str = Field(default="default", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    substrate: Path = DEFAULT_SUBSTRATE
    workdir: Path = DEFAULT_WORKDIR
    recipe: Path | None = None  # a recipe file (e.g. a campaign's best); default: the substrate's own
    recipe_overrides: dict[str, Any] = Field(default_factory=dict)
    train_timeout_s: float = Field(default=1800.0, gt=0)
    generators: list[GeneratorConfig] = Field(default_factory=list)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    benchmark: BenchmarkConfig = Field(default_factory=BenchmarkConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)

    @model_validator(mode="after")
    def _unique_sources(self) -> CycleConfig:
        names = [g.name for g in self.generators]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"generators: source name '{name}' used twice")
        return self

    @property
    def state_dir(self) -> Path:
        return self.workdir / self.name


def embedded_default() -> CycleConfig:
    """The embedded substrate's cycle: puzzle families + targeted top-ups as training data, code
    and diff examples from this repository, a drop folder; thresholds the tiny model meets and
    small step counts (measured: docs/BENCHMARKS.md, "Continuous cycle")."""
    return CycleConfig(
        recipe_overrides={
            # the demo campaign's promoted changes over the untuned baseline (docs/BENCHMARKS.md);
            # num_train_examples: unused, run.py trains on the cycle's data file ({train_data})
            "learning_rate": 0.015, "warmup_steps": 8, "max_steps": 100, "save_steps": [100],
            "dev_items": 12, "num_train_examples": 16,
        },
        generators=[
            GeneratorConfig(kind="substrate", options={"n_per_family": 100}),
            GeneratorConfig(kind="targeted", options={"n_per_category": 60}),
            GeneratorConfig(kind="python-ast", options={"root": str(REPO_ROOT / "orchestrator"), "max_examples": 40}),
            GeneratorConfig(kind="git-diff", options={"repo": str(REPO_ROOT), "max_commits": 10}),
            GeneratorConfig(kind="jsonl", options={"folder": "inbox"}),
        ],
        benchmark=BenchmarkConfig(n_items=180),
        # measured first cycle (120 steps): overall 0.125, numeral_system 0.675, the rest 0.00-0.05
        gate=GateConfig(
            min_overall=0.08, min_category=0.0, category_min={"numeral_system": 0.40},
            beat_champion_by=0.0, weak_below=0.10,
        ),
    )


def _resolve(path: Path, base: Path) -> Path:
    return path if path.is_absolute() else (base / path).resolve()


def load_config(path: Path | None) -> CycleConfig:
    """The config at `path` (YAML/JSON), or the embedded default; relative paths made absolute."""
    if path is None:
        return embedded_default()
    config = read_model(path, CycleConfig)
    base = path.resolve().parent
    raw = config.model_dump()
    raw["substrate"] = _resolve(config.substrate, base)
    raw["workdir"] = _resolve(config.workdir, base)
    raw["recipe"] = _resolve(config.recipe, base) if config.recipe else None
    if config.benchmark.spec is not None:
        raw["benchmark"]["spec"] = _resolve(config.benchmark.spec, base)
    return CycleConfig.model_validate(raw)
