"""Typed artifacts of the cycle: examples, per-stage outputs, the cycle state, the champion pointer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field

from evotrain.schemas.common import Artifact

STAGES: tuple[str, ...] = ("generate", "quality", "train", "benchmark", "gate", "promote")
StageName = Literal["generate", "quality", "train", "benchmark", "gate", "promote"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Example(Artifact):
    """One training pair. `item` carries a substrate-native record (a puzzle of the embedded
    substrate) that the substrate encodes its own way; plain pairs are trained as prompt -> response."""

    id: str
    source: str
    category: str
    prompt: str
    response: str
    item: dict[str, Any] | None = None


class GeneratorReport(Artifact):
    source: str
    kind: str
    ok: bool
    n_examples: int = 0
    error: str = ""
    notes: dict[str, Any] = Field(default_factory=dict)


class GenerateOutput(Artifact):
    """What the generate stage hands on: per-generator reports (examples are in examples.jsonl)."""

    reports: list[GeneratorReport]
    n_examples: int
    weak_categories: list[str] = Field(default_factory=list)  # what `targeted` was asked to raise
    # per source: what a generator hands its next run (git-diff's last commit, the drop files consumed)
    carry: dict[str, dict[str, Any]] = Field(default_factory=dict)


class RuleCount(Artifact):
    source: str
    input: int = 0
    noise_stripped: int = 0  # kept but cleaned
    dropped: dict[str, int] = Field(default_factory=dict)  # rule -> examples it dropped
    kept: int = 0


class QualityOutput(Artifact):
    rules: list[str]
    by_source: list[RuleCount]
    n_input: int
    n_kept: int
    kept_by_category: dict[str, int]
    coherence_model: str = ""


class TrainOutput(Artifact):
    adapter_dir: str  # relative to the cycle folder
    steps: int
    train_seconds: float
    final_loss: float | None
    n_train_examples: int
    recipe_sha256: str


class BenchmarkOutput(Artifact):
    overall: float
    by_category: dict[str, float]
    n_items: int
    n_by_category: dict[str, int] = Field(default_factory=dict)
    items_sha256: str = ""


class GateOutput(Artifact):
    promote: bool
    reasons: list[str]  # why not (empty when promoted) or what it beat
    regressed: list[str] = Field(default_factory=list)  # categories below their minimum or the champion's
    weak_categories: list[str] = Field(default_factory=list)  # raised by `targeted` next cycle
    champion_before: str | None = None
    champion_overall: float | None = None


class PromoteOutput(Artifact):
    champion: str | None  # the champion after this stage
    action: Literal["promoted", "kept"]


class StageRecord(Artifact):
    status: Literal["pending", "running", "done", "failed"] = "pending"
    attempts: int = 0
    started: str | None = None
    finished: str | None = None
    seconds: float | None = None
    cpu_seconds: float | None = None  # this process + its finished children (the substrate jobs): load-independent
    error: str = ""


class CycleState(Artifact):
    """`<workdir>/<name>/cycles/<id>/state.json`; rewritten atomically after every stage change."""

    schema_version: int = 1
    id: str
    number: int
    config_name: str
    created: str = Field(default_factory=now_iso)
    finished: str | None = None
    stages: dict[str, StageRecord] = Field(default_factory=lambda: {s: StageRecord() for s in STAGES})

    @property
    def complete(self) -> bool:
        return all(r.status == "done" for r in self.stages.values())

    def next_stage(self) -> str | None:
        return next((s for s in STAGES if self.stages[s].status != "done"), None)


class ChampionEntry(Artifact):
    """One archived model: every champion ever promoted stays in the archive."""

    id: str  # the cycle id that produced it
    adapter_dir: str  # relative to the state dir (archive/<id>/adapter)
    overall: float
    by_category: dict[str, float]
    promoted: str = Field(default_factory=now_iso)


class ChampionPointer(Artifact):
    """`champion.json`: which archived model is served (`evotrain submit --champion`, the router)."""

    champion: str | None = None
    since: str = Field(default_factory=now_iso)
    previous: list[str] = Field(default_factory=list)  # earlier champions, most recent last
    history: list[dict[str, str]] = Field(default_factory=list)  # {at, action, champion, by}
