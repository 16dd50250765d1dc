"""The meta agent: round report + current policy + constitution -> the next policy, nothing else.

The constitution text is the LLM's system prompt, verbatim. Whatever the backend proposes, code
enforces the constitution: a violating (or unparseable) proposal is recorded under
policies/<campaign>/rejected/ with its reasons and the scripted policy is used instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from evotrain.schemas.constitution import ConstitutionRecord
from evotrain.schemas.policy import Policy
from evotrain.schemas.report import RoundReport
from llm.base import AgentBackend, AgentError
from orchestrator.meta import policy_store
from orchestrator.meta.constitution import Constitution, check_write_path, enforce, verify
from orchestrator.meta.scripted import scripted_policy

Source = Literal["scripted", "llm", "fallback", "existing"]


@dataclass
class MetaResult:
    policy: Policy
    path: Path
    source: Source
    rejected: list[Path] = field(default_factory=list)


def _user_prompt(old: Policy, report: RoundReport, draft: Policy, constitution: Constitution) -> str:
    return json.dumps({
        "round_report": report.model_dump(mode="json"),
        "current_policy": old.model_dump(mode="json"),
        "constitution_rules": constitution.rules.model_dump(mode="json"),
        "draft_next_policy": draft.model_dump(mode="json"),
        "instructions": "Return the next Policy as one JSON object. Keep the code-owned fields of the draft "
                        "(campaign, round, history, plateau_count, noise replicates/samples) unchanged.",
    })


def _sync_learned(proposal: Policy) -> Policy:
    """The trajectory row's `learned` is by definition the policy's rationale: copy it, so an LLM that
    rewrites its rationale is not rejected for a stale copy of the draft's."""
    if not proposal.history:
        return proposal
    last = proposal.history[-1].model_copy(update={"learned": proposal.rationale})
    return proposal.model_copy(update={"history": [*proposal.history[:-1], last]})


def next_policy(
    policy_dir: Path | str, old: Policy, report: RoundReport, constitution: Constitution,
    backend: AgentBackend | None = None, record: ConstitutionRecord | None = None,
    workspace_root: Path | str | None = None, max_proposals: int = 1,
) -> MetaResult:
    """Produce, enforce and save the policy for round old.round + 1 (idempotent on resume)."""
    if record is not None:
        verify(record)  # an edited constitution stops the campaign here, naming the file
    rules = constitution.rules
    target = policy_store.policy_file(policy_dir, old.round + 1)
    if workspace_root is not None:
        check_write_path(target, workspace_root, rules)
    if target.exists():
        return MetaResult(policy=policy_store.load(target), path=target, source="existing")
    draft = scripted_policy(old, report, rules)
    problems = enforce(old, draft, report, rules)
    if problems:  # the fallback itself must obey the constitution; anything else is a bug here
        raise RuntimeError(f"scripted meta policy violates the constitution: {problems}")
    if backend is None:
        return MetaResult(policy=draft, path=policy_store.save(policy_dir, draft), source="scripted")
    rejected: list[Path] = []
    user = _user_prompt(old, report, draft, constitution)
    for _ in range(max_proposals):
        try:
            proposal = backend.complete_json(constitution.text, user, Policy)
        except AgentError as exc:
            reason = f"invalid output: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            rejected.append(policy_store.record_rejection(policy_dir, old.round + 1, None, [reason]))
            continue
        proposal = _sync_learned(proposal)
        violations = enforce(old, proposal, report, rules)
        if not violations:
            return MetaResult(policy=proposal, path=policy_store.save(policy_dir, proposal), source="llm",
                              rejected=rejected)
        rejected.append(policy_store.record_rejection(
            policy_dir, old.round + 1, proposal.model_dump(mode="json"), violations))
    return MetaResult(policy=draft, path=policy_store.save(policy_dir, draft), source="fallback", rejected=rejected)
