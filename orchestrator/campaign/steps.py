"""A campaign: the steps the round graph runs, each reading and writing files in the campaign folders.

Steps are idempotent (a finished step finds its artifact and returns), which is what lets the
LangGraph checkpointer re-run an interrupted node after kill -9 without redoing or duplicating work.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Literal

from evotrain.errors import EvotrainError
from evotrain.io import read_model, write_model
from evotrain.paths import CampaignPaths, CandidateRef
from evotrain.schemas.brief import Brief
from evotrain.schemas.manifest import FailureMode, Manifest
from evotrain.schemas.report import RoundReport
from llm.base import AgentBackend
from llm.factory import make_llm_backend
from orchestrator.audit.log import AuditLog, SubmissionPayload
from orchestrator.audit.policies import record_new_policies
from orchestrator.campaign import accounting, data_inputs, llm_spend
from orchestrator.campaign.faults import fault_point
from orchestrator.campaign.inputs import initial_axes_path
from orchestrator.campaign.summary import ALL_FAILED, write_summary
from orchestrator.collect.collector import collect_round
from orchestrator.collect.evidence import record_manifest, verify_round_manifests
from orchestrator.collect.narrative import LLMNarrativeWriter
from orchestrator.collect.tracking import track_round
from orchestrator.config import CampaignRecord, ForkRecord
from orchestrator.leaderboard.base import Leaderboard, LeaderboardScore
from orchestrator.meta import constitution, policy_store
from orchestrator.meta.agent import next_policy
from orchestrator.plan import explorable_axes, plan_round
from workers.agents.factory import make_agent
from workers.executors.base import Executor
from workers.executors.factory import make_executor
from workers.isolation import resolve_mode
from workers.judge import judge_dirs
from workers.loop import run_worker
from workers.sandbox import create_sandbox, fork_substrate
from workers.substrate_contract import load_spec
from workers.verified_checkout import verified_checkout

log = logging.getLogger("evotrain.campaign")


class _KillAfterSubmit:
    """Leaderboard proxy: a fault point right after a submission is recorded (crash-safety tests)."""

    def __init__(self, inner: Leaderboard, round_no: int) -> None:
        self.inner, self.round_no, self.name = inner, round_no, inner.name

    def submit(self, candidate: str, round_no: int, adapter_dir: Path) -> LeaderboardScore:
        score = self.inner.submit(candidate, round_no, adapter_dir)
        fault_point("collect", self.round_no)
        return score

    def remaining(self, round_no: int) -> int:
        return self.inner.remaining(round_no)

    def history(self) -> list[LeaderboardScore]:
        return self.inner.history()


class Campaign:
    def __init__(self, paths: CampaignPaths, record: CampaignRecord) -> None:
        self.paths = paths
        self.record = record
        self.config = record.config
        self.root = Path(record.workspace_root)
        self.substrate_dir = Path(record.substrate_dir)
        self._constitution = constitution.load(record.constitution.directory)
        self._executor: Executor | None = None
        self._board: Leaderboard | None = None
        self._isolation: Literal["bwrap", "none"] | None = None
        self._lock = threading.Lock()

    # --- shared resources, created lazily (one per orchestrator process) -----------------------
    @property
    def executor(self) -> Executor:
        with self._lock:
            if self._executor is None:
                options = dict(self.config.executor.options)
                if self.config.executor.kind == "local":  # the local executor's slots = parallel job limit
                    options.setdefault("total_slots", self.config.parallel_jobs * self.config.cpu_slots_per_job)
                self._executor = make_executor(self.config.executor.kind, self.paths.jobs, **options)
            return self._executor

    @property
    def board(self) -> Leaderboard:
        with self._lock:
            if self._board is None:
                from orchestrator.leaderboard.executor_eval import evaluation_for
                from orchestrator.leaderboard.factory import open_leaderboard

                checkout = self.judge_checkout()  # scores come from the recorded commit, verified each time
                self._board = open_leaderboard(self.config.leaderboard, self.paths, checkout,
                                               verify_substrate=self.judge_checkout,
                                               isolated=self.isolation == "bwrap", inputs=self.inputs(False),
                                               evaluation=evaluation_for(self.config, lambda: self.executor,
                                                                         checkout, self.isolation, self.inputs(False)))
            return self._board

    def inputs(self, worker_view: bool) -> dict[str, str]:
        """The substrate's user-given inputs: whole (the leaderboard) or the part workers may read."""
        checkout = self.judge_checkout()
        spec = load_spec(checkout)
        full = data_inputs.resolve_inputs(self.root, self.config, spec)
        if not worker_view:
            return {name: str(path) for name, path in full.items()}
        return data_inputs.worker_views(spec, checkout, full, self.paths.inputs, isolated=self.isolation == "bwrap")

    def judge_checkout(self) -> Path:
        """The read-only checkout of the forked substrate commit, re-verified by hash on every call."""
        repo = self.paths.substrate_repo
        return verified_checkout(repo, self.fork_ref.commit, judge_dirs(repo)[0])

    @property
    def isolation(self) -> Literal["bwrap", "none"]:
        """How workers' code runs: resolved once per process (an LLM worker never runs unconfined unasked)."""
        if self._isolation is None:
            llm = self.config.agents.worker.kind != "scripted"
            self._isolation = resolve_mode(self.config.isolation, llm_agent=llm,
                                           allow_unisolated=self.config.allow_unisolated)
        return self._isolation

    def _verify_constitution(self) -> None:
        constitution.verify(self.record.constitution)

    def _audit_submissions(self) -> None:
        """Append every leaderboard submission the audit log lacks (idempotent, so a crash between a
        submission and its audit entry is repaired on resume)."""
        audit = AuditLog(self.paths.audit_log)
        logged = {e.payload.submission_id for e in audit.entries() if isinstance(e.payload, SubmissionPayload)}
        for s in self.board.history():
            if s.submission_id not in logged:
                audit.append(SubmissionPayload(
                    candidate=s.candidate, round=s.round, backend=self.board.name, zip_path="(adapter folder)",
                    zip_sha256=s.adapter_sha256, zip_bytes=0, status="complete", submission_id=s.submission_id,
                    public=s.public, message="scored by the collector"))

    def _done(self) -> None:
        accounting.touch_session(self.paths)

    @property
    def fork_ref(self) -> ForkRecord:
        return read_model(self.paths.fork_record, ForkRecord)

    # --- graph steps -------------------------------------------------------------------------------
    def prepare(self) -> None:
        self._verify_constitution()
        fork_file = self.paths.fork_record
        if not fork_file.exists():
            ref = fork_substrate(self.substrate_dir, self.paths.substrate_repo)
            write_model(fork_file, ForkRecord(commit=ref.commit, tree=ref.tree))
        if not policy_store.policy_file(self.paths.policies, 1).exists():
            sub = load_spec(self.substrate_dir)  # the substrate names its recipe and axes files
            policy = policy_store.initial_policy(
                self.paths.campaign, self.substrate_dir / sub.recipe_file,
                initial_axes_path(self.root, self.config, self.substrate_dir, sub),
                self._constitution.rules,
                overrides=self.config.recipe_overrides, min_active=self.config.workers_per_round - 1,
            )
            policy_store.save(self.paths.policies, policy)
        record_new_policies(self.paths)
        log.info("prepared: substrate %s at %s", self.substrate_dir, self.fork_ref.commit[:12])
        self._done()

    def policy(self, round_no: int):
        return policy_store.load(policy_store.policy_file(self.paths.policies, round_no))

    def plan(self, round_no: int) -> list[str]:
        self._verify_constitution()
        policy = self.policy(round_no)
        briefs = plan_round(
            policy, self.paths, round_no, self.config.workers_per_round, self.config.seed,
            self.config.worker_budget, self.fork_ref.commit, self._constitution.rules.frozen_recipe_keys,
            worker_seeds=self.config.worker_seeds,
        )
        constitution.check_round_shape(len(briefs), sum(b.is_baseline for b in briefs), self._constitution.rules)
        views = self.inputs(True)  # jobs read only these copies, bound read-only
        briefs = [b.model_copy(update={"inputs": views}) for b in briefs]
        for b in briefs:
            path = self.paths.brief(round_no, b.worker_id)
            if not path.exists():
                write_model(path, b)
        log.info("round %d planned: %s", round_no, ", ".join(f"{b.worker_id}={b.axis_name}" for b in briefs))
        self._done()
        return [b.worker_id for b in briefs]

    def briefs(self, round_no: int) -> list[Brief]:
        return [read_model(p, Brief) for p in sorted((self.paths.round_state(round_no) / "briefs").glob("w*.json"))]

    def fork(self, round_no: int) -> None:
        ref = self.fork_ref
        self.judge_checkout()  # the recorded substrate commit is intact (hash-verified) before any fork
        for i, b in enumerate(self.briefs(round_no)):
            create_sandbox(self.paths.substrate_repo, ref.commit, Path(b.sandbox))
            if i == 0:
                fault_point("fork", round_no)
        self._done()

    def work(self, round_no: int, worker_id: str) -> None:
        brief = read_model(self.paths.brief(round_no, worker_id), Brief)
        manifest_path = self.paths.manifest(round_no, worker_id)
        if not manifest_path.exists():
            exhausted = accounting.exceeded(self.config.campaign_budget, accounting.usage(self.paths))
            if exhausted:
                write_model(manifest_path, _skipped_manifest(brief, exhausted))
            else:
                agent_cfg = self.config.agents.worker
                calls = llm_spend.recorder(self.paths, "worker", f"r{round_no:03d}/{worker_id}")
                agent = make_agent(agent_cfg.kind, agent_cfg, brief.budget, recorder=calls)
                m = run_worker(
                    brief, executor=self.executor, agent=agent, manifest_path=manifest_path,
                    trace_path=self.paths.trace(round_no, worker_id), repo_dir=self.paths.substrate_repo,
                    isolation=self.isolation,
                )
                log.info("r%03d %s (%s): %s dev=%s", round_no, worker_id, m.axis, m.status, m.dev_score)
        record_manifest(self.paths, round_no, worker_id)  # from here on, a change to the file is tampering
        self._done()

    def collect(self, round_no: int) -> None:
        self._verify_constitution()
        for problem in verify_round_manifests(self.paths, round_no):
            log.warning("r%03d evidence refused: %s", round_no, problem)
        board = _KillAfterSubmit(self.board, round_no)
        backend = self._llm("collector", round_no)
        narrator = LLMNarrativeWriter(backend) if backend is not None else None
        report = collect_round(self.paths, round_no, self.policy(round_no), board, self._constitution.rules,
                               narrator=narrator)
        self._audit_submissions()
        track_round(self.config.tracking, self.paths, report)  # MLflow, when configured
        c = report.calibration
        log.info("r%03d report: baseline lb=%s best lb=%s drift=%s", round_no, c.baseline_leaderboard,
                 c.best_leaderboard, c.drift_flag)
        self._done()

    def meta(self, round_no: int) -> None:
        fault_point("meta", round_no)
        report = read_model(self.paths.report(round_no), RoundReport)
        backend = self._llm("meta", round_no)
        result = next_policy(
            self.paths.policies, self.policy(round_no), report, self._constitution, backend=backend,
            record=self.record.constitution, workspace_root=self.root,
        )
        record_new_policies(self.paths)
        log.info("policy r%03d from %s (%d rejected): %s", round_no + 1, result.source, len(result.rejected),
                 result.policy.rationale)
        self._done()
        fault_point("between_rounds", round_no)

    def _llm(self, role: Literal["collector", "meta"], round_no: int) -> AgentBackend | None:
        """The role's LLM backend, spending from what is left of the campaign budget, or None if scripted."""
        cfg = self.config.agents.collector if role == "collector" else self.config.agents.meta
        if cfg.kind == "scripted":
            return None
        used = accounting.usage(self.paths)
        budget = llm_spend.remaining_budget(self.config.campaign_budget, used.tokens, used.dollars)
        return make_llm_backend(cfg, budget, recorder=llm_spend.recorder(self.paths, role, f"r{round_no:03d}"))

    def stop_reason(self, round_no: int) -> str | None:
        if self.paths.stop_request.exists():
            return "stop requested"
        failed = all_workers_failed(self.paths, round_no)
        if failed:  # a broken setup fails every worker alike: spending more rounds on it teaches nothing
            return failed
        if round_no >= self.config.rounds:
            return f"completed {self.config.rounds} rounds"
        used = accounting.usage(self.paths)
        exhausted = accounting.exceeded(self.config.campaign_budget, used)
        if exhausted:
            return exhausted
        round_used = accounting.round_usage(self.paths, round_no)
        exhausted = accounting.exceeded(self.config.round_budget, round_used)
        if exhausted is None and not explorable_axes(self.policy(round_no + 1)):  # no round could be planned
            return "search space exhausted: every axis is promoted, retired or a dead end in both directions"
        return exhausted

    def private_score(self, candidate: str) -> float | None:
        """Private-half score of `r002/w03`'s chosen adapter (asked for only at the end)."""
        ref = CandidateRef.parse(candidate, "candidate")
        m = read_model(self.paths.manifest(ref.round, ref.worker_id), Manifest)
        if m.chosen_adapter is None:
            return None
        return self.board.private(candidate, Path(m.chosen_adapter))

    def finish(self, round_no: int, reason: str) -> None:
        self._done()
        write_summary(self.paths, self.private_score, round_no, reason)
        log.info("campaign finished after round %d: %s", round_no, reason)


def _skipped_manifest(brief: Brief, reason: str) -> Manifest:
    return Manifest.failed_for_brief(brief, FailureMode.BUDGET_EXCEEDED, f"not started: {reason}",
                                     recipe=brief.standing_recipe)


def open_campaign(root: Path, name: str) -> Campaign:
    paths = CampaignPaths(root=root, campaign=name)
    if not paths.config.exists():
        raise EvotrainError(f"{paths.config}: no campaign named '{name}' (start one with `evotrain campaign start`)")
    return Campaign(paths, read_model(paths.config, CampaignRecord))


def all_workers_failed(paths: CampaignPaths, round_no: int) -> str | None:
    """'every worker of round N failed (w01: <first failure>)' when no manifest of the round is ok."""
    folder = paths.round_state(round_no) / "manifests"
    manifests = [read_model(f, Manifest) for f in sorted(folder.glob("*.json"))] if folder.is_dir() else []
    if not manifests or any(m.status == "ok" for m in manifests):
        return None
    first = manifests[0]
    why = next((f.message for f in first.failures if f.fatal), first.status)
    return f"{ALL_FAILED} {round_no} failed ({first.worker_id}: {why[:300]})"

