"""Compute cost beside token dollars: GPU-seconds times the config's `$/GPU-hour`.

GPU-seconds come from the worker manifests (each job's run time x its GPUs; queueing is free) and
from the leaderboard's evaluation jobs when scoring runs on the executor (executor_eval.py; job ids
`<campaign>-lb-...`, read from the job table). The evaluations count for their round and the campaign,
not for a candidate.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.paths import CampaignPaths
from evotrain.schemas.common import Artifact
from workers.executors.job_files import list_jobs

EVAL_JOB_MARK = "-lb-"  # in every leaderboard evaluation job id (orchestrator/leaderboard/executor_eval.py)


class ComputeCost(Artifact):
    gpu_seconds: float = 0.0  # candidates' jobs + leaderboard evaluation jobs
    gpu_dollars: float = 0.0  # gpu_seconds / 3600 x gpu_hour_dollars
    token_dollars: float = 0.0
    evaluation_gpu_seconds: float = 0.0  # the part of gpu_seconds spent scoring on the leaderboard

    @property
    def dollars(self) -> float:
        return self.gpu_dollars + self.token_dollars


class CampaignComputeCost(Artifact):
    gpu_hour_dollars: float
    candidates: dict[str, ComputeCost]  # "r001/w02"
    rounds: dict[int, ComputeCost]
    campaign: ComputeCost


def _add(a: ComputeCost, gpu_s: float, tokens: float, rate: float, evaluation_s: float = 0.0) -> ComputeCost:
    gpu = a.gpu_seconds + gpu_s + evaluation_s
    return ComputeCost(gpu_seconds=gpu, gpu_dollars=gpu / 3600.0 * rate, token_dollars=a.token_dollars + tokens,
                       evaluation_gpu_seconds=a.evaluation_gpu_seconds + evaluation_s)


def evaluation_gpu_seconds(paths: CampaignPaths) -> dict[int, float]:
    """Run time x GPUs of every finished leaderboard evaluation job, per round (its `round` label)."""
    out: dict[int, float] = defaultdict(float)
    for files in list_jobs(paths.jobs):
        if EVAL_JOB_MARK not in files.dir.name or not files.status.is_file():
            continue
        with contextlib.suppress(EvotrainError, ValueError, OSError):  # a job being written right now
            spec, status = files.read_spec(), files.read_status()
            if spec.gpus and status.state.finished:
                out[int(spec.labels.get("round", "0"))] += status.cpu_seconds_wall * spec.gpus
    return dict(out)


def gpu_hour_rate(paths: CampaignPaths) -> float:
    """The campaign's `gpu_hour_dollars` from campaign.json (0 when there is none yet)."""
    from orchestrator.config import CampaignRecord

    if not paths.config.is_file():
        return 0.0
    return read_model(paths.config, CampaignRecord).config.gpu_hour_dollars


def round_and_campaign_costs(paths: CampaignPaths, gpu_hour_dollars: float) -> tuple[dict[int, ComputeCost],
                                                                                         ComputeCost]:
    """Per round and for the campaign, from the cached manifest costs (cheap enough for a live status)."""
    from orchestrator.campaign.accounting import manifest_costs

    rounds: dict[int, ComputeCost] = defaultdict(ComputeCost)
    for m in manifest_costs(paths):
        rounds[m.round] = _add(rounds[m.round], m.cost.gpu_seconds, m.cost.dollars, gpu_hour_dollars)
    for r, seconds in evaluation_gpu_seconds(paths).items():
        rounds[r] = _add(rounds[r], 0.0, 0.0, gpu_hour_dollars, evaluation_s=seconds)
    total = ComputeCost()
    for c in rounds.values():
        total = _add(total, c.gpu_seconds - c.evaluation_gpu_seconds, c.token_dollars, gpu_hour_dollars,
                     evaluation_s=c.evaluation_gpu_seconds)
    return dict(rounds), total


def compute_costs(paths: CampaignPaths, gpu_hour_dollars: float) -> CampaignComputeCost:
    """Per candidate, per round and for the campaign, from every worker manifest written so far."""
    from orchestrator.campaign.view import load_manifests

    candidates = {f"r{m.round:03d}/{m.worker_id}": _add(ComputeCost(), m.cost.gpu_seconds, m.cost.dollars,
                                                         gpu_hour_dollars) for m in load_manifests(paths)}
    rounds, total = round_and_campaign_costs(paths, gpu_hour_dollars)
    return CampaignComputeCost(gpu_hour_dollars=gpu_hour_dollars, candidates=candidates, rounds=rounds,
                               campaign=total)
