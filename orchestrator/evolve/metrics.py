"""Traffic metrics: who served what, how well, at what cost, and how fast the router decided."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from orchestrator.evolve.config import PriceConfig
from orchestrator.evolve.schemas import GENERALIST, AgentMetrics


@dataclass
class Served:
    request_id: str
    agent_id: str  # GENERALIST or a specialist id
    similarity: float
    completion: str
    answer: str | None  # extracted from the completion
    correct: bool | None  # None when the expected answer is unknown
    tokens: int
    router_seconds: float


@dataclass
class Metrics:
    prices: PriceConfig
    per_agent: dict[str, AgentMetrics] = field(default_factory=lambda: defaultdict(AgentMetrics))
    per_label: dict[str, dict[str, AgentMetrics]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(AgentMetrics))
    )
    router_seconds: list[float] = field(default_factory=list)
    order: list[bool] = field(default_factory=list)  # per request: served by a specialist?
    tokens_total: int = 0
    cost: float = 0.0

    def add(self, served: Served, label: str = "") -> None:
        for m in (self.per_agent[served.agent_id], *([self.per_label[label][served.agent_id]] if label else [])):
            m.served += 1
            m.tokens += served.tokens
            if served.correct is not None:
                m.scored += 1
                m.correct += int(served.correct)
        specialist = served.agent_id != GENERALIST
        price = self.prices.specialist_per_1k if specialist else self.prices.generalist_per_1k
        self.cost += served.tokens / 1000 * price
        self.tokens_total += served.tokens
        self.order.append(specialist)
        self.router_seconds.append(served.router_seconds)

    @property
    def cost_generalist_only(self) -> float:
        return self.tokens_total / 1000 * self.prices.generalist_per_1k

    def specialist_share(self, start: int = 0) -> float:
        tail = self.order[start:]
        return sum(tail) / len(tail) if tail else 0.0

    def router_ms(self, q: float) -> float:
        return float(np.percentile(self.router_seconds, q) * 1000) if self.router_seconds else 0.0

    def as_dicts(self) -> tuple[dict[str, AgentMetrics], dict[str, dict[str, AgentMetrics]]]:
        return dict(self.per_agent), {k: dict(v) for k, v in self.per_label.items()}
