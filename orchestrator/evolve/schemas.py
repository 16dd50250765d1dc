"""Typed artifacts of the evolve loop: traffic, agents, births, reports (everything that crosses a file)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from evotrain.schemas.common import Artifact

GENERALIST = "generalist"
AgentStatus = Literal["active", "retired"]
BirthOutcome = Literal["registered", "rejected", "absorbed", "failed"]


class TrafficRequest(Artifact):
    """One request of a replayed stream (JSONL). `label` is the true intent, used only for metrics."""

    id: str
    t: float = Field(ge=0)  # stream time (arbitrary units; the default stream uses one unit per request)
    prompt: str = Field(min_length=1)
    label: str = ""
    answer: str = ""  # the expected answer when known (metrics only; never shown to the router or agents)
    phase: str = ""


class TeacherItemRef(Artifact):
    """Provenance of one teacher item: enough to regenerate it (the offline verifier does exactly that)."""

    family: str
    seed: str
    difficulty: int
    flawed: bool = False


class RewardSummary(Artifact):
    model_version: str
    calibration_mean: float
    calibration_sd: float
    calibration_separation: float  # mean calibrated score of clean minus flawed held-out items
    n_scored: int
    n_kept: int
    kept_flawed: int
    dropped_flawed: int
    kept_off_intent: int
    dropped_off_intent: int


class GateResult(Artifact):
    n_items: int
    student: float
    generalist: float
    min_gain: float
    passed: bool


class BirthRecord(Artifact):
    """What one birth did, stage by stage (also the payload of the births log)."""

    birth_id: str
    cluster_id: int
    t: float
    outcome: BirthOutcome
    agent_id: str = ""
    intent: str = ""  # the intent's name (the teacher's reading of the cluster, e.g. its family)
    cluster_size: int
    cluster_labels: dict[str, int] = Field(default_factory=dict)  # true labels of members (metrics)
    purity: float | None = None
    teacher_family_counts: dict[str, int] = Field(default_factory=dict)
    n_teacher_items: int = 0
    reward: RewardSummary | None = None
    student_run: str = ""
    train_seconds: float = 0.0
    gate: GateResult | None = None
    seconds: float = 0.0
    message: str = ""


class BirthLogEntry(Artifact):
    """One line of `births.jsonl`: hash-chained like the campaign audit log."""

    seq: int = Field(ge=0)
    ts: float
    record: BirthRecord
    prev_hash: str
    hash: str


class AgentRecord(Artifact):
    agent_id: str
    intent: str
    centroid: list[float]
    threshold: float
    adapter: str  # adapter folder (PEFT); "" for the generalist
    status: AgentStatus = "active"
    born_t: float = 0.0
    birth_id: str = ""
    served: int = 0


class ClusterView(Artifact):
    cluster_id: int
    weight: float
    size: int
    volume_in_window: int
    threshold: float
    labels: dict[str, int] = Field(default_factory=dict)


class AgentMetrics(Artifact):
    served: int = 0
    correct: int = 0
    scored: int = 0
    tokens: int = 0

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.scored if self.scored else None


class SimulateReport(Artifact):
    stream: str
    n_requests: int
    seconds: float
    births: list[BirthRecord]
    specialists: int
    served_by_specialist: float  # share over the whole stream
    served_by_specialist_after_births: float  # share over requests after the last registered birth
    purity: float | None  # over every cluster that ever held labelled requests
    duplicates: int  # labels that got more than one registered specialist
    per_agent: dict[str, AgentMetrics]
    per_label: dict[str, dict[str, AgentMetrics]]  # label -> agent -> metrics
    cost_dollars: float
    cost_generalist_only: float
    router_ms_p50: float
    router_ms_p95: float


class EvolveStatus(Artifact):
    state_dir: str
    agents: list[AgentRecord]
    clusters: list[ClusterView]
    births: int
    generalist_adapter: str
