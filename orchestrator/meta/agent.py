"""The meta agent: round report + current policy + constitution -> the next policy, nothing else.

The constitution text is the LLM's system prompt, verbatim. The LLM returns a PolicyEdit (only the
fields it may change); code assembles the full Policy and enforces the constitution. A violating (or
unparseable) edit is recorded under policies/<campaign>/rejected/ with its reasons and sent back to
the model once with those reasons; if the retry fails too, the scripted policy is used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from evotrain.schemas.constitution import ConstitutionRecord
from evotrain.schemas.policy import Policy
from evotrain.schemas.report import RoundReport
from llm.base import AgentBackend, AgentError, BudgetExceeded
from llm.common import one_line
from orchestrator.meta import policy_store
from orchestrator.meta.constitution import Constitution, check_write_path, enforce, verify
from orchestrator.meta.edit import PolicyEdit, assemble, edit_from
from orchestrator.meta.scripted import scripted_policy

Source = Literal["scripted", "llm", "fallback", "existing"]


@dataclass
class MetaResult:
    policy: Policy
    path: Path
    source: Source
    rejected: list[Path] = field(default_factory=list)


def _user_prompt(old: Policy, report: RoundReport, draft: Policy, constitution: Constitution) -> str:
    current = old.model_dump(mode="json", exclude={"history"})
    return json.dumps({
        "round_report": report.model_dump(mode="json"),
        "current_policy": current,
        "trajectory": [p.model_dump(mode="json") for p in old.history[-6:]],
        "constitution_rules": constitution.rules.model_dump(mode="json"),
        "suggested_edit": edit_from(old, draft).model_dump(mode="json"),
        "instructions": "Return a PolicyEdit: only what changes for the next round (new promotions, axis status "
                        "changes, new dead ends, the empirical rules, the noise threshold, objective, search mode and "
                        "your rationale). Code carries everything else over and derives the trajectory. The "
                        "suggested edit is what the scripted rules would do; improve on it where the report supports "
                        "it, within the constitution.",
    })


def _feedback(reasons: list[str]) -> str:
    lines = "\n".join(f"- {r}" for r in reasons)
    return (f"\n\nYour previous PolicyEdit was rejected by the constitution checks:\n{lines}\n"
            "Return a corrected PolicyEdit that fixes every one of these.")


def next_policy(
    policy_dir: Path | str, old: Policy, report: RoundReport, constitution: Constitution,
    backend: AgentBackend | None = None, record: ConstitutionRecord | None = None,
    workspace_root: Path | str | None = None, max_proposals: int = 2,
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
    feedback = ""
    for _ in range(max_proposals):  # the first proposal + one retry with the reasons it was refused
        try:
            edit = backend.complete_json(constitution.text, user + feedback, PolicyEdit)
        except (AgentError, BudgetExceeded) as exc:
            reason = f"invalid output: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            rejected.append(policy_store.record_rejection(policy_dir, old.round + 1, None, [reason]))
            if isinstance(exc, BudgetExceeded):
                break  # no budget for a retry: the scripted policy
            feedback = _feedback([reason])
            continue
        try:
            proposal = assemble(old, edit, report, rules)
            violations = enforce(old, proposal, report, rules)
        except ValueError as exc:  # EditError (unknown axis) or an edit that makes an invalid Policy
            proposal, violations = None, [one_line(str(exc))]
        if proposal is not None and not violations:
            return MetaResult(policy=proposal, path=policy_store.save(policy_dir, proposal), source="llm",
                              rejected=rejected)
        rejected.append(policy_store.record_rejection(
            policy_dir, old.round + 1, {"edit": edit.model_dump(mode="json")}, violations))
        feedback = _feedback(violations)
    return MetaResult(policy=draft, path=policy_store.save(policy_dir, draft), source="fallback", rejected=rejected)
