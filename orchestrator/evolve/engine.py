"""The evolve engine: route, answer, watch unserved traffic, birth specialists. Shared by
`evotrain evolve simulate` (births inline, deterministic) and `evotrain serve` (births in a
background thread while requests keep being answered).

Stream time: `simulate` uses each request's `t`; the server advances its clock by one per request,
so decay half-lives and birth windows are counted in requests there.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from pathlib import Path

from evotrain.errors import EvotrainError
from orchestrator.evolve import student
from orchestrator.evolve.birth import BirthContext, give_birth
from orchestrator.evolve.births_log import BirthsLog
from orchestrator.evolve.clustering import Cluster, Member, OnlineClusterer
from orchestrator.evolve.config import EvolveConfig
from orchestrator.evolve.embeddings import TextEmbedder, TimedEmbedder, make_embedder
from orchestrator.evolve.metrics import Metrics, Served
from orchestrator.evolve.registry import Registry
from orchestrator.evolve.reward import CalibrationStore
from orchestrator.evolve.router import Router
from orchestrator.evolve.schemas import GENERALIST, AgentRecord, BirthRecord, ClusterView, EvolveStatus
from orchestrator.evolve.substrate_bridge import AgentModel, load_minitask, parse_request

NOT_A_PUZZLE = "I can only answer the puzzle families of the embedded substrate."


class Engine:
    def __init__(self, cfg: EvolveConfig, embedder: TextEmbedder | None = None) -> None:
        self.cfg = cfg
        self.state = cfg.state_path()
        self.state.mkdir(parents=True, exist_ok=True)
        self.registry = Registry(self.state / "registry.sqlite")
        self.births = BirthsLog(self.state / "births.jsonl")
        self.mt = load_minitask(cfg.substrate_path())
        self.embedder = TimedEmbedder(embedder or make_embedder(
            cfg.embedding_engine, threads=cfg.embedding_threads, max_tokens=cfg.embedding_tokens,
            precision=cfg.embedding_precision))
        # centroids and thresholds in the registry hold this embedder's vectors: another model, input length
        # or precision would compare unlike vectors, so a state folder keeps the embedder it started with
        known = self.registry.get("embedder")
        if known and known != self.embedder.version:
            raise EvotrainError(f"{self.state}: its registry was built with embedder {known}, this config gives "
                                f"{self.embedder.version} (embedding_engine/tokens/precision); use a new state_dir")
        self.registry.set("embedder", self.embedder.version)
        self.router = Router(cfg.router, self.registry, self.embedder.dim)
        self.clusterer = OnlineClusterer(cfg.clustering)
        clusters, self.clusterer.next_id = self.registry.load_clusters()
        self.clusterer.clusters = {c.cluster_id: c for c in clusters}
        self.clock = float(self.registry.get("clock", "0"))
        self.metrics = Metrics(cfg.prices)
        self.models: dict[str, AgentModel] = {}
        self.generalist_adapter = student.ensure_generalist(
            cfg.substrate_path(), self.state, cfg.generalist_recipe, cfg.seed, cfg.threads
        )
        self.absorbed_labels: list[Counter[str]] = []
        self.last_birth_index = 0  # requests served before the latest registered birth
        self._lock = threading.RLock()
        self._birthing: set[int] = set()
        self._birth_threads: list[threading.Thread] = []

    # -- answering --------------------------------------------------------------------------------
    def _model(self, agent_id: str) -> AgentModel:
        with self._lock:
            return self._model_locked(agent_id)

    def _model_locked(self, agent_id: str) -> AgentModel:
        if agent_id not in self.models:
            if agent_id == GENERALIST:
                adapter = self.generalist_adapter
            else:
                adapter = Path(self.router.agents[agent_id].record.adapter)
            self.models[agent_id] = AgentModel(self.mt, adapter, threads=self.cfg.inference_threads)
        return self.models[agent_id]

    def _answer(self, agent_id: str, prompts: list[str]) -> list[str]:
        parsed = [parse_request(self.mt, p) for p in prompts]
        compact = [p.compact for p in parsed if p is not None]
        done = iter(self._model(agent_id).complete(compact)) if compact else iter(())
        return [next(done) if p is not None else NOT_A_PUZZLE for p in parsed]

    # -- one batch of requests --------------------------------------------------------------------
    def process(self, prompts: list[str], times: list[float] | None = None, ids: list[str] | None = None,
                labels: list[str] | None = None, answers: list[str] | None = None) -> list[Served]:
        """Route and answer a batch; unserved requests feed the clusters. Births are not started here."""
        n = len(prompts)
        vecs = self.embedder.embed(prompts)
        embed_s = self.embedder.seconds[-1] if self.embedder.seconds else 0.0
        with self._lock:
            if times is None:
                times = [self.clock + i + 1 for i in range(n)]
            ids = ids or [f"req-{int(t)}" for t in times]
            routes = self.router.route(vecs)
            for i, route in enumerate(routes):
                self.clock = max(self.clock, times[i])
                if route.agent_id is not None:
                    self.router.observe_served(route.agent_id, vecs[i])
                else:
                    member = Member(ids[i], times[i], prompts[i], labels[i] if labels else "")
                    self._absorb_or_keep(self.clusterer.add(vecs[i], member))
            self.registry.set("clock", repr(self.clock))
        by_agent: dict[str, list[int]] = {}
        for i, route in enumerate(routes):
            by_agent.setdefault(route.agent_id or GENERALIST, []).append(i)
        completions: dict[int, str] = {}
        for agent_id, idx in by_agent.items():
            for i, text in zip(idx, self._answer(agent_id, [prompts[i] for i in idx]), strict=True):
                completions[i] = text
        served = []
        for i, route in enumerate(routes):
            text = completions[i]
            extracted = self.mt.metric.extract_answer(text)
            correct = bool(self.mt.metric.is_correct(extracted, answers[i])) if answers and answers[i] else None
            s = Served(ids[i], route.agent_id or GENERALIST, route.similarity, text, extracted, correct,
                       len(prompts[i]) + len(text), embed_s + route.seconds)
            self.metrics.add(s, labels[i] if labels else "")
            served.append(s)
        return served

    def _absorb_or_keep(self, cluster: Cluster) -> None:
        """An unserved cluster close to a specialist is that specialist's drifting intent: absorb it."""
        agent_id, sim = self.router.closest_agent(cluster.centroid)
        if agent_id is not None and sim >= self.cfg.clustering.base_threshold:
            self.router.absorb(agent_id, cluster)
            self.clusterer.remove(cluster.cluster_id)
            self.absorbed_labels.append(cluster.labels)
            if cluster.n > 1:  # single requests just below a threshold are routine; log merges of real clusters
                self.births.append(BirthRecord(
                    birth_id=f"absorb-{cluster.cluster_id}", cluster_id=cluster.cluster_id, t=self.clock,
                    outcome="absorbed", agent_id=agent_id, cluster_size=cluster.n, cluster_labels=dict(cluster.labels),
                    message=f"cluster {cluster.cluster_id} merged into {agent_id} (cosine {sim:.3f})",
                ))

    # -- births -----------------------------------------------------------------------------------
    def birth_candidates(self) -> list[Cluster]:
        b = self.cfg.birth
        with self._lock:
            self.clusterer.decay_all(self.clock)
            self.registry.save_clusters(list(self.clusterer.clusters.values()), self.clusterer.next_id)
            return [
                c for c in self.clusterer.clusters.values()
                if c.cluster_id not in self._birthing and self.clock >= c.blocked_until
                and c.volume(self.clock, b.window) >= b.volume
            ]

    def birth(self, cluster: Cluster) -> BirthRecord:
        with self._lock:
            self._birthing.add(cluster.cluster_id)
            birth_id = f"b{len(self.births.entries()) + 1:03d}-c{cluster.cluster_id}"
            threshold = self.router.threshold_for(cluster, self.cfg.clustering.z)
            t = self.clock
        ctx = BirthContext(self.cfg, self.mt, self.embedder, CalibrationStore(self.registry), self.generalist_adapter,
                           self.state / "births")
        try:
            record, agent = give_birth(ctx, cluster, birth_id, t, threshold)
        finally:
            with self._lock:
                self._birthing.discard(cluster.cluster_id)
        with self._lock:
            self.births.append(record)
            if agent is not None:
                self._register(agent, cluster)
            elif cluster.cluster_id in self.clusterer.clusters:
                cluster.blocked_until = self.clock + self.cfg.birth.retry_after
            self.registry.save_clusters(list(self.clusterer.clusters.values()), self.clusterer.next_id)
        return record

    def _register(self, agent: AgentRecord, cluster: Cluster) -> None:
        live = self.clusterer.clusters.get(cluster.cluster_id)
        if live is not None:  # the cluster kept growing while its specialist trained: start from today's centre
            agent = agent.model_copy(update={"centroid": [float(x) for x in live.centroid]})
            self.clusterer.remove(cluster.cluster_id)
        self.router.add_agent(agent)
        self.last_birth_index = len(self.metrics.order)

    def run_births(self) -> list[BirthRecord]:
        """Inline births for every cluster over the volume threshold (simulate)."""
        return [self.birth(c) for c in self.birth_candidates()]

    def start_births(self) -> None:
        """Background births (serve): one thread per candidate, at most one training at a time."""
        for cluster in self.birth_candidates():
            with self._lock:
                self._birthing.add(cluster.cluster_id)
            thread = threading.Thread(target=self._birth_serialised, args=(cluster,), daemon=True)
            self._birth_threads.append(thread)
            thread.start()

    _train_lock = threading.Lock()

    def _birth_serialised(self, cluster: Cluster) -> None:
        with self._train_lock:
            self.birth(cluster)

    def wait_births(self, timeout: float | None = None) -> None:
        for thread in list(self._birth_threads):
            thread.join(timeout)

    # -- state ------------------------------------------------------------------------------------
    def save(self) -> None:
        with self._lock:
            self.router.persist()
            self.registry.save_clusters(list(self.clusterer.clusters.values()), self.clusterer.next_id)
            self.registry.set("clock", repr(self.clock))

    def close(self) -> None:
        self.save()
        self.registry.close()

    def all_cluster_labels(self) -> list[Counter[str]]:
        # a registered birth removed its cluster; a rejected one left it live (counted below)
        births = [Counter(r.cluster_labels) for r in self.births.records() if r.outcome == "registered"]
        live = [c.labels for c in self.clusterer.clusters.values()]
        return births + live + self.clusterer.forgotten_labels + self.absorbed_labels

    def status(self) -> EvolveStatus:
        b = self.cfg.birth
        return EvolveStatus(
            state_dir=str(self.state), agents=self.router.records(), births=len(self.births.entries()),
            generalist_adapter=str(self.generalist_adapter),
            clusters=[
                ClusterView(cluster_id=c.cluster_id, weight=round(c.weight, 3), size=c.n,
                            volume_in_window=c.volume(self.clock, b.window),
                            threshold=round(_threshold(self, c), 4), labels=dict(c.labels))
                for c in self.clusterer.clusters.values()
            ],
        )


def _threshold(engine: Engine, cluster: Cluster) -> float:
    from orchestrator.evolve.clustering import adaptive_threshold

    value = adaptive_threshold(cluster, engine.cfg.clustering)
    return value if math.isfinite(value) else 0.0

