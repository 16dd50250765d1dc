"""Plan a round: policy → N briefs (one baseline anchor, the rest on distinct active axes).

Only the policy crosses rounds, so a brief is a pure function of (policy, config, round): re-planning
after a crash yields the same briefs.
"""

from __future__ import annotations

import math

from evotrain.paths import CampaignPaths, worker_dir_name
from evotrain.schemas.brief import Brief, WorkerBudget
from evotrain.schemas.common import get_path
from evotrain.schemas.policy import Axis, DeadEnd, FlatMove, Lead, Policy
from orchestrator.meta.derive import on_recipe
from workers.agents.scripted_search import as_number, as_recipe_value, same_value, step_values


def round_seed(campaign_seed: int, round_no: int) -> int:
    """All workers of a round share one training seed (paired comparison against the anchor);
    the anchor's seed changes from round to round, so anchors are seed replicates."""
    return campaign_seed * 1000 + round_no


def worker_seed(campaign_seed: int, round_no: int, worker_index: int, mode: str = "paired") -> int:
    """paired: the round's seed for everyone. per_worker: explorer k (index >= 2) adds 100_000 * (k - 1)
    (even, so a choice axis' seed offset is unchanged); the anchor (index 1) keeps
    the round's seed, so anchors stay replicates across rounds and never collide with an explorer."""
    base = round_seed(campaign_seed, round_no)
    return base if mode == "paired" or worker_index <= 1 else base + 100_000 * (worker_index - 1)


def fully_blocked(axis: Axis, dead_ends: list[DeadEnd]) -> bool:
    """An axis whose every direction is registered as a dead end has nothing left to try."""
    directions = {d.direction for d in dead_ends if d.key == axis.key}
    if axis.range.kind == "choice":
        dead_values = {d.value for d in dead_ends if d.key == axis.key and d.direction == "set"}
        return bool(axis.range.choices) and all(c in dead_values for c in axis.range.choices)
    return {"increase", "decrease"} <= directions


def explorable_axes(policy: Policy) -> list[Axis]:
    return [a for a in policy.active_axes() if not fully_blocked(a, policy.dead_ends)]


def _momentum_axes(policy: Policy, axes: list[Axis], round_no: int) -> list[Axis]:
    """Numeric axes the previous round promoted whose next step the way it paid still fits the range.

    Issue #13's efficiency bench: the campaign promoted max_steps 100 -> 200 and its next round went
    to other axes by rotation, while a one-factor-at-a-time grid reached 400 directly and won. A step
    that paid is the best lead a researcher has, so it is followed up first."""
    out: list[Axis] = []
    for axis in axes:
        promoted = [p for p in policy.promotions if p.round == round_no - 1 and p.key == axis.key]
        if axis.range.kind == "choice" or not promoted:
            continue
        old, new = as_number(promoted[-1].old), as_number(promoted[-1].new)
        if old is None or new is None or math.isclose(old, new):
            continue
        edge = float(axis.range.high if new > old else axis.range.low)  # type: ignore[arg-type]
        if not math.isclose(new, edge, rel_tol=1e-6, abs_tol=1e-12):  # at the edge: no step left that way
            out.append(axis)
    return out


def open_leads(policy: Policy, axis: Axis, round_no: int) -> list[Lead]:
    """Last round's eligible changes of this axis' key that were not promoted (another change won) and
    that the standing recipe does not already hold; none on an axis the last round promoted (momentum
    follows that one up)."""
    if any(p.round == round_no - 1 and p.key == axis.key for p in policy.promotions):
        return []
    standing = get_path(policy.standing_recipe, axis.key)
    return [lead for lead in policy.leads
            if lead.round == round_no - 1 and lead.key == axis.key and not same_value(lead.new, standing)]


def flat_moves_of(policy: Policy, axis: Axis) -> list[FlatMove]:
    """No-signal moves of this axis' key measured on the standing recipe the round will run."""
    return [m for m in on_recipe(policy.flat_moves, policy.standing_recipe) if m.key == axis.key]


def assign_axes(policy: Policy, n_explorers: int, round_no: int) -> list[Axis]:
    """Distinct active axes while they last, rotating the starting point each round so that a policy
    with more axes than workers covers all of them over rounds; surplus workers revisit axes (their
    seeds differ, so the scripted agent steps the other way). First come the axes with a lead from the
    previous round: the one it promoted (its worker gets the promotion in its brief and keeps stepping
    that way), then those with an unpromoted eligible change, best first (re-tested on top of the
    promotion: stack-and-calibrate). The rotation of the others is unchanged."""
    axes = explorable_axes(policy)
    if not axes:
        return []
    start = ((round_no - 1) * n_explorers) % len(axes)
    rotated = axes[start:] + axes[:start]
    best_lead = {a.name: max((x.leaderboard_gain for x in open_leads(policy, a, round_no)), default=None)
                 for a in axes}
    stacking = sorted((a for a in axes if best_lead[a.name] is not None), key=lambda a: -best_lead[a.name])
    first = _momentum_axes(policy, axes, round_no)
    first += [a for a in stacking if a not in first]
    ordered = first + [a for a in rotated if a not in first]
    chosen = ordered[:n_explorers]
    # Surplus explorers revisit axes that still have a move no earlier visit takes (issue #13, eleventh
    # session: two workers ran trace_style's one other choice, a third had no legal move left).
    while len(chosen) < n_explorers:
        roomy = [a for a in ordered if chosen.count(a) < _room(a, policy)]
        chosen.append(min(roomy or ordered, key=lambda a: (chosen.count(a), ordered.index(a))))
    return chosen


def _room(axis: Axis, policy: Policy) -> int:
    """How many workers can visit this axis in one round without repeating a move: a choice axis has
    its unblocked other choices, a numeric one the values a full or half step either way reaches
    (train_difficulty 0 in 0..2: just 1; a key the recipe lacks: its start value)."""
    current = get_path(policy.standing_recipe, axis.key)
    r = axis.range
    if r.kind == "choice":
        dead = [d.value for d in policy.dead_ends if d.key == axis.key and d.direction == "set"]
        return sum(1 for c in r.choices or []
                   if not same_value(as_recipe_value(c, current), current) and c not in dead)
    x = as_number(current)
    return 1 if x is None else len(step_values(axis, x))


def plan_round(
    policy: Policy,
    paths: CampaignPaths,
    round_no: int,
    workers_per_round: int,
    campaign_seed: int,
    budget: WorkerBudget,
    substrate_commit: str,
    frozen_recipe_keys: list[str] | None = None,
    worker_seeds: str = "paired",
) -> list[Brief]:
    explorers = assign_axes(policy, workers_per_round - 1, round_no)
    briefs: list[Brief] = []
    visits: dict[str, int] = {}
    for index in range(1, workers_per_round + 1):
        worker_id = worker_dir_name(index)
        axis = None if index == 1 or not explorers else explorers[index - 2]
        concerning = [d for d in policy.dead_ends if axis is not None and d.key == axis.key]
        # a second worker on the same axis is told its visit (the scripted search then steps the other
        # way) and gets another seed (another choice offset, another training seed)
        visit = visits.get(axis.name, 0) if axis else 0
        if axis:
            visits[axis.name] = visit + 1
        briefs.append(
            Brief(
                campaign=paths.campaign,
                round=round_no,
                worker_id=worker_id,
                seed=worker_seed(campaign_seed, round_no, index, worker_seeds) + visit,
                axis=axis,
                objective=policy.objective,
                standing_recipe=policy.standing_recipe,
                rules=list(policy.rules),
                dead_ends=concerning,
                promotions=[p for p in policy.promotions if axis is not None and p.key == axis.key],
                leads=open_leads(policy, axis, round_no) if axis is not None and visit == 0 else [],
                flat_moves=flat_moves_of(policy, axis) if axis is not None else [],
                axis_visit=visit,
                budget=budget,
                sandbox=str(paths.sandbox(round_no, worker_id).resolve()),
                substrate_commit=substrate_commit,
                frozen_recipe_keys=list(frozen_recipe_keys or []),
            )
        )
    return briefs
