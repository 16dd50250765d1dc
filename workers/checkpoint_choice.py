"""Which checkpoint a worker reports, by objective.

raise_dev: the best overall dev score. proxy_aware: the best family-balanced (macro) mean, the
paper's reweighted checkpoint selection, so one easy family cannot carry a checkpoint. Ties go to
the earlier step (less training, same evidence).
"""

from __future__ import annotations

from evotrain.schemas.policy import Objective
from evotrain.schemas.results import CheckpointEval


def macro_mean(ckpt: CheckpointEval) -> float:
    values = list(ckpt.by_family.values())
    return sum(values) / len(values) if values else ckpt.overall


def choose_checkpoint(checkpoints: list[CheckpointEval], objective: Objective) -> CheckpointEval | None:
    if not checkpoints:
        return None
    if objective == "proxy_aware":
        return max(checkpoints, key=lambda c: (macro_mean(c), c.overall, -c.step))
    return max(checkpoints, key=lambda c: (c.overall, -c.step))
