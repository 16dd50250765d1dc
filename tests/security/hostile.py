"""Harness for the trust-boundary acceptance tests (issue #10): one real worker session per scenario.

A `World` is a real campaign workspace built through the campaign code paths (create_campaign →
prepare (fork of the canonical substrate) → plan → fork (worktree sandboxes) → the local leaderboard's
hidden split in campaigns/<c>/leaderboard/split/), with CANARY values in the secret-bearing environment
variables of the test process. `run_session` drives `workers.loop.run_worker` with the real
OpenAI-compatible backend (`make_agent("openai", ...)`) against the loopback fake server, which replays
a scripted list of tool calls exactly as a hostile LLM would send them.

Outside the workspace the world keeps what the attacker must never reach or what the judge of the
test needs: a pristine copy of the substrate (honest re-scoring), copies of the hidden split (to
recognise its bytes), and `outside/` (where payloads try to write).
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes.llm_servers import FakeOpenAIServer, FakeToolCall, RecordedRequest, Reply
from worker_support import tree_digest

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.paths import CampaignPaths
from evotrain.schemas.brief import Brief, WorkerBudget
from evotrain.schemas.manifest import Manifest
from evotrain.schemas.trace import TraceEvent
from llm.config import AgentConfig
from orchestrator.campaign.runner import create_campaign
from orchestrator.campaign.steps import Campaign, open_campaign
from orchestrator.config import AgentRoles, CampaignConfig, LeaderboardConfig
from workers.agents.factory import make_agent
from workers.executors.base import JobSpec, JobState, JobStatus
from workers.loop import run_worker
from workers.trace import read_trace

REPO = Path(__file__).resolve().parents[2]
CANARY_ENVS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HF_TOKEN", "KAGGLE_KEY")
CAMPAIGN = "sec"
WORKER = "w02"  # w01 is the round's baseline anchor; w02 is the (hostile) explorer
# a few steps and a small dev split: one training job takes seconds, not minutes
TINY_RECIPE: dict[str, Any] = {"max_steps": 3, "save_steps": [3], "num_train_examples": 32, "batch_size": 8,
                               "dev_items": 24}
SPLIT_ITEMS = 24
MODEL = "gpt-4.1-mini"


@dataclass
class World:
    tmp: Path
    root: Path  # the workspace (campaigns/ sandboxes/ policies/ reports/ + the canonical substrate)
    substrate: Path  # the canonical substrate the campaign was created from
    pristine: Path  # a copy outside the workspace, for honest re-scores
    outside: Path  # where payloads try to write (outside every sandbox)
    paths: CampaignPaths
    campaign: Campaign
    canaries: dict[str, str]
    marker: str
    substrate_digest: str
    server: FakeOpenAIServer  # the loopback "LLM" the campaign's worker agent is configured to call
    # a long-lived process started with the canaries in its environment, as the orchestrator itself is
    # (monkeypatch.setenv changes os.environ, not this process's /proc/<pid>/environ)
    key_holder: subprocess.Popen[bytes]
    hidden: list[Path] = field(default_factory=list)  # the live split files (what an attacker targets)
    hidden_copy: list[Path] = field(default_factory=list)  # byte copies taken at creation

    def brief(self, worker_id: str = WORKER) -> Brief:
        return read_model(self.paths.brief(1, worker_id), Brief)

    def sandbox(self, worker_id: str = WORKER) -> Path:
        return Path(self.brief(worker_id).sandbox)

    def manifest_path(self, worker_id: str = WORKER) -> Path:
        return self.paths.manifest(1, worker_id)

    def close(self) -> None:
        self.server.stop()
        self.key_holder.kill()
        self.key_holder.wait()
        shutil.rmtree(self.host_tmp_beacon(), ignore_errors=True)  # a payload may have escaped to /tmp

    def host_tmp_beacon(self) -> Path:
        return Path("/tmp") / f"{self.marker}-host"

    def outside_targets(self) -> list[str]:
        return [str(self.outside), str(self.host_tmp_beacon())]


def make_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, hidden: bool = True,
               budget: WorkerBudget | None = None) -> World:
    """A campaign workspace through the campaign code paths, with canary secrets in the environment."""
    marker = "EVOHOSTILE" + secrets.token_hex(6)
    canaries = {name: f"CANARY-{name}-{secrets.token_hex(20)}" for name in CANARY_ENVS}
    for name, value in canaries.items():
        monkeypatch.setenv(name, value)
    root = tmp_path / "ws"
    substrate = root / "substrate" / "default"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "substrate" / "default", substrate, ignore=ignore)
    shutil.copytree(REPO / "constitution", root / "constitution", ignore=ignore)
    pristine = tmp_path / "pristine"
    shutil.copytree(substrate, pristine)
    outside = tmp_path / "outside"
    outside.mkdir()
    server = FakeOpenAIServer([], api_key=canaries["OPENAI_API_KEY"]).start()
    key_holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)", "key-holder"],
                                  env={**os.environ, **canaries}, stdin=subprocess.DEVNULL)
    worker_agent = AgentConfig(kind="openai", model=MODEL, base_url=server.base_url, max_retries=0)
    cfg = CampaignConfig(
        name=CAMPAIGN, rounds=1, workers_per_round=2, parallel_jobs=1, agents=AgentRoles(worker=worker_agent),
        worker_budget=budget or WorkerBudget(max_turns=40, wall_clock_s=900, max_tokens=10**9, max_dollars=10**4,
                                             job_timeout_s=600),
        leaderboard=LeaderboardConfig(split_items=SPLIT_ITEMS), recipe_overrides=dict(TINY_RECIPE),
    )
    paths = create_campaign(root, cfg)
    campaign = open_campaign(root, CAMPAIGN)
    campaign.prepare()
    campaign.plan(1)
    campaign.fork(1)
    world = World(tmp=tmp_path, root=root, substrate=substrate, pristine=pristine, outside=outside, paths=paths,
                  campaign=campaign, canaries=canaries, marker=marker, substrate_digest=tree_digest(substrate),
                  server=server, key_holder=key_holder)
    if hidden:
        board = campaign.board
        _place_cached_split(board)
        board.ensure_split()  # type: ignore[attr-defined]  (the local leaderboard; a no-op once placed)
        world.hidden = [board.split_file(h) for h in ("public", "private")]  # type: ignore[attr-defined]
        copies = tmp_path / "hidden-copy"
        copies.mkdir()
        for path in world.hidden:
            world.hidden_copy.append(Path(shutil.copy2(path, copies / path.name)))
    return world


_SPLIT_CACHE: list[Path] = []


def _place_cached_split(board: Any) -> None:
    """The hidden split is generated once per test process (two subprocesses) and copied into each new
    world's leaderboard folder; `ensure_split` accepts it because the spec file matches."""
    split_dir = board.split_file("public").parent
    if not _SPLIT_CACHE:
        board.ensure_split()
        cache = Path(tempfile.mkdtemp(prefix="evotrain-sec-split-"))
        atexit.register(shutil.rmtree, cache, True)
        shutil.copytree(split_dir, cache / "split")
        _SPLIT_CACHE.append(cache / "split")
        return
    shutil.copytree(_SPLIT_CACHE[0], split_dir, dirs_exist_ok=True)


# ------------------------------------------------------------------ scripted sessions


def tool(name: str, **args: Any) -> Reply:
    return Reply.tool(name, args)


def turn(*calls: tuple[str, dict[str, Any]]) -> Reply:
    """Several tool calls in one assistant turn."""
    return Reply(tool_calls=[FakeToolCall(name, args) for name, args in calls])


def finish(rationale: str = "Hypothesis: nothing to see here.", **args: Any) -> Reply:
    return Reply.tool("finish", {"rationale": rationale, **args})


@dataclass
class Session:
    world: World
    worker_id: str
    manifest: Manifest
    manifest_bytes: bytes  # as written when run_worker returned (a later rewrite is a consequence)
    requests: list[RecordedRequest]
    ended_at: float
    server_url: str

    @property
    def sandbox(self) -> Path:
        return self.world.sandbox(self.worker_id)

    def trace(self) -> list[TraceEvent]:
        return read_trace(self.world.paths.trace(1, self.worker_id))

    def tool_results(self) -> list[str]:
        """Every tool result the agent saw: the tool messages of every request it sent."""
        seen: list[str] = []
        for req in self.requests:
            body = req.body if isinstance(req.body, dict) else {}
            for msg in body.get("messages", []) or []:
                content = msg.get("content") if isinstance(msg, dict) and msg.get("role") == "tool" else None
                if isinstance(content, str) and content not in seen:
                    seen.append(content)
        return seen

    def result_of(self, tool_name: str) -> list[str]:
        """Tool results of `tool_name`, from the trace (in call order)."""
        return [e.detail for e in self.trace() if e.kind in ("tool_result", "refusal") and e.tool == tool_name]

    def hostile_report(self, where: str) -> str:
        """What a payload recorded about itself (diagnostics for a failing test), if it could write it."""
        path = self.sandbox / "pipeline" / f"_report_{where}.json"
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else "(no report)"


def run_session(world: World, script: Callable[[str], list[Reply]], *, worker_id: str = WORKER,
                executor: Any = None) -> Session:
    """One worker session through the campaign's own `work` step (its isolation, its audit record):
    `script(llm_base_url)` gives the fake LLM's replies (payloads may target the URL).
    `executor` replaces the campaign's (the seam run_campaign offers tests)."""
    server = world.server
    server.script = list(script(server.base_url))
    if executor is not None:
        world.campaign._executor = executor
    world.campaign.work(1, worker_id)
    ended = time.time()
    path = world.manifest_path(worker_id)
    return Session(world=world, worker_id=worker_id, manifest=read_model(path, Manifest),
                   manifest_bytes=path.read_bytes(), requests=list(server.requests), ended_at=ended,
                   server_url=server.base_url)


def run_session_direct(world: World, script: Callable[[str], list[Reply]], *, worker_id: str = WORKER) -> Session:
    """The same session through `workers.loop.run_worker` called directly with an LLM agent and its
    defaults (as `evotrain worker run`, benchmarks or a new caller would), not the campaign step."""
    server = world.server
    server.script = list(script(server.base_url))
    brief = world.brief(worker_id)
    config = AgentConfig(kind="openai", model=MODEL, base_url=server.base_url, max_retries=0)
    agent = make_agent("openai", config, brief.budget)
    manifest = run_worker(brief, executor=world.campaign.executor, agent=agent,
                          manifest_path=world.manifest_path(worker_id), trace_path=world.paths.trace(1, worker_id),
                          repo_dir=world.paths.substrate_repo)
    path = world.manifest_path(worker_id)
    return Session(world=world, worker_id=worker_id, manifest=manifest, manifest_bytes=path.read_bytes(),
                   requests=list(server.requests), ended_at=time.time(), server_url=server.base_url)


def original(world: World, rel: str) -> str:
    return (world.substrate / rel).read_text(encoding="utf-8")


class RefusingExecutor:
    """An executor that refuses all work (the issue's "use the Kubernetes executor" idea): every
    submission raises; it records what it was asked to run."""

    name = "refusing"

    def __init__(self) -> None:
        self.submitted: list[JobSpec] = []
        self.submitted_recipes: list[tuple[str, dict[str, Any]]] = []  # (job id, the sandbox recipe at submit)

    def submit(self, spec: JobSpec) -> JobStatus:
        self.submitted.append(spec)
        recipe = Path(spec.cwd) / "recipe.yaml"
        try:
            values = yaml.safe_load(recipe.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            values = {}
        self.submitted_recipes.append((spec.job_id, values if isinstance(values, dict) else {}))
        raise EvotrainError(f"job {spec.job_id}: this executor refuses all work")

    def status(self, job_id: str) -> JobStatus:
        return JobStatus(job_id=job_id, state=JobState.FAILED, message="refused")

    def wait(self, job_id: str, poll_s: float = 1.0, timeout_s: float | None = None) -> JobStatus:
        return self.status(job_id)

    def logs(self, job_id: str, tail: int | None = 200) -> str:
        return ""

    def cancel(self, job_id: str) -> JobStatus:
        return self.status(job_id)

    def attach(self, job_id: str) -> JobStatus | None:
        return None
