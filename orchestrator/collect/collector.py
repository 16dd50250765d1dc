"""Collector: manifests of one round + leaderboard scores -> the five-section round report.

Numbers are computed here, deterministically; prose comes from a NarrativeWriter. The baseline
anchor is always submitted, then re-tests of the last round's leads, then the best candidates by
the current objective while the round's submission budget lasts.
"""

from __future__ import annotations

from pathlib import Path

from evotrain.errors import EvotrainError
from evotrain.io import atomic_write_text, read_model, write_model
from evotrain.paths import CampaignPaths, candidate_label
from evotrain.schemas.common import diff_values
from evotrain.schemas.constitution import ConstitutionRules
from evotrain.schemas.manifest import Manifest
from evotrain.schemas.policy import Policy, Replicate
from evotrain.schemas.report import (
    Calibration,
    CalibrationRow,
    CandidateSummary,
    RationaleAudit,
    Replication,
    RoundCost,
    RoundReport,
)
from orchestrator.campaign.compute_cost import evaluation_gpu_seconds, gpu_hour_rate
from orchestrator.collect import calibration as cal
from orchestrator.collect.narrative import Narratives, NarrativeWriter, RoundFacts, ScriptedNarrativeWriter
from orchestrator.collect.noise import decision_band, next_noise_rule, pooled_sd, recipe_sha256
from orchestrator.collect.render import render_report
from orchestrator.collect.replication import find_replication
from orchestrator.leaderboard.base import Leaderboard, LeaderboardScore, SubmissionBudgetExceeded
from workers.agents.scripted_search import same_value


def read_manifests(paths: CampaignPaths, round_no: int) -> list[Manifest]:
    folder = paths.round_state(round_no) / "manifests"
    files = sorted(folder.glob("*.json"))
    if not files:
        raise EvotrainError(f"{folder}: no manifests for round {round_no}")
    manifests = [read_model(f, Manifest) for f in files]
    for f, m in zip(files, manifests, strict=True):
        if m.campaign != paths.campaign or m.round != round_no:
            raise EvotrainError(f"{f}: field 'round': manifest is for {m.campaign} round {m.round}")
        if m.worker_id != f.stem:
            raise EvotrainError(f"{f}: field 'worker_id': '{m.worker_id}' does not match the file name")
    anchors = [m.worker_id for m in manifests if m.is_baseline]
    if len(anchors) != 1:
        raise EvotrainError(f"{folder}: round {round_no} needs exactly one baseline anchor, found {anchors}")
    return manifests


def _family_dev(m: Manifest) -> dict[str, float]:
    for ck in m.checkpoints:
        if ck.step == m.chosen_step:
            return dict(ck.by_family)
    return {}


def code_files(diff: str, recipe_file: str = "recipe.yaml") -> list[str]:
    """Files other than the recipe that a sandbox diff touches (a worker's code or data change)."""
    files = {line.split(" b/", 1)[-1] for line in diff.splitlines() if line.startswith("diff --git a/")}
    return sorted(f for f in files if f != recipe_file)


def summarise(m: Manifest, policy: Policy) -> CandidateSummary:
    changes = diff_values(policy.standing_recipe, m.recipe) if m.recipe else list(m.recipe_changes)
    failure = "; ".join(f"{f.mode.value}: {f.message}" for f in m.failures if f.fatal) or None
    if m.status != "ok" and failure is None:
        failure = m.status
    return CandidateSummary(
        worker_id=m.worker_id, axis=m.axis, axis_category=m.axis_category, is_baseline=m.is_baseline,
        status=m.status, changes=changes, code_changes=code_files(m.recipe_diff), dev=m.dev_score,
        dev_by_family=_family_dev(m),
        chosen_step=m.chosen_step, failure=failure, gpu_seconds=m.cost.gpu_seconds, token_dollars=m.cost.dollars,
    )


def selection_score(
    c: CandidateSummary, base: CandidateSummary, policy: Policy, rules: ConstitutionRules
) -> tuple[float, ...]:
    """Sort key (higher first) for which non-baseline candidates to submit.

    raise_dev: overall dev. proxy_aware: raw dev gains are suspect, so prefer the categories the
    constitution names as transferable, then the median per-family dev gain (robust to one
    inflated family), then overall dev.
    """
    dev = c.dev if c.dev is not None else -1.0
    if policy.objective == "raise_dev":
        return (dev,)
    deltas = sorted(v - base.dev_by_family.get(f, v) for f, v in c.dev_by_family.items())
    median = deltas[len(deltas) // 2] if deltas else 0.0
    return (float(c.axis_category in rules.proxy_aware_categories), median, dev)


def retests_lead(c: CandidateSummary, policy: Policy) -> bool:
    return retested_lead_index(c, policy) is not None


def retested_lead_index(c: CandidateSummary, policy: Policy) -> int | None:
    """The index in policy.leads of the lead this candidate re-tests, or None. It re-tests one if it
    makes exactly one recipe change, no code change, and that change is one of the last round's
    unpromoted leads (policy.leads, code-derived).

    Such a run is a calibration: the lead already beat its anchor on the leaderboard, and only the
    leaderboard can say whether it stacks on the new standing recipe. Ranking it by dev would waste it
    (issue #13, ninth session: a lead of +0.077 was re-tested with dev -0.010 and never submitted)."""
    if c.code_changes or len(c.changes) != 1:
        return None
    change = c.changes[0]
    return next((i for i, lead in enumerate(policy.leads)
                 if lead.round == policy.round - 1 and lead.key == change.key and same_value(lead.new, change.new)),
                None)


def submission_order(usable: list[CandidateSummary], base: CandidateSummary, policy: Policy,
                     rules: ConstitutionRules) -> list[CandidateSummary]:
    """Explorers in the order they are submitted after the anchor: re-tests of last round's leads
    first, best lead first, but never all of the budget (one slot stays for the best fresh explorer,
    or a round of re-tests could never find a new lead); the rest by the objective."""
    def score(c: CandidateSummary) -> tuple[float, str]:
        return selection_score(c, base, policy, rules), c.worker_id

    def lead_rank(c: CandidateSummary) -> int:
        index = retested_lead_index(c, policy)
        return len(policy.leads) if index is None else index

    reserved = max(1, rules.submission_budget_per_round - 2)
    first = sorted((c for c in usable if c.lead_retest), key=lambda c: (lead_rank(c), c.worker_id))[:reserved]
    rest = sorted((c for c in usable if c not in first), key=score, reverse=True)
    return first + rest


def _submit(
    board: Leaderboard, manifests: dict[str, Manifest], ranked: list[CandidateSummary], round_no: int,
    budget: int,
) -> dict[str, LeaderboardScore]:
    """Submit in rank order until `budget` scores exist for the round.

    Scores already recorded for this round (a collector re-run after a crash) are reused, not
    re-submitted, so a resumed round never spends the budget twice.
    """
    done = {s.candidate: s for s in board.history() if s.round == round_no}
    scores: dict[str, LeaderboardScore] = {}
    for c in ranked:
        name = candidate_label(round_no, c.worker_id)
        if name in done:
            scores[c.worker_id] = done[name]
    for c in ranked:
        adapter = manifests[c.worker_id].chosen_adapter
        if len(scores) >= budget:
            break
        if c.worker_id in scores or adapter is None:
            continue
        try:
            scores[c.worker_id] = board.submit(candidate_label(round_no, c.worker_id), round_no, Path(adapter))
        except SubmissionBudgetExceeded:
            break
    return scores


def _calibrate(
    cands: list[CandidateSummary], base: CandidateSummary, policy: Policy, rules: ConstitutionRules,
    replication: Replication | None,
) -> Calibration:
    replicate = Replicate(
        round=policy.round, recipe_sha256=recipe_sha256(policy.standing_recipe),
        dev=base.dev, leaderboard=base.leaderboard,
    )
    promoted = replication.promoted if replication is not None else []
    noise = next_noise_rule(policy.noise, [*promoted, replicate], rules.noise)
    _, noise_dof = pooled_sd(noise.replicates, "leaderboard")
    band, dev_band = noise.threshold, noise.dev_threshold
    scored = [c for c in cands if c.dev is not None and c.leaderboard is not None]
    rows = [CalibrationRow(worker_id=c.worker_id, dev=c.dev, leaderboard=c.leaderboard,  # type: ignore[arg-type]
                           gap=c.dev - c.leaderboard) for c in scored]  # type: ignore[operator]
    rho = cal.spearman([r.dev for r in rows], [r.leaderboard for r in rows]) if len(rows) >= 2 else None
    others = [c for c in scored if not c.is_baseline and c.leaderboard_gain is not None]
    # the submitted candidates were picked by the objective from every explorer with a dev score
    compared = sum(1 for c in cands if not c.is_baseline and c.dev is not None)
    best = max(others, key=lambda c: c.leaderboard or 0.0, default=None)
    # the drifter is the largest dev gain of k explorers: judged against the best-of-k dev band
    dev_decision = decision_band(dev_band, compared, rules.noise)
    risers = [c for c in others if c.dev_gain is not None and c.leaderboard_gain is not None
              and cal.is_dev_only_rise(c.dev_gain, c.leaderboard_gain, dev_decision, band)]
    drifter = max(risers, key=lambda c: c.dev_gain or 0.0, default=None)
    streak = cal.drift_streak([p.dev_only_rise for p in policy.history], drifter is not None)
    focus = drifter or max(others, key=lambda c: c.dev or 0.0, default=None)
    deltas = cal.family_deltas(focus.dev_by_family, focus.leaderboard_by_family, base.dev_by_family,
                               base.leaderboard_by_family) if focus else {}
    round_best = max((c.leaderboard for c in scored), default=None)
    earlier = [p.best_leaderboard for p in policy.history if p.best_leaderboard is not None]
    improvement = None if round_best is None or not earlier else round_best - max(earlier)
    flag = streak >= rules.drift_rounds
    evidence = ""
    if drifter is not None:
        evidence = (
            f"r{policy.round:03d} {drifter.worker_id} ({drifter.axis}): dev {drifter.dev:.3f} "
            f"({drifter.dev_gain:+.3f} vs anchor, band {dev_decision:.3f}), leaderboard {drifter.leaderboard:.3f} "
            f"({drifter.leaderboard_gain:+.3f}, band {band:.3f}); dev-only rise {streak} round(s) in a row"
        )
    return Calibration(
        rows=rows, rank_correlation=rho,
        mean_gap=sum(r.gap for r in rows) / len(rows) if rows else None,
        family_deltas=deltas, noise_band=band, dev_band=dev_band,
        baseline_dev=base.dev, baseline_leaderboard=base.leaderboard,
        best_dev=max((c.dev for c in cands if c.dev is not None), default=None),
        best_leaderboard=round_best, best_worker=best.worker_id if best else None,
        leaderboard_improvement=improvement,
        plateau=improvement is not None and improvement < rules.plateau_epsilon,
        dev_only_rise=drifter is not None, drift_streak=streak, drift_flag=flag, drift_evidence=evidence,
        drift_worker=drifter.worker_id if drifter else None, drift_axis=drifter.axis if drifter else None,
        replication=replication, noise_dof=noise_dof,
        decision_band=decision_band(band, compared, rules.noise), compared=compared,
        dev_decision_band=dev_decision,
    )


def _consistent(c: CandidateSummary, calib: Calibration) -> bool:
    """The worker claimed its change helps: the authoritative evidence must beat the noise band.

    Leaderboard gain when submitted (authoritative), else dev gain against the dev band.
    """
    if c.failure is not None:
        return False
    if c.leaderboard_gain is not None:
        return c.leaderboard_gain > calib.noise_band
    band = calib.dev_band if calib.dev_band is not None else calib.noise_band
    return c.dev_gain is not None and c.dev_gain > band


def _round_cost(paths: CampaignPaths, round_no: int, cands: list[CandidateSummary]) -> RoundCost:
    """GPU-seconds x the campaign's $/GPU-hour per candidate (set on each) and for the round, whose
    leaderboard evaluation jobs (when scoring ran on the executor) count too."""
    rate = gpu_hour_rate(paths)
    for c in cands:
        c.gpu_dollars = c.gpu_seconds / 3600.0 * rate
    evaluation = evaluation_gpu_seconds(paths).get(round_no, 0.0)
    gpu = sum(c.gpu_seconds for c in cands) + evaluation
    return RoundCost(gpu_hour_dollars=rate, gpu_seconds=gpu, evaluation_gpu_seconds=evaluation,
                     gpu_dollars=gpu / 3600.0 * rate, token_dollars=sum(c.token_dollars for c in cands))


def collect_round(
    paths: CampaignPaths, round_no: int, policy: Policy, board: Leaderboard, rules: ConstitutionRules,
    narrator: NarrativeWriter | None = None,
) -> RoundReport:
    """Build, validate and write reports/<campaign>/round-NNN.{json,md}; return the report."""
    if policy.round != round_no:
        raise EvotrainError(f"policy round {policy.round} does not govern round {round_no}")
    manifests = {m.worker_id: m for m in read_manifests(paths, round_no)}
    cands = [summarise(m, policy) for m in manifests.values()]
    base = next(c for c in cands if c.is_baseline)
    usable = [c for c in cands if manifests[c.worker_id].usable and not c.is_baseline]
    for c in usable:
        c.lead_retest = retests_lead(c, policy)
    usable = submission_order(usable, base, policy, rules)
    already = sum(1 for s in board.history() if s.round == round_no)
    budget = min(rules.submission_budget_per_round, already + board.remaining(round_no))
    ranked = ([base] if manifests[base.worker_id].usable else []) + usable
    scores = _submit(board, manifests, ranked, round_no, budget)
    for c in cands:
        score = scores.get(c.worker_id)
        if score is not None:
            c.submitted, c.leaderboard, c.leaderboard_by_family = True, score.public, dict(score.public_by_family)
    for c in cands:
        if c.dev is not None and base.dev is not None:
            c.dev_gain = c.dev - base.dev
        if c.leaderboard is not None and base.leaderboard is not None:
            c.leaderboard_gain = c.leaderboard - base.leaderboard
    replication = find_replication(paths, policy, base, lambda: read_manifests(paths, round_no - 1))
    calib = _calibrate(cands, base, policy, rules, replication)
    consistent = {c.worker_id: _consistent(c, calib) for c in cands if not c.is_baseline}
    facts = RoundFacts(
        round=round_no, objective=policy.objective, candidates=cands, calibration=calib,
        rationales={wid: m.rationale for wid, m in manifests.items()}, consistent=consistent,
    )
    narratives = _narrate(narrator or ScriptedNarrativeWriter(), facts)
    for c in cands:
        c.summary = narratives.candidate_summaries.get(c.worker_id, "")
    calib.narrative = narratives.calibration
    cost = _round_cost(paths, round_no, cands)
    report = RoundReport(
        campaign=paths.campaign, round=round_no, objective=policy.objective, cost=cost,
        search_mode=rules.search_modes.exploitation if calib.drift_flag else policy.search_mode,
        candidates=cands, patterns=narratives.patterns, calibration=calib, surprises=narratives.surprises,
        rationale_audit=[
            RationaleAudit(worker_id=wid, rationale=manifests[wid].rationale, consistent=ok,
                           note=narratives.audit_notes.get(wid, ""))
            for wid, ok in consistent.items()
        ],
    )
    report = RoundReport.model_validate(report.model_dump())  # re-validate the assembled whole
    write_model(paths.report(round_no), report)
    atomic_write_text(paths.report(round_no).with_suffix(".md"), render_report(report))
    return report


def _narrate(narrator: NarrativeWriter, facts: RoundFacts) -> Narratives:
    try:
        return narrator.write(facts)
    except EvotrainError as exc:
        # an LLM that cannot produce valid prose must not stop the round: numbers stay authoritative
        out = ScriptedNarrativeWriter().write(facts)
        out.calibration += f" (scripted fallback: {exc.message})"
        return out
