"""Compute cost beside token dollars: GPU-seconds from the manifests times the config's `$/GPU-hour`."""

from __future__ import annotations

from collections import defaultdict

from evotrain.paths import CampaignPaths
from evotrain.schemas.common import Artifact
from orchestrator.campaign.view import load_manifests


class ComputeCost(Artifact):
    gpu_seconds: float = 0.0
    gpu_dollars: float = 0.0  # gpu_seconds / 3600 x gpu_hour_dollars
    token_dollars: float = 0.0


class CampaignComputeCost(Artifact):
    gpu_hour_dollars: float
    candidates: dict[str, ComputeCost]  # "r001/w02"
    rounds: dict[int, ComputeCost]
    campaign: ComputeCost


def _add(a: ComputeCost, gpu_s: float, tokens: float, rate: float) -> ComputeCost:
    gpu = a.gpu_seconds + gpu_s
    return ComputeCost(gpu_seconds=gpu, gpu_dollars=gpu / 3600.0 * rate, token_dollars=a.token_dollars + tokens)


def compute_costs(paths: CampaignPaths, gpu_hour_dollars: float) -> CampaignComputeCost:
    """Per candidate, per round and for the campaign, from every worker manifest written so far."""
    candidates: dict[str, ComputeCost] = {}
    rounds: dict[int, ComputeCost] = defaultdict(ComputeCost)
    total = ComputeCost()
    for m in load_manifests(paths):
        gpu, tokens = m.cost.gpu_seconds, m.cost.dollars
        candidates[f"r{m.round:03d}/{m.worker_id}"] = _add(ComputeCost(), gpu, tokens, gpu_hour_dollars)
        rounds[m.round] = _add(rounds[m.round], gpu, tokens, gpu_hour_dollars)
        total = _add(total, gpu, tokens, gpu_hour_dollars)
    return CampaignComputeCost(gpu_hour_dollars=gpu_hour_dollars, candidates=candidates, rounds=dict(rounds),
                               campaign=total)
