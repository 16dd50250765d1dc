"""The agent registry (SQLite): specialists with their intent, centroid, adapter, birth and status,
plus the unserved clusters, so that `evotrain serve` restarts with everything it had learned.

One connection per registry object, guarded by a lock (the server answers from several threads);
every write is one transaction, so a kill leaves the previous state or the new one.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from pathlib import Path

import numpy as np
from pydantic import Field

from evotrain.schemas.common import Artifact
from orchestrator.evolve.clustering import Cluster, Member
from orchestrator.evolve.schemas import AgentRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS agents (
  agent_id TEXT PRIMARY KEY,
  intent TEXT NOT NULL,
  centroid BLOB NOT NULL,
  threshold REAL NOT NULL,
  adapter TEXT NOT NULL,
  status TEXT NOT NULL,
  born_t REAL NOT NULL,
  birth_id TEXT NOT NULL,
  served INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS clusters (cluster_id INTEGER PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class MemberState(Artifact):
    request_id: str
    t: float
    prompt: str
    label: str = ""


class ClusterState(Artifact):
    """A cluster as stored in the registry (numpy arrays as lists)."""

    cluster_id: int
    total: list[float]
    weight: float
    updated: float
    n: int
    sim_sum: float
    sim_sq: float
    members: list[MemberState] = Field(default_factory=list)
    labels: dict[str, int] = Field(default_factory=dict)
    blocked_until: float = 0.0

    @classmethod
    def of(cls, c: Cluster) -> ClusterState:
        return cls(
            cluster_id=c.cluster_id, total=[float(x) for x in c.total], weight=c.weight, updated=c.updated, n=c.n,
            sim_sum=c.sim_sum, sim_sq=c.sim_sq, labels=dict(c.labels), blocked_until=c.blocked_until,
            members=[MemberState(request_id=m.request_id, t=m.t, prompt=m.prompt, label=m.label) for m in c.members],
        )

    def to_cluster(self) -> Cluster:
        return Cluster(
            cluster_id=self.cluster_id, total=np.asarray(self.total, dtype=np.float32), weight=self.weight,
            updated=self.updated, n=self.n, sim_sum=self.sim_sum, sim_sq=self.sim_sq,
            members=[Member(m.request_id, m.t, m.prompt, m.label) for m in self.members],
            labels=Counter(self.labels), blocked_until=self.blocked_until,
        )


class Registry:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- agents -----------------------------------------------------------------------------------
    def upsert_agent(self, a: AgentRecord) -> None:
        blob = np.asarray(a.centroid, dtype=np.float32).tobytes()
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO agents VALUES (?,?,?,?,?,?,?,?,?)",
                (a.agent_id, a.intent, blob, a.threshold, a.adapter, a.status, a.born_t, a.birth_id, a.served),
            )

    def agents(self, status: str | None = "active") -> list[AgentRecord]:
        query = "SELECT * FROM agents" + (" WHERE status = ?" if status else "") + " ORDER BY born_t, agent_id"
        with self._lock:
            rows = self._db.execute(query, (status,) if status else ()).fetchall()
        return [
            AgentRecord(
                agent_id=r[0], intent=r[1], centroid=np.frombuffer(r[2], dtype=np.float32).tolist(), threshold=r[3],
                adapter=r[4], status=r[5], born_t=r[6], birth_id=r[7], served=r[8],
            )
            for r in rows
        ]

    def update_centroid(self, agent_id: str, centroid: np.ndarray, served: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE agents SET centroid = ?, served = ? WHERE agent_id = ?",
                (np.asarray(centroid, dtype=np.float32).tobytes(), served, agent_id),
            )

    # -- clusters ---------------------------------------------------------------------------------
    def save_clusters(self, clusters: list[Cluster], next_id: int) -> None:
        """Replace the stored clusters with `clusters` (one transaction)."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.execute("DELETE FROM clusters")
                self._db.executemany(
                    "INSERT INTO clusters VALUES (?, ?)",
                    [(c.cluster_id, ClusterState.of(c).model_dump_json()) for c in clusters],
                )
                self._set("next_cluster_id", str(next_id))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def load_clusters(self) -> tuple[list[Cluster], int]:
        with self._lock:
            rows = self._db.execute("SELECT state FROM clusters ORDER BY cluster_id").fetchall()
            next_id = int(self.get("next_cluster_id", "1"))
        return [ClusterState.model_validate_json(r[0]).to_cluster() for r in rows], next_id

    # -- small key/value state (stream clock, counters) -------------------------------------------
    def _set(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def set(self, key: str, value: str) -> None:
        with self._lock:
            self._set(key, value)

    def get(self, key: str, default: str = "") -> str:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_json(self, key: str, value: object) -> None:
        self.set(key, json.dumps(value, sort_keys=True))

    def get_json(self, key: str, default: object) -> object:
        raw = self.get(key)
        return json.loads(raw) if raw else default
