"""Campaign status from disk alone: works while a campaign runs, after it crashed, or when done."""

from __future__ import annotations

import json
import time
from pathlib import Path

from pydantic import Field

from evotrain.paths import CampaignPaths
from evotrain.schemas.common import Artifact
from evotrain.schemas.manifest import Manifest
from evotrain.schemas.trace import TraceEvent
from llm.base import Usage
from orchestrator.campaign.accounting import UsageTotals, usage
from orchestrator.campaign.compute_cost import ComputeCost, gpu_hour_rate, round_and_campaign_costs
from orchestrator.campaign.llm_spend import role_spend
from orchestrator.campaign.lock import lock_holder


class WorkerStatus(Artifact):
    worker_id: str
    axis: str
    state: str  # planned | working | job running | done | failed | tampered
    detail: str = ""
    dev: float | None = None
    job_elapsed_s: float | None = None


class CampaignStatus(Artifact):
    campaign: str
    round: int
    rounds: int
    running: bool
    holder: str | None = None
    finished: bool = False
    stop_reason: str = ""
    workers: list[WorkerStatus] = Field(default_factory=list)
    usage: UsageTotals
    best_leaderboard: float | None = None
    best_candidate: str | None = None
    llm_spend: dict[str, Usage] = Field(default_factory=dict)  # role (worker, collector, meta) -> LLM usage
    # compute cost beside token dollars: GPU-seconds x the config's $/GPU-hour (compute_cost.py)
    gpu_hour_dollars: float = 0.0
    compute: ComputeCost = Field(default_factory=ComputeCost)  # the campaign so far
    round_compute: ComputeCost = Field(default_factory=ComputeCost)  # the current round so far


def _last_event(trace: Path) -> TraceEvent | None:
    if not trace.exists():
        return None
    lines = trace.read_text().splitlines()
    for line in reversed(lines):
        try:
            return TraceEvent.model_validate_json(line)
        except ValueError:
            continue  # a torn last line after kill -9
    return None


def current_round(paths: CampaignPaths) -> int:
    rounds = sorted(paths.rounds.glob("r[0-9][0-9][0-9]"))
    return int(rounds[-1].name[1:]) if rounds else 0


def worker_statuses(paths: CampaignPaths, round_no: int) -> list[WorkerStatus]:
    out: list[WorkerStatus] = []
    for brief_path in sorted((paths.round_state(round_no) / "briefs").glob("w*.json")):
        wid = brief_path.stem
        brief = json.loads(brief_path.read_text())
        axis = (brief.get("axis") or {}).get("name", "baseline")
        mpath = paths.manifest(round_no, wid)
        if mpath.exists():
            m = Manifest.model_validate_json(mpath.read_text())
            state = "done" if m.status == "ok" else m.status
            detail = ", ".join(f.mode.value for f in m.failures) or f"chose step {m.chosen_step}"
            out.append(WorkerStatus(worker_id=wid, axis=axis, state=state, detail=detail, dev=m.dev_score))
            continue
        ev = _last_event(paths.trace(round_no, wid))
        if ev is None:
            out.append(WorkerStatus(worker_id=wid, axis=axis, state="planned"))
            continue
        job_elapsed = None
        state = "working"
        if ev.kind == "job_state" and "running" in ev.detail:
            state = "job running"
            job_elapsed = time.time() - ev.ts
        detail = f"{ev.kind}:{ev.tool or ''} {ev.detail}".strip()[:60]
        out.append(WorkerStatus(worker_id=wid, axis=axis, state=state, detail=detail, job_elapsed_s=job_elapsed))
    return out


def campaign_status(paths: CampaignPaths, rounds: int) -> CampaignStatus:
    rnd = current_round(paths)
    summary_path = paths.summary
    finished = summary_path.exists()
    stop_reason = json.loads(summary_path.read_text()).get("stop_reason", "") if finished else ""
    best, best_c = None, None
    for rec_path in paths.leaderboard.glob("*submissions.jsonl"):
        for line in rec_path.read_text().splitlines():
            rec = json.loads(line)
            if "public" in rec and (best is None or rec["public"] > best):
                best, best_c = rec["public"], rec.get("candidate")
    holder = lock_holder(paths.lock)
    rate = gpu_hour_rate(paths)
    per_round, compute = round_and_campaign_costs(paths, rate)
    return CampaignStatus(
        campaign=paths.campaign, round=rnd, rounds=rounds, running=holder is not None, holder=holder,
        finished=finished, stop_reason=stop_reason, workers=worker_statuses(paths, rnd) if rnd else [],
        usage=usage(paths), best_leaderboard=best, best_candidate=best_c, llm_spend=role_spend(paths),
        gpu_hour_dollars=rate, compute=compute, round_compute=per_round.get(rnd, ComputeCost()),
    )
