"""Replay a request stream through the router and the birth loop, without HTTP.

Requests are processed in small batches (one embedding call and one generation call per agent per
batch); births run inline between batches, so a replay is deterministic for a given stream, config
and machine. The report (`<state>/simulate-report.json`) carries the acceptance numbers.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from evotrain.io import write_model
from orchestrator.evolve.clustering import purity
from orchestrator.evolve.config import EvolveConfig
from orchestrator.evolve.embeddings import TextEmbedder
from orchestrator.evolve.engine import Engine
from orchestrator.evolve.schemas import BirthRecord, SimulateReport
from orchestrator.evolve.substrate_bridge import load_minitask
from orchestrator.evolve.traffic import load_stream

BATCH = 32  # one embedding call and one generation call per agent per batch: the tiny model is
# bound by per-step overhead, so larger batches cost about the same per call


def duplicates(births: list[BirthRecord]) -> int:
    """Labels (true families) that got more than one registered specialist."""
    per_label = Counter(
        max(r.cluster_labels, key=r.cluster_labels.get) for r in births
        if r.outcome == "registered" and r.cluster_labels
    )
    return sum(1 for n in per_label.values() if n > 1)


def simulate(cfg: EvolveConfig, traffic: Path | None, embedder: TextEmbedder | None = None,
             on_birth: Callable[[BirthRecord], None] | None = None, batch: int = BATCH) -> SimulateReport:
    t0 = time.perf_counter()
    mt = load_minitask(cfg.substrate_path())
    name, stream = load_stream(mt, traffic)
    engine = Engine(cfg, embedder)
    births: list[BirthRecord] = []
    try:
        for start in range(0, len(stream), batch):
            chunk = stream[start : start + batch]
            engine.process(
                [r.prompt for r in chunk], times=[r.t for r in chunk], ids=[r.id for r in chunk],
                labels=[r.label for r in chunk], answers=[r.answer for r in chunk],
            )
            for record in engine.run_births():
                births.append(record)
                if on_birth:
                    on_birth(record)
        per_agent, per_label = engine.metrics.as_dicts()
        m = engine.metrics
        report = SimulateReport(
            stream=name, n_requests=len(stream), seconds=round(time.perf_counter() - t0, 1), births=births,
            specialists=len(engine.router.agents),
            served_by_specialist=round(m.specialist_share(), 4),
            served_by_specialist_after_births=round(m.specialist_share(engine.last_birth_index), 4),
            purity=purity(engine.all_cluster_labels()), duplicates=duplicates(births),
            per_agent=per_agent, per_label=per_label, cost_dollars=round(m.cost, 6),
            cost_generalist_only=round(m.cost_generalist_only, 6),
            router_ms_p50=round(m.router_ms(50), 3), router_ms_p95=round(m.router_ms(95), 3),
        )
        write_model(engine.state / "simulate-report.json", report)
        return report
    finally:
        engine.close()
