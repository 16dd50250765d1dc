"""Budget use and orchestration overhead, computed from what is on disk (so it survives restarts).

Overhead = orchestrator wall time during which no training or evaluation job was running: the time
spent planning, forking, running agents, collecting and deciding. Job intervals come from the
executor's job table and the leaderboard's evaluation records.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from evotrain.io import atomic_write_text
from evotrain.paths import JUDGE_INTERVAL, CampaignPaths
from evotrain.schemas.common import Artifact
from evotrain.schemas.manifest import Cost, Manifest
from orchestrator.campaign.llm_spend import non_worker_usage
from orchestrator.config import Limits
from orchestrator.leaderboard.base import LeaderboardScore
from workers.executors.job_files import JobTable

Interval = tuple[float, float]


class Session(Artifact):
    started_at: float
    last_seen: float


class Sessions(Artifact):
    sessions: list[Session] = Field(default_factory=list)

    @property
    def wall_s(self) -> float:
        return sum(s.last_seen - s.started_at for s in self.sessions)


class UsageTotals(Artifact):
    tokens: int = 0
    dollars: float = 0.0
    compute_s: float = 0.0
    wall_clock_s: float = 0.0


def _sessions_path(paths: CampaignPaths) -> Path:
    return paths.sessions


def load_sessions(paths: CampaignPaths) -> Sessions:
    p = _sessions_path(paths)
    return Sessions.model_validate_json(p.read_text()) if p.exists() else Sessions()


def begin_session(paths: CampaignPaths) -> None:
    s = load_sessions(paths)
    now = time.time()
    s.sessions.append(Session(started_at=now, last_seen=now))
    atomic_write_text(_sessions_path(paths), s.model_dump_json(indent=1))


def touch_session(paths: CampaignPaths) -> None:
    """Called after every node: the wall clock of a session that dies counts up to its last node."""
    s = load_sessions(paths)
    if s.sessions:
        s.sessions[-1].last_seen = time.time()
        atomic_write_text(_sessions_path(paths), s.model_dump_json(indent=1))


def all_manifests(paths: CampaignPaths) -> list[Manifest]:
    out = []
    for p in sorted(paths.rounds.glob("r*/manifests/*.json")):
        out.append(Manifest.model_validate_json(p.read_text()))
    return out


class ManifestCost(BaseModel):
    """The manifest fields budgets read; the rest (diffs, checkpoints, rationale) is skipped unparsed."""

    model_config = ConfigDict(extra="ignore")
    round: int
    cost: Cost = Field(default_factory=Cost)
    wall_time_s: float = 0.0


# Manifests are written once, atomically: parse each one once per process, not on every budget check.
# Every worker checks the campaign budget before it starts, so re-reading all manifests there made a
# campaign's accounting O(candidates²) (docs/BENCHMARKS.md, issue #17). Keyed by (mtime_ns, size).
_COSTS: dict[str, tuple[tuple[int, int], ManifestCost]] = {}
_COSTS_LOCK = threading.Lock()


def _manifest_files(paths: CampaignPaths, round_no: int | None) -> list[os.DirEntry[str]]:
    """The manifest files of one round or all (os.scandir: pathlib's glob + sort cost ~25x more here)."""
    rounds = [paths.round_state(round_no)] if round_no is not None else (
        [Path(e.path) for e in os.scandir(paths.rounds) if e.is_dir()] if paths.rounds.is_dir() else [])
    out: list[os.DirEntry[str]] = []
    for folder in rounds:
        manifests = folder / "manifests"
        if manifests.is_dir():
            out += [e for e in os.scandir(manifests) if e.name.endswith(".json") and not e.name.startswith(".")]
    return out


def manifest_costs(paths: CampaignPaths, round_no: int | None = None) -> list[ManifestCost]:
    out: list[ManifestCost] = []
    for entry in _manifest_files(paths, round_no):
        st = entry.stat()
        key = (st.st_mtime_ns, st.st_size)
        with _COSTS_LOCK:
            hit = _COSTS.get(entry.path)
        if hit is None or hit[0] != key:
            hit = (key, ManifestCost.model_validate_json(Path(entry.path).read_bytes()))
            with _COSTS_LOCK:
                _COSTS[entry.path] = hit
        out.append(hit[1])
    return out


def _totals(ms: list[ManifestCost], wall_s: float) -> UsageTotals:
    return UsageTotals(
        tokens=sum(m.cost.input_tokens + m.cost.output_tokens for m in ms),
        dollars=sum(m.cost.dollars for m in ms),
        compute_s=sum(m.cost.cpu_seconds + m.cost.gpu_seconds for m in ms),
        wall_clock_s=wall_s,
    )


def usage(paths: CampaignPaths) -> UsageTotals:
    """Workers (manifests) + the collector's and meta agent's LLM calls (call log)."""
    totals = _totals(manifest_costs(paths), load_sessions(paths).wall_s)
    other = non_worker_usage(paths)
    return totals.model_copy(update={"tokens": totals.tokens + other.input_tokens + other.output_tokens,
                                     "dollars": totals.dollars + other.dollars})


def round_usage(paths: CampaignPaths, round_no: int) -> UsageTotals:
    """One round's tokens, dollars and compute (its wall clock is the sum of its workers' wall times)."""
    ms = manifest_costs(paths, round_no)
    return _totals(ms, max((m.wall_time_s for m in ms), default=0.0))


def exceeded(limits: Limits, used: UsageTotals) -> str | None:
    """Name the first exhausted budget, or None."""
    checks = [
        ("tokens", limits.tokens, used.tokens),
        ("dollars", limits.dollars, used.dollars),
        ("compute_s", limits.compute_s, used.compute_s),
        ("wall_clock_s", limits.wall_clock_s, used.wall_clock_s),
    ]
    for name, limit, value in checks:
        if limit is not None and value >= limit:
            return f"campaign budget '{name}' exhausted ({value:.1f} >= {limit})"
    return None


def job_intervals(paths: CampaignPaths) -> list[Interval]:
    spans: list[Interval] = []
    for st in JobTable(paths.jobs).statuses() if paths.jobs.is_dir() else []:
        if st.started_at is not None and st.ended_at is not None:
            spans.append((st.started_at, st.ended_at))
    for p in paths.leaderboard.glob("*submissions.jsonl"):
        for line in p.read_text().splitlines():
            if line.strip():
                rec = LeaderboardScore.model_validate_json(line)
                spans.append((rec.submitted_at - rec.eval_seconds, rec.submitted_at))
    for p in (paths.judge / "reports").glob(f"*/{JUDGE_INTERVAL}"):  # the frozen judge scoring dev
        with contextlib.suppress(ValueError, KeyError, OSError):
            rec = json.loads(p.read_text())
            spans.append((float(rec["started"]), float(rec["ended"])))
    private = paths.private_scores  # end-of-campaign private-half evaluations
    if private.exists():
        for line in private.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                spans.append((float(rec["eval_started_at"]), float(rec["eval_ended_at"])))
    return spans


def union_length(spans: list[Interval], within: list[Interval]) -> float:
    """Length of (union of spans) ∩ (union of within)."""
    total = 0.0
    for lo, hi in within:
        clipped = sorted((max(a, lo), min(b, hi)) for a, b in spans if b > lo and a < hi)
        cur_a, cur_b = None, None
        for a, b in clipped:
            if cur_b is None or a > cur_b:
                if cur_b is not None and cur_a is not None:
                    total += cur_b - cur_a
                cur_a, cur_b = a, b
            else:
                cur_b = max(cur_b, b)
        if cur_a is not None and cur_b is not None:
            total += cur_b - cur_a
    return total


class Overhead(Artifact):
    wall_s: float
    in_jobs_s: float
    overhead_s: float
    overhead_fraction: float


def overhead(paths: CampaignPaths) -> Overhead:
    sessions = [(s.started_at, s.last_seen) for s in load_sessions(paths).sessions]
    wall = sum(b - a for a, b in sessions)
    busy = union_length(job_intervals(paths), sessions)
    over = max(0.0, wall - busy)
    fraction = over / wall if wall else 0.0
    return Overhead(wall_s=wall, in_jobs_s=busy, overhead_s=over, overhead_fraction=fraction)
