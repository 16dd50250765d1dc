"""Online clustering of unserved requests: adaptive threshold, merging, time decay.

The seed's hard parts, each answered here:
- unstable clusters (near-identical requests spread over several clusters): a cluster's joining
  threshold adapts to its own spread (mean - z*sd of its members' similarity to its centroid), and
  two clusters whose centroids are closer than either's threshold are merged;
- intent drift: a cluster's centroid is a time-decayed sum of its members, so recent requests weigh
  more and a slowly re-worded intent moves its cluster instead of starting a new one; clusters that
  decayed away are forgotten.
Vectors are unit-normalised (cosine = dot product). Pure numpy: tests drive it with constructed vectors.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from orchestrator.evolve.config import ClusteringConfig


def unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


@dataclass
class Member:
    request_id: str
    t: float
    prompt: str
    label: str = ""


@dataclass
class Cluster:
    cluster_id: int
    total: np.ndarray  # time-decayed sum of member vectors; the centroid is its direction
    weight: float  # time-decayed member count
    updated: float
    n: int = 0  # members ever (with merges)
    sim_sum: float = 0.0  # similarity of each member to the centroid when it joined
    sim_sq: float = 0.0
    members: list[Member] = field(default_factory=list)
    labels: Counter[str] = field(default_factory=Counter)
    blocked_until: float = 0.0  # a cluster whose birth failed waits before it is tried again

    @property
    def centroid(self) -> np.ndarray:
        return unit(self.total)

    def sim_stats(self) -> tuple[float, float]:
        if self.n == 0:
            return 1.0, 0.0
        mean = self.sim_sum / self.n
        var = max(0.0, self.sim_sq / self.n - mean * mean)
        return mean, math.sqrt(var)

    def volume(self, now: float, window: float) -> int:
        return sum(1 for m in self.members if m.t > now - window)


def adaptive_threshold(cluster: Cluster, cfg: ClusteringConfig) -> float:
    """Join threshold from the cluster's own spread; young clusters use the base threshold."""
    if cluster.n < cfg.min_members_adaptive:
        return cfg.base_threshold
    mean, sd = cluster.sim_stats()
    return min(cfg.threshold_ceil, max(cfg.threshold_floor, mean - cfg.z * sd))


class OnlineClusterer:
    def __init__(self, cfg: ClusteringConfig) -> None:
        self.cfg = cfg
        self.clusters: dict[int, Cluster] = {}
        self.next_id = 1
        self.merges: list[tuple[int, int, float]] = []  # (kept, absorbed, similarity): for reports/tests
        self.forgotten_labels: list[Counter[str]] = []  # labels of clusters that decayed away (purity)

    # -- time decay -------------------------------------------------------------------------------
    def _decay(self, cluster: Cluster, now: float) -> None:
        dt = max(0.0, now - cluster.updated)
        if dt > 0:
            factor = 0.5 ** (dt / self.cfg.half_life)
            cluster.total = cluster.total * factor
            cluster.weight *= factor
            cluster.updated = now

    def decay_all(self, now: float) -> list[int]:
        """Decay every cluster to `now`; forget those that faded (returns their ids)."""
        gone = []
        for cid, cluster in list(self.clusters.items()):
            self._decay(cluster, now)
            if cluster.weight < self.cfg.min_weight:
                gone.append(cid)
                self.forgotten_labels.append(cluster.labels)
                del self.clusters[cid]
        return gone

    # -- assignment -------------------------------------------------------------------------------
    def best(self, vec: np.ndarray) -> tuple[Cluster | None, float]:
        best, best_sim = None, -2.0
        for cluster in self.clusters.values():
            sim = float(cluster.centroid @ vec)
            if sim > best_sim:
                best, best_sim = cluster, sim
        return best, best_sim

    def add(self, vec: np.ndarray, member: Member) -> Cluster:
        """Put one unserved request into the closest cluster above its threshold, or a new one."""
        vec = unit(np.asarray(vec, dtype=np.float32))
        now = member.t
        self.decay_all(now)
        cluster, sim = self.best(vec)
        if cluster is None or sim < adaptive_threshold(cluster, self.cfg):
            cluster = Cluster(cluster_id=self.next_id, total=np.zeros_like(vec), weight=0.0, updated=now)
            self.clusters[cluster.cluster_id] = cluster
            self.next_id += 1
            sim = 1.0
        cluster.total = cluster.total + vec
        cluster.weight += 1.0
        cluster.updated = now
        cluster.n += 1
        cluster.sim_sum += sim
        cluster.sim_sq += sim * sim
        cluster.members.append(member)
        if member.label:
            cluster.labels[member.label] += 1
        del cluster.members[: max(0, len(cluster.members) - self.cfg.max_members)]
        return self.merge_close(cluster)

    # -- merging ----------------------------------------------------------------------------------
    def merge_close(self, cluster: Cluster) -> Cluster:
        """Merge every cluster whose centroid is closer to `cluster` than both their thresholds."""
        changed = True
        while changed:
            changed = False
            for other in list(self.clusters.values()):
                if other.cluster_id == cluster.cluster_id:
                    continue
                sim = float(cluster.centroid @ other.centroid)
                if sim >= min(adaptive_threshold(cluster, self.cfg), adaptive_threshold(other, self.cfg)):
                    keep, gone = (cluster, other) if cluster.weight >= other.weight else (other, cluster)
                    self._absorb(keep, gone, sim)
                    cluster = keep
                    changed = True
                    break
        return cluster

    def _absorb(self, keep: Cluster, gone: Cluster, sim: float) -> None:
        keep.total = keep.total + gone.total
        keep.weight += gone.weight
        keep.n += gone.n
        keep.sim_sum += gone.sim_sum
        keep.sim_sq += gone.sim_sq
        keep.members = sorted(keep.members + gone.members, key=lambda m: m.t)[-self.cfg.max_members :]
        keep.labels.update(gone.labels)
        del self.clusters[gone.cluster_id]
        self.merges.append((keep.cluster_id, gone.cluster_id, sim))

    def remove(self, cluster_id: int) -> Cluster | None:
        return self.clusters.pop(cluster_id, None)


def purity(label_counts: list[Counter[str] | dict[str, int]]) -> float | None:
    """Share of labelled members that carry their cluster's majority label (None without labels)."""
    total = sum(sum(c.values()) for c in label_counts)
    if total == 0:
        return None
    return sum(max(c.values()) for c in label_counts if c) / total
