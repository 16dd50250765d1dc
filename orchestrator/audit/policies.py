"""Record policy versions in the audit log: one `policy_change` entry per policy file, once.

The campaign calls `record_policy_change` right after the policy store writes round N's policy;
`record_new_policies` catches up a campaign (or a run where the hook was not wired) by logging,
in round order, every policy file whose sha256 is not in the log yet.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from evotrain.io import read_model
from evotrain.paths import CampaignPaths
from evotrain.schemas.policy import Policy
from orchestrator.audit.log import AuditEntry, AuditLog, PolicyChangePayload
from orchestrator.campaign.view import policy_rounds


def record_policy_change(log: AuditLog, policy_path: Path) -> AuditEntry:
    policy = read_model(policy_path, Policy)
    return log.append(PolicyChangePayload(
        round=policy.round, policy_path=str(policy_path),
        policy_sha256=hashlib.sha256(policy_path.read_bytes()).hexdigest(),
        search_mode=policy.search_mode, objective=policy.objective,
        dead_ends=len(policy.dead_ends), rationale=policy.rationale,
    ))


def record_new_policies(paths: CampaignPaths) -> list[AuditEntry]:
    log = AuditLog(paths.audit_log)
    logged = {e.payload.policy_sha256 for e in log.entries() if isinstance(e.payload, PolicyChangePayload)}
    added = []
    for round_no in policy_rounds(paths):
        path = paths.policy(round_no)
        if hashlib.sha256(path.read_bytes()).hexdigest() not in logged:
            added.append(record_policy_change(log, path))
    return added


def check_policy_files(paths: CampaignPaths) -> tuple[list[str], list[str]]:
    """(problems, notes): a logged policy file that changed or vanished is a problem; a policy file
    the log does not know yet is a note (record it with `evotrain audit record-policies`)."""
    log = AuditLog(paths.audit_log)
    problems: list[str] = []
    logged: set[str] = set()
    for entry in log.entries():
        payload = entry.payload
        if not isinstance(payload, PolicyChangePayload):
            continue
        path = paths.policy(payload.round)  # by round, not the logged path: an archived campaign moves
        where = f"{log.path.name}:{entry.seq + 1}"
        if not path.is_file():
            problems.append(f"{path}: logged at {where} but missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != payload.policy_sha256:
            problems.append(f"{path}: changed since it was logged at {where}")
        logged.add(payload.policy_sha256)
    notes = [f"{paths.policy(n)}: not in the audit log yet" for n in policy_rounds(paths)
             if hashlib.sha256(paths.policy(n).read_bytes()).hexdigest() not in logged]
    return problems, notes
