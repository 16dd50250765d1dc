"""LLM meta backend: constitution as system prompt; violating or invalid proposals rejected + recorded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from _meta_synth import Cand, FakeLeaderboard, rules, stage_round, write_substrate

from evotrain.errors import EvotrainError
from evotrain.paths import CampaignPaths
from evotrain.schemas.policy import DeadEnd, Policy
from llm.base import AgentError
from orchestrator.collect.collector import collect_round
from orchestrator.meta import constitution as const
from orchestrator.meta import policy_store
from orchestrator.meta.agent import next_policy
from orchestrator.meta.edit import AxisStatusChange, NewPromotion, assemble, edit_from
from orchestrator.meta.scripted import scripted_policy

SHIPPED = Path(__file__).resolve().parents[1] / "constitution"


class CannedBackend:
    name = "canned"

    def __init__(self, outputs: list[str]) -> None:
        self.outputs = list(outputs)
        self.systems: list[str] = []
        self.users: list[str] = []

    def complete_json(self, system: str, user: str, schema, max_attempts: int = 3):
        self.systems.append(system)
        self.users.append(user)
        try:
            return schema.model_validate_json(self.outputs.pop(0))
        except ValueError as exc:
            raise AgentError(str(exc).splitlines()[0]) from exc


def _round(tmp_path: Path, plateau_rounds: int = 1):
    """A campaign dir with a real constitution copy, `plateau_rounds` flat rounds collected."""
    shutil.copytree(SHIPPED, tmp_path / "constitution")
    c = const.load(tmp_path / "constitution")
    c = const.Constitution(directory=c.directory, text=c.text, rules=rules())
    paths = CampaignPaths(root=tmp_path, campaign="c1")
    recipe, axes = write_substrate(tmp_path)
    policy = policy_store.initial_policy("c1", recipe, axes, c.rules)
    policy.dead_ends = [DeadEnd(what="lr above 0.01", key="lr", direction="increase", why="diverges",
                                evidence="pilot", round=1)]
    board = FakeLeaderboard(3)
    report = None
    for i in range(plateau_rounds):
        if report is not None:
            policy = scripted_policy(policy, report, c.rules)
        stage_round(paths, policy, board, [
            Cand("w01", "baseline", "baseline", 0.80, 0.80),
            Cand("w02", "learning_rate", "optimizer", 0.80, 0.801 + 0.001 * i, change=("lr", 0.002)),
        ])
        report = collect_round(paths, policy.round, policy, board, c.rules)
    return paths, c, policy, report


def test_llm_valid_proposal_is_accepted_with_constitution_as_system_prompt(tmp_path: Path) -> None:
    paths, c, policy, report = _round(tmp_path)
    draft = scripted_policy(policy, report, c.rules)
    mine = edit_from(policy, draft).model_copy(update={"rules": [*draft.rules, "seed noise ~0.01"]})
    backend = CannedBackend([mine.model_dump_json()])
    result = next_policy(paths.policies, policy, report, c, backend=backend, workspace_root=tmp_path)
    assert result.source == "llm" and result.rejected == []
    assert backend.systems == [(tmp_path / "constitution" / "constitution.md").read_text()]
    assert policy_store.load(paths.policy(2)).rules[-1] == "seed noise ~0.01"


def _promote(key: str, new: object) -> NewPromotion:
    return NewPromotion(key=key, new=new, leaderboard_gain=0.2, evidence="trust me")  # type: ignore[arg-type]


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda e: e.model_copy(update={"promotions": [_promote("eval_split", "leaderboard")]}),
     "frozen recipe key 'eval_split' changed"),
    (lambda e: e.model_copy(update={"promotions": [_promote("lr", 0.5)]}),
     "promotion of 'lr'=0.5 has no submitted candidate with that change"),
    (lambda e: e.model_copy(update={"noise_threshold": 0.0}), "below the computed band"),
    (lambda e: e.model_copy(update={"axis_status": [AxisStatusChange(name="nope", status="active")]}),
     "no axis named 'nope'"),
])
def test_rule_breaking_edit_is_retried_once_with_reasons_then_scripted(tmp_path: Path, mutate, reason) -> None:
    paths, c, policy, report = _round(tmp_path)
    draft = scripted_policy(policy, report, c.rules)
    bad = mutate(edit_from(policy, draft)).model_dump_json()
    backend = CannedBackend([bad, bad])
    result = next_policy(paths.policies, policy, report, c, backend=backend)
    assert result.source == "fallback" and result.policy == draft
    assert [p.name for p in result.rejected] == ["round-002-1.json", "round-002-2.json"]
    record = json.loads(result.rejected[0].read_text())
    assert any(reason in r for r in record["reasons"]), record["reasons"]
    assert "edit" in record["proposal"]
    # the retry carried the reasons back to the model; no third attempt
    assert len(backend.users) == 2 and reason in backend.users[1] and reason not in backend.users[0]
    assert policy_store.load(paths.policy(2)) == draft


def test_rule_breaking_edit_fixed_on_the_retry_is_applied(tmp_path: Path) -> None:
    paths, c, policy, report = _round(tmp_path)
    draft = scripted_policy(policy, report, c.rules)
    good = edit_from(policy, draft).model_copy(update={"rationale": "fixed after feedback"})
    bad = good.model_copy(update={"noise_threshold": 0.0})
    result = next_policy(paths.policies, policy, report, c,
                         backend=CannedBackend([bad.model_dump_json(), good.model_dump_json()]))
    assert result.source == "llm" and len(result.rejected) == 1
    assert result.policy.rationale == "fixed after feedback"
    assert result.policy.history[-1].learned == "fixed after feedback"


def test_scripted_draft_round_trips_through_an_edit(tmp_path: Path) -> None:
    for plateau_rounds in (1, 3):
        _paths, c, policy, report = _round(tmp_path / str(plateau_rounds), plateau_rounds=plateau_rounds)
        draft = scripted_policy(policy, report, c.rules)

        assert assemble(policy, edit_from(policy, draft), report, c.rules) == draft


def test_invalid_llm_output_is_recorded_and_each_attempt_numbered(tmp_path: Path) -> None:
    paths, c, policy, report = _round(tmp_path)
    backend = CannedBackend(["{not json", '{"campaign": "c1"}'])
    result = next_policy(paths.policies, policy, report, c, backend=backend, max_proposals=2)
    assert result.source == "fallback"
    assert [p.name for p in result.rejected] == ["round-002-1.json", "round-002-2.json"]
    assert json.loads(result.rejected[1].read_text())["reasons"][0].startswith("invalid output")


def test_llm_skipping_a_due_rotation_is_rejected(tmp_path: Path) -> None:
    paths, c, policy, report = _round(tmp_path, plateau_rounds=3)
    draft = scripted_policy(policy, report, c.rules)
    assert {a.category for a in draft.active_axes()} == {"capacity"}
    lazy = edit_from(policy, draft).model_copy(update={"axis_status": []})
    result = next_policy(paths.policies, policy, report, c, backend=CannedBackend([lazy.model_dump_json()] * 2))
    reasons = json.loads(result.rejected[0].read_text())["reasons"]
    assert any("rotation due after 2 plateau rounds" in r for r in reasons), reasons


def test_edited_constitution_stops_meta_naming_the_file(tmp_path: Path) -> None:
    paths, c, policy, report = _round(tmp_path)
    rec = const.record(tmp_path / "constitution")
    (tmp_path / "constitution" / "constitution.md").write_text("You may delete dead-ends.\n")
    with pytest.raises(EvotrainError, match=r"constitution\.md: constitution changed"):
        next_policy(paths.policies, policy, report, c, record=rec)
    assert not paths.policy(2).exists()


def test_meta_is_idempotent_on_resume(tmp_path: Path) -> None:
    paths, c, policy, report = _round(tmp_path)
    first = next_policy(paths.policies, policy, report, c)
    again = next_policy(paths.policies, policy, report, c, backend=CannedBackend([]))
    assert again.source == "existing" and again.policy == first.policy
    assert isinstance(Policy.model_validate_json(paths.policy(2).read_text()), Policy)


def test_llm_rationale_is_copied_into_the_trajectory_row(tmp_path: Path) -> None:
    paths, c, policy, report = _round(tmp_path)
    draft = scripted_policy(policy, report, c.rules)
    mine = edit_from(policy, draft).model_copy(update={"rationale": "seed noise dominates small gains"})
    result = next_policy(paths.policies, policy, report, c, backend=CannedBackend([mine.model_dump_json()]))
    assert result.source == "llm" and result.policy.history[-1].learned == "seed noise dominates small gains"


def test_failed_anchor_round_still_closes(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED, tmp_path / "constitution")
    c = const.Constitution(directory=tmp_path, text="x", rules=rules())
    paths = CampaignPaths(root=tmp_path, campaign="c1")
    recipe, axes = write_substrate(tmp_path)
    policy = policy_store.initial_policy("c1", recipe, axes, c.rules)
    board = FakeLeaderboard(3)
    stage_round(paths, policy, board, [
        Cand("w01", "baseline", "baseline", 0.0, 0.0, status="failed"),
        Cand("w02", "learning_rate", "optimizer", 0.9, 0.9, change=("lr", 0.002)),
    ])
    report = collect_round(paths, 1, policy, board, c.rules)
    assert report.calibration.baseline_leaderboard is None
    assert all(cand.leaderboard_gain is None for cand in report.candidates)
    result = next_policy(paths.policies, policy, report, c)
    assert result.policy.promotions == [] and result.policy.noise.replicates == []  # no anchor, no evidence
