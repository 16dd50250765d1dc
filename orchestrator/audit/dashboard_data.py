"""The dashboard's view model: everything the HTML shows, computed from the campaign's files.

Kept apart from the rendering so the numbers (costs, joins of manifests with report scores,
dead-end provenance, policy diffs) are testable without HTML.
"""

from __future__ import annotations

import itertools

from pydantic import Field

from evotrain.paths import CampaignPaths
from evotrain.schemas.common import Artifact, KeyChange
from evotrain.schemas.manifest import Cost, Manifest
from evotrain.schemas.policy import DeadEnd, Policy
from evotrain.schemas.report import RoundReport
from llm.base import Usage
from orchestrator.audit.log import AuditLog, SubmissionPayload
from orchestrator.audit.policy_diff import diff_policies, render_diff
from orchestrator.audit.trajectory import Trajectory, build_trajectory
from orchestrator.campaign.compute_cost import ComputeCost, gpu_hour_rate, round_and_campaign_costs
from orchestrator.campaign.llm_spend import role_spend
from orchestrator.campaign.view import load_manifests, load_policies, load_reports


class CandidateRow(Artifact):
    round: int
    worker_id: str
    axis: str
    axis_category: str
    is_baseline: bool
    status: str
    changes: list[KeyChange]
    recipe_diff: str
    dev: float | None
    leaderboard: float | None
    chosen_step: int | None
    failure: str
    cost: Cost


class DeadEndRow(Artifact):
    entry: DeadEnd
    first_policy: int  # the policy version where the entry first appeared (provenance)


class PolicyDiff(Artifact):
    old_round: int
    new_round: int
    lines: list[str]


class CostRow(Artifact):
    round: int
    workers: int
    cost: Cost


class AuditSummary(Artifact):
    ok: bool
    entries: int
    error: str = ""
    submissions: list[SubmissionPayload] = Field(default_factory=list)


class DashboardData(Artifact):
    campaign: str
    audit: AuditSummary
    trajectory: Trajectory
    reports: list[RoundReport]
    policy_diffs: list[PolicyDiff]
    candidates: list[CandidateRow]
    dead_ends: list[DeadEndRow]
    costs: list[CostRow]
    total_cost: Cost
    llm_spend: dict[str, Usage] = Field(default_factory=dict)  # role -> LLM usage, from the call log
    # compute cost beside token dollars: GPU-seconds (leaderboard evaluation jobs included) x $/GPU-hour
    gpu_hour_dollars: float = 0.0
    compute_rounds: dict[int, ComputeCost] = Field(default_factory=dict)
    compute_total: ComputeCost = Field(default_factory=ComputeCost)


def policy_diff_lines(old: Policy, new: Policy) -> list[str]:
    """The semantic diff `evotrain policy diff` prints (orchestrator.audit.policy_diff), one item per line."""
    diff = diff_policies(old, new)
    if diff.empty:
        return []
    return render_diff(diff).splitlines()[1:]  # line 0 is the "policy round A -> round B" heading


def _candidate_rows(manifests: list[Manifest], reports: list[RoundReport]) -> list[CandidateRow]:
    scores = {(r.round, c.worker_id): c for r in reports for c in r.candidates}
    rows = []
    for m in manifests:
        summary = scores.get((m.round, m.worker_id))
        rows.append(CandidateRow(
            round=m.round, worker_id=m.worker_id, axis=m.axis, axis_category=m.axis_category,
            is_baseline=m.is_baseline, status=m.status, changes=m.recipe_changes, recipe_diff=m.recipe_diff,
            dev=m.dev_score, leaderboard=summary.leaderboard if summary else None, chosen_step=m.chosen_step,
            failure="; ".join(f"{f.mode.value}: {f.message}" for f in m.failures), cost=m.cost,
        ))
    return rows


def _dead_end_rows(policies: list[Policy]) -> list[DeadEndRow]:
    if not policies:
        return []
    first_seen: dict[tuple[str, str, int, str], int] = {}
    for policy in policies:
        for d in policy.dead_ends:
            first_seen.setdefault((d.key, d.direction, d.round, d.what), policy.round)
    latest = policies[-1]
    return [DeadEndRow(entry=d, first_policy=first_seen[(d.key, d.direction, d.round, d.what)])
            for d in latest.dead_ends]


def _costs(manifests: list[Manifest]) -> tuple[list[CostRow], Cost]:
    per_round: dict[int, CostRow] = {}
    total = Cost()
    for m in manifests:
        row = per_round.setdefault(m.round, CostRow(round=m.round, workers=0, cost=Cost()))
        row.workers += 1
        row.cost = row.cost + m.cost
        total = total + m.cost
    return [per_round[k] for k in sorted(per_round)], total


def dead_end_rows(paths: CampaignPaths) -> list[DeadEndRow]:
    return _dead_end_rows(load_policies(paths))


def _audit_summary(paths: CampaignPaths) -> AuditSummary:
    log = AuditLog(paths.audit_log)
    check = log.verify()
    if not check.ok:  # shown, not raised: the dashboard is how a broken log gets noticed
        return AuditSummary(ok=False, entries=check.entries, error=check.error)
    subs = [e.payload for e in log.entries() if isinstance(e.payload, SubmissionPayload)]
    return AuditSummary(ok=True, entries=check.entries, submissions=subs)


def build_dashboard_data(paths: CampaignPaths) -> DashboardData:
    reports = load_reports(paths)
    policies = load_policies(paths)
    manifests = load_manifests(paths)
    costs, total = _costs(manifests)
    rate = gpu_hour_rate(paths)
    compute_rounds, compute_total = round_and_campaign_costs(paths, rate)
    diffs = [PolicyDiff(old_round=a.round, new_round=b.round, lines=policy_diff_lines(a, b))
             for a, b in itertools.pairwise(policies)]
    return DashboardData(
        campaign=paths.campaign, audit=_audit_summary(paths),
        trajectory=build_trajectory(reports, policies, paths.campaign),
        reports=reports, policy_diffs=diffs, candidates=_candidate_rows(manifests, reports),
        dead_ends=_dead_end_rows(policies), costs=costs, total_cost=total, llm_spend=role_spend(paths),
        gpu_hour_dollars=rate, compute_rounds=compute_rounds, compute_total=compute_total,
    )
