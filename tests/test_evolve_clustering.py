"""Online clustering with constructed unit vectors: adaptive threshold, merging, time decay, purity."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("faiss")

from orchestrator.evolve.clustering import Cluster, Member, OnlineClusterer, adaptive_threshold, purity
from orchestrator.evolve.config import ClusteringConfig

DIM = 8


def vec_at(cos: float, axis: int = 0, other: int = 1) -> np.ndarray:
    """A unit vector at cosine `cos` to basis vector `axis`, tilted towards `other`."""
    v = np.zeros(DIM, dtype=np.float32)
    v[axis] = cos
    v[other] = math.sqrt(max(0.0, 1 - cos * cos))
    return v


def member(i: int, t: float | None = None, label: str = "") -> Member:
    return Member(f"r{i}", float(i if t is None else t), f"prompt {i}", label)


def cfg(**kw) -> ClusteringConfig:
    base = {"base_threshold": 0.75, "threshold_floor": 0.6, "threshold_ceil": 0.9, "z": 3.0,
            "min_members_adaptive": 5, "half_life": 1000.0, "min_weight": 0.01}
    return ClusteringConfig(**{**base, **kw})


def test_young_cluster_uses_the_base_threshold_on_both_sides() -> None:
    c = OnlineClusterer(cfg())
    first = c.add(vec_at(1.0), member(0))
    assert c.add(vec_at(0.76), member(1)).cluster_id == first.cluster_id  # 0.76 >= 0.75
    c2 = OnlineClusterer(cfg())
    first = c2.add(vec_at(1.0), member(0))
    assert c2.add(vec_at(0.74), member(1)).cluster_id != first.cluster_id  # 0.74 < 0.75
    assert len(c2.clusters) == 2


def test_adaptive_threshold_follows_the_spread_of_member_similarities() -> None:
    tight = Cluster(1, np.ones(DIM), 10, 0, n=10, sim_sum=10 * 0.95, sim_sq=10 * (0.95**2 + 0.01**2))
    loose = Cluster(2, np.ones(DIM), 10, 0, n=10, sim_sum=10 * 0.85, sim_sq=10 * (0.85**2 + 0.05**2))
    young = Cluster(3, np.ones(DIM), 3, 0, n=3, sim_sum=3.0, sim_sq=3.0)
    c = cfg()
    assert adaptive_threshold(tight, c) == pytest.approx(0.9)  # 0.95 - 3*0.01 = 0.92, capped at the ceiling 0.9
    assert adaptive_threshold(loose, c) == pytest.approx(0.70, abs=1e-6)  # 0.85 - 3*0.05
    assert adaptive_threshold(young, c) == 0.75
    very_loose = Cluster(4, np.ones(DIM), 10, 0, n=10, sim_sum=10 * 0.7, sim_sq=10 * (0.7**2 + 0.1**2))
    assert adaptive_threshold(very_loose, c) == 0.6  # floor


def test_tight_cluster_refuses_a_request_a_loose_one_would_take() -> None:
    c = OnlineClusterer(cfg(base_threshold=0.8))
    for i in range(8):  # identical requests: spread 0, adaptive threshold = ceiling 0.9
        c.add(vec_at(1.0), member(i))
    (only,) = c.clusters.values()
    assert adaptive_threshold(only, c.cfg) == pytest.approx(0.9)
    # 0.88 is under the tight threshold: a new cluster starts (and is NOT merged: centroids are 0.88
    # apart, under the tight cluster's 0.9, but above the young cluster's 0.8 -> min(0.9, 0.8) = 0.8 merges)
    got = c.add(vec_at(0.88), member(9))
    assert got.cluster_id == only.cluster_id  # merged back: the young cluster's threshold allows it
    assert c.merges and c.merges[-1][1] != only.cluster_id


def test_merging_joins_near_duplicate_clusters_but_not_distinct_ones() -> None:
    c = OnlineClusterer(cfg(base_threshold=0.95))
    a = c.add(vec_at(1.0), member(0))
    b = c.add(vec_at(0.9), member(1))  # 0.9 < 0.95: its own cluster, and centroids 0.9 apart < 0.95: kept apart
    assert a.cluster_id != b.cluster_id and len(c.clusters) == 2
    # a request between them pulls b's centroid towards a until the centroids are within threshold
    c.cfg = cfg(base_threshold=0.89)
    c.merge_close(b)
    assert len(c.clusters) == 1
    d = OnlineClusterer(cfg(base_threshold=0.75))
    d.add(vec_at(1.0, 0, 1), member(0))
    d.add(vec_at(1.0, 2, 3), member(1))  # orthogonal: never merged
    d.merge_close(next(iter(d.clusters.values())))
    assert len(d.clusters) == 2


def test_time_decay_lets_a_drifting_intent_move_its_cluster() -> None:
    c = OnlineClusterer(cfg(half_life=5.0, base_threshold=0.8, min_members_adaptive=100))
    angle = 0.0
    for t in range(1, 101):  # the wording drifts by 0.02 rad per request: 2 rad in all (cos -0.42 to the start)
        angle += 0.02
        v = np.zeros(DIM, dtype=np.float32)
        v[0], v[1] = math.cos(angle), math.sin(angle)
        c.add(v, member(t, t))
    assert len(c.clusters) == 1  # followed the drift, no second cluster
    (cl,) = c.clusters.values()
    assert float(cl.centroid @ vec_at(math.cos(angle), 0, 1)) > 0.95  # the centre is where the intent is now
    # without decay the same drift leaves the first centroid behind and splits the stream
    slow = OnlineClusterer(cfg(half_life=1e9, base_threshold=0.8, min_members_adaptive=100))
    angle = 0.0
    for t in range(1, 101):
        angle += 0.02
        v = np.zeros(DIM, dtype=np.float32)
        v[0], v[1] = math.cos(angle), math.sin(angle)
        slow.add(v, member(t, t))
    assert len(slow.clusters) == 2  # the old centre stayed behind: the same intent now has two clusters


def test_decayed_clusters_are_forgotten_and_volume_counts_the_window() -> None:
    c = OnlineClusterer(cfg(half_life=2.0, min_weight=0.5))
    c.add(vec_at(1.0), member(0, 0.0, "a"))
    c.add(vec_at(1.0), member(1, 1.0, "a"))
    (cl,) = c.clusters.values()
    assert cl.volume(now=1.0, window=5) == 2 and cl.volume(now=5.5, window=5) == 1
    gone = c.decay_all(now=10.0)  # weight ~ (0.5**4.5 + 1) * 0.5**0.5... well under 0.5
    assert gone == [cl.cluster_id] and not c.clusters
    assert c.forgotten_labels == [{"a": 2}]
    c.add(vec_at(1.0), member(2, 10.0))
    c.decay_all(now=10.5)
    assert len(c.clusters) == 1  # weight 0.5**0.25 = 0.84 >= 0.5


def test_purity() -> None:
    assert purity([{"a": 9, "b": 1}, {"c": 10}]) == pytest.approx(0.95)
    assert purity([{}]) is None
