"""Policy fields that code computes from the report; the meta agent may not choose them.

Both the scripted meta agent and the constitution's `enforce` call `derive`, so an LLM proposal is
checked against exactly the values the scripted agent would have written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evotrain.schemas.common import RecipeValue, RecipeValues
from evotrain.schemas.constitution import ConstitutionRules
from evotrain.schemas.policy import Axis, FlatMove, Lead, NoiseRule, Policy, Replicate, RoundPoint
from evotrain.schemas.report import Calibration, CandidateSummary, RoundReport
from orchestrator.collect.noise import next_noise_rule, recipe_sha256
from workers.agents.scripted_search import as_number, as_recipe_value, same_value


@dataclass(frozen=True)
class Derived:
    history: list[RoundPoint]
    noise: NoiseRule
    plateau_count: int  # including this round; reset to 0 by the rotation it triggers
    rotation_due: bool
    rotation_possible: bool  # another category still has dormant axes
    leads: list[Lead]  # this round's changes beyond one sd of a difference (lead_candidates), best first
    flat_moves: list[FlatMove]  # no-signal one-key moves on this round's recipe; keep on_recipe(new recipe)


def clearing_band(c: CandidateSummary, cal: Calibration) -> float:
    """The leaderboard gain a candidate must beat to be promoted.

    A fresh explorer is the best of the round's `compared`, so it clears the widened decision band.
    A re-test of last round's lead (`lead_retest`) is a confirmation named in advance, one
    comparison, so it clears the one-comparison noise band: a lead already beat its anchor once, and
    demanding the best-of-k band twice left real gains unpromoted (issue #13, eleventh session:
    max_steps 200 -> 400 measured +0.077, +0.060 and +0.063 against bands of 0.055-0.065)."""
    return cal.noise_band if c.lead_retest else cal.promotion_band


def _promotable(old: Policy, report: RoundReport, band: Callable[[CandidateSummary], float]
                ) -> list[CandidateSummary]:
    cal = report.calibration
    found = [
        c for c in report.candidates
        if not c.is_baseline and c.leaderboard_gain is not None and c.leaderboard_gain > band(c)
        and c.changes and c.worker_id != cal.drift_worker and c.failure is None
        and not any(d.key == k.key for k in c.changes for d in old.dead_ends)
        and all(on_an_axis(old.axes, k.key, k.new) for k in c.changes)
    ]
    return sorted(found, key=lambda c: (c.leaderboard_gain, c.worker_id), reverse=True)


def eligible(old: Policy, report: RoundReport) -> list[CandidateSummary]:
    """Candidates the constitution allows promoting, best leaderboard gain first: beat the anchor on
    the leaderboard beyond their band (`clearing_band`), changed something, ran clean, did not inflate
    dev alone, touch no key of the dead-end registry, and changed only to values some axis could propose
    (the researcher's ranges bound the search: an LLM worker's max_steps 10000 or lora_r 64 is never
    made the standing recipe, however it scored)."""
    return _promotable(old, report, lambda c: clearing_band(c, report.calibration))


def lead_candidates(old: Policy, report: RoundReport, rules: ConstitutionRules) -> list[CandidateSummary]:
    """Candidates worth re-testing next round: as `eligible`, but their gain need only beat one sd of
    the difference of two scores (the noise band / its multiplier). Such a gain is a hint, not a
    discovery: the re-test, a comparison of its own at the one-comparison band, decides (issue #13,
    eleventh session: real gains of +0.040 sat just under bands of 0.041-0.045 and were dropped)."""
    return _promotable(old, report, lambda c: report.calibration.noise_band / rules.noise.multiplier)


def on_an_axis(axes: list[Axis], key: str, value: RecipeValue) -> bool:
    """A value some axis of this key could propose: in its numeric range or among its choices.

    Flat moves are rendered into the next workers' prompts, so a worker-written value outside every
    axis (an invalid recipe that failed, or text meant for the next agent) is never carried over."""
    for axis in (a for a in axes if a.key == key):
        r = axis.range
        if r.kind == "choice":
            if any(same_value(as_recipe_value(c, value), value) for c in r.choices or []):
                return True
        elif (x := as_number(value)) is not None and float(r.low) <= x <= float(r.high):  # type: ignore[arg-type]
            return True
    return False


def flat_moves(old: Policy, report: RoundReport) -> list[FlatMove]:
    """Earlier flat moves still measured on this round's standing recipe, then this round's explorers
    that changed one key (no code) and showed no signal: dev gain <= the dev band and leaderboard gain
    (when submitted) <= the noise band, or a failed run. One-comparison bands, not the decision bands:
    a move with a hint of a gain is worth re-running, a flat one is not."""
    cal = report.calibration
    sha = recipe_sha256(old.standing_recipe)
    dev_band = cal.dev_band if cal.dev_band is not None else cal.noise_band
    kept = [m for m in old.flat_moves if m.recipe_sha256 == sha]
    for c in report.candidates:
        if c.is_baseline or c.code_changes or len(c.changes) != 1:
            continue
        signal = c.failure is None and (
            (c.dev_gain is not None and c.dev_gain > dev_band)
            or (c.leaderboard_gain is not None and c.leaderboard_gain > cal.noise_band))
        k = c.changes[0]
        if not signal and on_an_axis(old.axes, k.key, k.new):
            kept.append(FlatMove(round=report.round, key=k.key, new=k.new, worker_id=c.worker_id,
                                 recipe_sha256=sha, dev_gain=c.dev_gain, leaderboard_gain=c.leaderboard_gain))
    return kept


def on_recipe(moves: list[FlatMove], recipe: RecipeValues) -> list[FlatMove]:
    """The flat moves that still apply once `recipe` is the standing recipe (a promotion empties them)."""
    sha = recipe_sha256(recipe)
    return [m for m in moves if m.recipe_sha256 == sha]


def active_categories(policy: Policy) -> list[str]:
    seen: list[str] = []
    for a in policy.axes:
        if a.status == "active" and a.category not in seen:
            seen.append(a.category)
    return seen


def rotation_survivors(old: Policy, leads: list[Lead]) -> list[str]:
    """Active axes a rotation keeps: those with an open lead this round, so its re-test still runs.

    Issue #13, twelfth session: seed 2's rotation retired max_steps the round it showed a +0.043
    lead, and the lead was never re-tested. A plateau says the category stopped paying; a lead says
    this axis may not have."""
    keys = {lead.key for lead in leads}
    return [a.name for a in old.axes if a.status == "active" and a.key in keys]


def derive(old: Policy, report: RoundReport, rules: ConstitutionRules, learned: str) -> Derived:
    cal = report.calibration
    replicate = None
    if cal.baseline_dev is not None or cal.baseline_leaderboard is not None:
        replicate = Replicate(
            round=report.round, recipe_sha256=recipe_sha256(old.standing_recipe),
            dev=cal.baseline_dev, leaderboard=cal.baseline_leaderboard,
        )
    promoted = cal.replication.promoted if cal.replication is not None else []
    noise = next_noise_rule(old.noise, [*promoted, *([replicate] if replicate is not None else [])], rules.noise)
    categories = active_categories(old)
    point = RoundPoint(
        round=report.round, search_mode=report.search_mode, objective=report.objective,
        best_dev=cal.best_dev, best_leaderboard=cal.best_leaderboard,
        baseline_dev=cal.baseline_dev, baseline_leaderboard=cal.baseline_leaderboard,
        leaderboard_improvement=cal.leaderboard_improvement, plateau=cal.plateau,
        dev_only_rise=cal.dev_only_rise, categories=categories, learned=learned,
    )
    count = old.plateau_count + 1 if cal.plateau else 0
    possible = any(a.status == "dormant" and a.category not in categories for a in old.axes)
    leads = [Lead(round=report.round, key=k.key, old=k.old, new=k.new, leaderboard_gain=c.leaderboard_gain,
                  worker_id=c.worker_id) for c in lead_candidates(old, report, rules) for k in c.changes
             if on_an_axis(old.axes, k.key, k.new)]  # type: ignore[arg-type]
    return Derived(
        history=[*old.history, point], noise=noise, plateau_count=count,
        rotation_due=count >= rules.plateau_rounds, rotation_possible=possible, leads=leads,
        flat_moves=flat_moves(old, report),
    )
