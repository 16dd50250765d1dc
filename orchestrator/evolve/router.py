"""The router: embed a request, find the nearest specialist centroid in FAISS, apply its threshold.

A specialist's threshold comes from its birth cluster's spread. Served requests pull the
specialist's centroid along (a time-decayed sum, like the clusters'), so an intent whose wording
drifts slowly stays with its specialist; an unserved cluster that forms close to a specialist is
absorbed into it instead of becoming a second specialist for the same intent.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from orchestrator.evolve.clustering import Cluster, unit
from orchestrator.evolve.config import RouterConfig
from orchestrator.evolve.index import CentroidIndex
from orchestrator.evolve.registry import Registry
from orchestrator.evolve.schemas import AgentRecord

PERSIST_EVERY = 25  # served requests between centroid writes to the registry


@dataclass
class Route:
    agent_id: str | None  # None: no specialist close enough -> the generalist
    similarity: float
    seconds: float = 0.0  # FAISS search time of this request


@dataclass
class _Agent:
    record: AgentRecord
    total: np.ndarray
    since_persist: int = 0


class Router:
    def __init__(self, cfg: RouterConfig, registry: Registry, dim: int) -> None:
        self.cfg = cfg
        self.registry = registry
        self.index = CentroidIndex(dim)
        self._lock = threading.RLock()
        self.agents: dict[str, _Agent] = {}
        for rec in registry.agents():
            self._put(rec)
        self._rebuild()

    def _put(self, rec: AgentRecord) -> None:
        # the decayed mass starts at the half-life's equilibrium, so the first requests move it slowly
        mass = self.cfg.centroid_half_life / np.log(2)
        self.agents[rec.agent_id] = _Agent(rec, unit(np.asarray(rec.centroid, dtype=np.float32)) * mass)

    def _rebuild(self) -> None:
        self.index.rebuild([(a.record.agent_id, unit(a.total)) for a in self.agents.values()])

    def add_agent(self, rec: AgentRecord) -> None:
        with self._lock:
            self.registry.upsert_agent(rec)
            self._put(rec)
            self._rebuild()

    def route(self, vecs: np.ndarray) -> list[Route]:
        out = []
        with self._lock:
            for vec in np.asarray(vecs, dtype=np.float32):
                t0 = time.perf_counter()
                hits = self.index.search(vec[None, :], k=1)[0]
                dt = time.perf_counter() - t0
                if hits and hits[0][1] >= self.agents[hits[0][0]].record.threshold:
                    out.append(Route(hits[0][0], hits[0][1], dt))
                else:
                    out.append(Route(None, hits[0][1] if hits else -1.0, dt))
        return out

    def observe_served(self, agent_id: str, vec: np.ndarray) -> None:
        """Temporal adaptation: the served request joins the specialist's decayed centroid."""
        with self._lock:
            agent = self.agents[agent_id]
            agent.total = agent.total * 0.5 ** (1.0 / self.cfg.centroid_half_life) + np.asarray(vec, np.float32)
            agent.record.served += 1
            agent.since_persist += 1
            self._rebuild()
            if agent.since_persist >= PERSIST_EVERY:
                self.persist(agent_id)

    def persist(self, agent_id: str | None = None) -> None:
        with self._lock:
            for a in [self.agents[agent_id]] if agent_id else list(self.agents.values()):
                self.registry.update_centroid(a.record.agent_id, unit(a.total), a.record.served)
                a.record.centroid = [float(x) for x in unit(a.total)]
                a.since_persist = 0

    def closest_agent(self, vec: np.ndarray) -> tuple[str | None, float]:
        with self._lock:
            hits = self.index.search(np.asarray(vec, np.float32)[None, :], k=1)[0]
        return (hits[0][0], hits[0][1]) if hits else (None, -1.0)

    def absorb(self, agent_id: str, cluster: Cluster) -> None:
        """Merge an unserved cluster into a specialist: its mass joins the centroid; the threshold
        widens just enough to cover the cluster's centre."""
        with self._lock:
            agent = self.agents[agent_id]
            agent.total = agent.total + cluster.total
            sim = float(unit(agent.total) @ cluster.centroid)
            agent.record.threshold = max(self.cfg.threshold_floor, min(agent.record.threshold, sim - 0.02))
            self._rebuild()
            agent.record.centroid = [float(x) for x in unit(agent.total)]
            self.registry.upsert_agent(agent.record)

    def threshold_for(self, cluster: Cluster, z: float) -> float:
        mean, sd = cluster.sim_stats()
        return min(self.cfg.threshold_ceil, max(self.cfg.threshold_floor, mean - z * sd))

    def records(self) -> list[AgentRecord]:
        with self._lock:
            return [a.record.model_copy() for a in self.agents.values()]
