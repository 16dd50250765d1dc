"""The scripted (offline, deterministic) meta agent: report + policy + rules -> next policy.

It is also the fallback whenever an LLM proposal violates the constitution, so every choice here is
the conservative reading of the constitution's meta-rules.
"""

from __future__ import annotations

from evotrain.schemas.common import KeyChange, set_path
from evotrain.schemas.constitution import ConstitutionRules
from evotrain.schemas.policy import Axis, DeadEnd, Policy, Promotion
from evotrain.schemas.report import Calibration, CandidateSummary, RoundReport
from orchestrator.meta.derive import (
    active_categories,
    derive,
    eligible,
    lead_candidates,
    on_recipe,
    rotation_survivors,
)
from orchestrator.plan import fully_blocked


def _direction(change: KeyChange) -> str:
    if isinstance(change.old, int | float) and isinstance(change.new, int | float) and not isinstance(
        change.new, bool
    ):
        return "increase" if change.new > change.old else "decrease"
    return "set"


def _dead_end(c: CandidateSummary, report: RoundReport, why: str, evidence: str, axes: list[Axis]) -> DeadEnd:
    change = c.changes[0] if c.changes else None
    axis = next((a for a in axes if a.name == c.axis), None)
    key = change.key if change else (axis.key if axis else c.axis)
    if axis is not None and change is None:
        key = axis.key
    direction = _direction(change) if change else "set"
    return DeadEnd(
        what=f"{c.axis}: {key} {direction}" + (f" to {change.new!r}" if change else ""),
        key=key, direction=direction,  # type: ignore[arg-type]
        value=change.new if change and direction == "set" else None,
        why=why, evidence=evidence, round=report.round,
    )


def _band_text(cal: Calibration) -> str:
    if cal.promotion_band == cal.noise_band:
        return f"band {cal.noise_band:.3f}"
    return f"band {cal.promotion_band:.3f} for the best of {cal.compared}; one comparison {cal.noise_band:.3f}"


def _known(dead: list[DeadEnd], entry: DeadEnd) -> bool:
    return any((d.key, d.direction, d.value) == (entry.key, entry.direction, entry.value) for d in dead)


def _new_dead_ends(old: Policy, report: RoundReport) -> list[DeadEnd]:
    cal = report.calibration
    dead = list(old.dead_ends)
    for c in report.candidates:
        entry = None
        if cal.drift_flag and c.worker_id == cal.drift_worker:
            entry = _dead_end(c, report, "raised dev without moving the leaderboard (proxy drift)",
                              cal.drift_evidence, old.axes)
        elif not c.is_baseline and c.leaderboard_gain is not None and c.leaderboard_gain < -cal.promotion_band:
            entry = _dead_end(c, report, "lowered the leaderboard beyond the noise band",
                              f"r{report.round:03d} {c.worker_id}: leaderboard {c.leaderboard_gain:+.3f} vs anchor "
                              f"({_band_text(cal)})", old.axes)
        if entry is not None and not _known(dead, entry):
            dead.append(entry)
    return dead


def _promotion(old: Policy, report: RoundReport, rules: ConstitutionRules) -> tuple[CandidateSummary | None,
                                                                                     list[Promotion]]:
    cal = report.calibration
    candidates = eligible(old, report)
    if not candidates:
        return None, []
    best = candidates[0]
    evidence = (f"r{report.round:03d} {best.worker_id} ({best.axis}): leaderboard {best.leaderboard:.3f}, "
                f"{best.leaderboard_gain:+.3f} over the anchor ({_band_text(cal)})")
    return best, [
        Promotion(round=report.round, key=k.key, old=k.old, new=k.new,
                  leaderboard_gain=best.leaderboard_gain, evidence=evidence)  # type: ignore[arg-type]
        for k in best.changes
    ]


def _activate(axes: list[Axis], categories: list[str], round_no: int) -> list[str]:
    """Activate every dormant axis of the first category in `categories` that has any; return it."""
    for cat in categories:
        dormant = [a for a in axes if a.status == "dormant" and a.category == cat]
        for a in dormant:
            a.status, a.since_round = "active", round_no
        if dormant:
            return [cat]
    return []


def _fill_explorers(axes: list[Axis], dead: list[DeadEnd], explorers: int, objective: str,
                    rules: ConstitutionRules, round_no: int) -> list[str]:
    """Activate dormant categories (proxy-aware ones first once the objective is proxy-aware, then in
    axes.yaml order) until every explorer has an axis of its own; return the categories activated.

    Otherwise the surplus explorers re-run axes the round already covers (issue #13, ninth session:
    7 explorers on 6 axes for three rounds while four categories waited for a plateau to rotate in)."""
    order = [*(rules.proxy_aware_categories if objective == "proxy_aware" else []), *(a.category for a in axes)]
    activated: list[str] = []
    while sum(a.status == "active" and not fully_blocked(a, dead) for a in axes) < explorers:
        added = _activate(axes, order, round_no)
        if not added:
            break
        activated += added
    return activated


def scripted_policy(old: Policy, report: RoundReport, rules: ConstitutionRules) -> Policy:
    cal = report.calibration
    nxt = old.round + 1
    notes: list[str] = []
    dead = _new_dead_ends(old, report)
    objective = "proxy_aware" if (cal.drift_flag or old.objective == "proxy_aware") else "raise_dev"
    winner, promos = _promotion(old, report, rules)
    recipe = dict(old.standing_recipe)
    for p in promos:
        recipe = set_path(recipe, p.key, p.new)
    axes = [a.model_copy() for a in old.axes]
    for a in axes:
        # A promoted numeric axis stays active: the next round's worker keeps stepping the same way
        # (the brief carries the promotion), until a step stops paying or is a dead end. A choice
        # axis has nothing left to continue, so it leaves the search.
        if winner is not None and a.name == winner.axis and a.status == "active" and a.range.kind == "choice":
            a.status = "promoted"
        if any(d.key == a.key for d in dead[len(old.dead_ends):]) and a.status == "active":
            a.status = "retired"
    if winner is not None:
        kept = next((a for a in axes if a.name == winner.axis and a.status == "active"), None)
        notes.append(f"{winner.axis} beat the anchor on the leaderboard by {winner.leaderboard_gain:+.3f}; promoted"
                     + ("; the axis stays active to continue that way" if kept else ""))
        runners_up = [c for c in lead_candidates(old, report, rules) if c.worker_id != winner.worker_id]
        if runners_up:
            notes.append("also a hint (beat one sd of a difference), to re-test on top of it next round: "
                         + ", ".join(f"{c.axis} {c.leaderboard_gain:+.3f}" for c in runners_up))
    elif hints := lead_candidates(old, report, rules):
        sd = cal.noise_band / rules.noise.multiplier
        notes.append(f"no promotion; a hint (beat one sd of a difference, {sd:.3f}) to re-test next round: "
                     + ", ".join(f"{c.axis} {c.leaderboard_gain:+.3f}" for c in hints))
    if cal.drift_flag:
        notes.append(f"dev stopped tracking the leaderboard ({cal.drift_axis}); switched to proxy-aware search")
    if objective == "proxy_aware" and old.objective == "raise_dev":
        _activate(axes, rules.proxy_aware_categories, nxt)
    d = derive(old, report, rules, learned="")
    plateau_count = d.plateau_count
    # Only rotate when another category waits (the constitution's rule too): with as many explorers as
    # axes every category is active from round 1, and retiring them all left nothing to plan (issue #17)
    if d.rotation_due and not d.rotation_possible:
        notes.append(f"leaderboard plateaued {d.plateau_count} rounds but no category is left to rotate to")
        plateau_count = 0
    elif d.rotation_due:
        plateaued = active_categories(old)
        kept = rotation_survivors(old, d.leads)
        for a in axes:
            if a.status == "active" and a.category in plateaued and a.name not in kept:
                a.status = "retired"
        order = [c for c in rules.proxy_aware_categories if objective == "proxy_aware"]
        order += [a.category for a in axes if a.category not in plateaued]
        rotated = _activate(axes, [c for c in order if c not in plateaued], nxt)
        notes.append(f"leaderboard plateaued {d.plateau_count} rounds; rotated {plateaued} -> {rotated}"
                     if rotated else "leaderboard plateaued but no category is left to rotate to")
        if kept:
            notes.append(f"kept {kept} active: a lead on them is re-tested next round")
        plateau_count = 0
    if not any(a.status == "active" for a in axes):
        _activate(axes, [a.category for a in axes], nxt)
    if not notes:
        notes.append("no candidate beat the anchor beyond the noise band; standing recipe unchanged"
                     if not cal.plateau else f"leaderboard plateau round {d.plateau_count}")
    filled = _fill_explorers(axes, dead, sum(not c.is_baseline for c in report.candidates), objective, rules, nxt)
    if filled:
        notes.append(f"fewer explorable axes than explorers; activated {filled}")
    modes = rules.search_modes
    mode = (modes.proxy_aware if objective == "proxy_aware"
            else modes.stacking if (old.promotions or promos) else modes.stabilisation)
    rule_lines = list(old.rules)
    if objective == "proxy_aware" and old.objective == "raise_dev":
        rule_lines.append(f"r{report.round:03d}: treat raw dev gains as suspect unless the leaderboard confirms")
        rule_lines.append(f"r{report.round:03d}: prefer changes that should transfer to the leaderboard: "
                          "rebalancing over-represented families, reweighted checkpoint selection")
    rationale = "; ".join(notes) + "."
    d = derive(old, report, rules, learned=rationale)
    return Policy(
        campaign=old.campaign, round=nxt, search_mode=mode, objective=objective,  # type: ignore[arg-type]
        standing_recipe=recipe, axes=axes, dead_ends=dead, noise=d.noise,
        promotions=[*old.promotions, *promos], leads=d.leads, flat_moves=on_recipe(d.flat_moves, recipe),
        rules=rule_lines, rationale=rationale,
        history=d.history, plateau_count=plateau_count,
    )
