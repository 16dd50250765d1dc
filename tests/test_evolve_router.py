"""Registry (SQLite) round trips, FAISS routing on both sides of a specialist's threshold, temporal
centroid updates, absorption of a drifting cluster, and the hash-chained births log."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("faiss")

from evotrain.errors import EvotrainError
from orchestrator.evolve.births_log import BirthsLog
from orchestrator.evolve.clustering import Cluster, Member
from orchestrator.evolve.config import RouterConfig
from orchestrator.evolve.registry import Registry
from orchestrator.evolve.router import Router
from orchestrator.evolve.schemas import AgentRecord, BirthRecord

DIM = 6


def at(cos: float, axis: int = 0, other: int = 1) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[axis], v[other] = cos, math.sqrt(max(0.0, 1 - cos * cos))
    return v


def agent(agent_id: str, axis: int, threshold: float = 0.8) -> AgentRecord:
    return AgentRecord(agent_id=agent_id, intent=agent_id, centroid=at(1.0, axis, (axis + 1) % DIM).tolist(),
                       threshold=threshold, adapter=f"/adapters/{agent_id}")


def test_routes_to_the_nearest_specialist_only_above_its_threshold(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "registry.sqlite")
    router = Router(RouterConfig(), reg, DIM)
    assert router.route(at(1.0)[None, :])[0].agent_id is None  # empty registry -> generalist
    router.add_agent(agent("a", 0))
    router.add_agent(agent("b", 2))
    routes = router.route(np.stack([at(0.81, 0, 3), at(0.79, 0, 3), at(0.95, 2, 4), at(1.0, 4, 5)]))
    assert [r.agent_id for r in routes] == ["a", None, "b", None]
    assert routes[0].similarity == pytest.approx(0.81, abs=1e-5)


def test_registry_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite"
    reg = Registry(path)
    router = Router(RouterConfig(), reg, DIM)
    router.add_agent(agent("a", 0, 0.77))
    c = Cluster(7, at(1.0, 3, 4) * 3, 3.0, 12.0, n=3, sim_sum=2.9, sim_sq=2.81,
                members=[Member("r1", 10.0, "p1", "x"), Member("r2", 12.0, "p2", "x")], labels=Counter(x=2))
    reg.save_clusters([c], next_id=8)
    reg.set("clock", "12.0")
    reg.close()
    again = Registry(path)
    (rec,) = again.agents()
    assert (rec.agent_id, rec.threshold, rec.adapter) == ("a", pytest.approx(0.77), "/adapters/a")
    clusters, next_id = again.load_clusters()
    assert next_id == 8 and clusters[0].cluster_id == 7 and clusters[0].labels == {"x": 2}
    assert [m.request_id for m in clusters[0].members] == ["r1", "r2"]
    assert np.allclose(clusters[0].centroid, at(1.0, 3, 4))
    assert Router(RouterConfig(), again, DIM).route(at(0.9)[None, :])[0].agent_id == "a"


def test_served_requests_pull_the_centroid_along(tmp_path: Path) -> None:
    router = Router(RouterConfig(centroid_half_life=10.0), Registry(tmp_path / "r.sqlite"), DIM)
    router.add_agent(agent("a", 0, 0.8))
    drifted = at(0.85, 0, 1)
    for _ in range(40):
        assert router.route(drifted[None, :])[0].agent_id == "a"
        router.observe_served("a", drifted)
    centre = router.records()[0]
    router.persist()
    moved = np.asarray(router.registry.agents()[0].centroid)
    assert float(moved @ drifted) > 0.97  # the centre followed the served requests
    assert centre.served == 40
    # a request 0.75 from the original centre (under its 0.8 threshold) is now served
    assert float(at(0.75, 0, 1) @ at(1.0)) < 0.8
    assert router.route(at(0.75, 0, 1)[None, :])[0].agent_id == "a"


def test_absorbing_a_drifted_cluster_widens_the_specialist(tmp_path: Path) -> None:
    router = Router(RouterConfig(threshold_floor=0.55), Registry(tmp_path / "r.sqlite"), DIM)
    router.add_agent(agent("a", 0, 0.85))
    drifted = at(0.78, 0, 1)
    assert router.route(drifted[None, :])[0].agent_id is None
    cluster = Cluster(3, drifted * 10, 10.0, 0.0, n=10, sim_sum=10.0, sim_sq=10.0)
    router.absorb("a", cluster)
    assert router.route(drifted[None, :])[0].agent_id == "a"
    assert router.registry.agents()[0].threshold < 0.85
    assert router.route(at(1.0, 3, 4)[None, :])[0].agent_id is None  # unrelated requests still go to the generalist


def test_births_log_chains_and_names_the_edited_line(tmp_path: Path) -> None:
    log = BirthsLog(tmp_path / "births.jsonl")
    for i in range(3):
        log.append(BirthRecord(birth_id=f"b{i}", cluster_id=i, t=float(i), outcome="registered", cluster_size=5))
    assert [r.birth_id for r in log.records()] == ["b0", "b1", "b2"]
    lines = log.path.read_text().splitlines()
    data = json.loads(lines[1])
    data["record"]["outcome"] = "rejected"
    lines[1] = json.dumps(data)
    log.path.write_text("\n".join(lines) + "\n")
    with pytest.raises(EvotrainError, match=r"births.jsonl:2: hash mismatch"):
        log.records()


def test_gate_needs_the_student_strictly_above_the_generalist_plus_margin() -> None:
    from orchestrator.evolve.birth import gate_passed

    assert gate_passed(0.30, 0.20, 0.05)
    assert not gate_passed(0.24, 0.20, 0.05)  # a gain under the margin
    assert not gate_passed(0.0, 0.0, 0.0)  # a tie is not a win
    assert not gate_passed(0.1, 0.2, 0.0)
