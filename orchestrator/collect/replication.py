"""Seed replicates from promotions, and the winner's curse.

Every worker of round r trains with round r's seed; the anchor of round r+1 trains with another. When
the meta agent promotes a candidate of round r, the standing recipe of round r+1 is that candidate's
recipe, so the next anchor is a second run of it with a new seed: a replicate pair. Anchors of an
unchanged recipe pair up the same way (noise.py). With one promotion per round a 3-round campaign has
two such pairs, so its noise band is measured rather than the constitution's prior.

The promoted run was chosen as the best of several noisy candidates, so its gain overstates the true
gain; the anchor's re-run, chosen by nobody, does not. Their difference is the winner's curse.
"""

from __future__ import annotations

from collections.abc import Callable

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.paths import CampaignPaths
from evotrain.schemas.manifest import Manifest
from evotrain.schemas.policy import Policy, Replicate
from evotrain.schemas.report import CandidateSummary, Replication, RoundReport
from orchestrator.collect.noise import recipe_sha256


def _gain(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def find_replication(
    paths: CampaignPaths, policy: Policy, anchor: CandidateSummary, previous_manifests: Callable[[], list[Manifest]],
) -> Replication | None:
    """The last round's promoted candidate(s) whose recipe this round's anchor re-runs, if any.

    A candidate counts only if its recipe equals the standing recipe key for key and it changed no
    code (code is not in the recipe hash, so a code change would not be re-run by the anchor).
    """
    prev_round = policy.round - 1
    if not any(p.round == prev_round for p in policy.promotions):
        return None
    report_file = paths.report(prev_round)
    if not report_file.is_file():
        return None
    try:
        prev = read_model(report_file, RoundReport)
    except EvotrainError:
        return None  # a damaged old report costs this round its replicate, not the round
    target = recipe_sha256(policy.standing_recipe)
    by_worker = {c.worker_id: c for c in prev.candidates}
    runs: list[CandidateSummary] = []
    for m in previous_manifests():  # read only when the last round promoted something
        c = by_worker.get(m.worker_id)
        if (c is None or c.is_baseline or c.status != "ok" or c.code_changes or not m.recipe
                or recipe_sha256(m.recipe) != target or c.leaderboard is None):
            continue
        runs.append(c)
    if not runs:
        return None
    winner = max(runs, key=lambda c: (c.leaderboard_gain or 0.0, c.worker_id))
    prev_cal = prev.calibration
    replicated = _gain(anchor.leaderboard, prev_cal.baseline_leaderboard)
    replicated_dev = _gain(anchor.dev, prev_cal.baseline_dev)
    return Replication(
        recipe_sha256=target, promoted_round=prev_round, promoted_worker=winner.worker_id,
        promoted=[Replicate(round=prev_round, recipe_sha256=target, dev=c.dev, leaderboard=c.leaderboard,
                            source="promoted", worker_id=c.worker_id) for c in sorted(runs, key=lambda c: c.worker_id)],
        promoted_gain=winner.leaderboard_gain, replicated_gain=replicated,
        winners_curse=_gain(winner.leaderboard_gain, replicated),
        promoted_dev_gain=winner.dev_gain, replicated_dev_gain=replicated_dev,
    )
