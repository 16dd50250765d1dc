"""Policy versions on disk and `evotrain policy diff|show` on real files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from _meta_synth import Cand, FakeLeaderboard, rules, stage_round, write_substrate
from typer.testing import CliRunner

from evotrain.errors import EvotrainError
from evotrain.paths import CampaignPaths
from orchestrator.cli.policy import policy_app
from orchestrator.collect.collector import collect_round
from orchestrator.meta import policy_store
from orchestrator.meta.scripted import scripted_policy


def test_initial_policy_from_recipe_and_axes(tmp_path: Path) -> None:
    recipe, axes = write_substrate(tmp_path)
    p = policy_store.initial_policy("c1", recipe, axes, rules())
    assert p.round == 1 and p.objective == "raise_dev" and p.search_mode == "Recipe stabilisation"
    assert {a.name for a in p.active_axes()} == {"learning_rate", "warmup"}
    assert {a.status for a in p.axes if a.category != "optimizer"} == {"dormant"}


def test_bad_axes_file_names_the_field(tmp_path: Path) -> None:
    recipe, axes = write_substrate(tmp_path)
    axes.write_text("- {name: x, category: c, key: lr, range: {kind: log, low: 1, high: 0}}\n")
    with pytest.raises(EvotrainError, match=r"axes.yaml: field '0.range'"):
        policy_store.initial_policy("c1", recipe, axes, rules())
    axes.write_text("- {name: x, category: c, key: nope, range: {kind: choice, choices: [1]}}\n")
    with pytest.raises(EvotrainError, match="key 'nope' absent"):
        policy_store.initial_policy("c1", recipe, axes, rules())


def test_versions_are_immutable(tmp_path: Path) -> None:
    recipe, axes = write_substrate(tmp_path)
    p = policy_store.initial_policy("c1", recipe, axes, rules())
    path = policy_store.save(tmp_path / "pol", p)
    assert policy_store.save(tmp_path / "pol", p) == path  # same content: no-op
    with pytest.raises(EvotrainError, match="already exists with different content"):
        policy_store.save(tmp_path / "pol", p.model_copy(update={"rationale": "changed"}))
    assert policy_store.load(path) == p and policy_store.list_rounds(tmp_path / "pol") == [1]
    md = path.with_suffix(".md").read_text()
    assert "## Don't waste budget on" in md and "## Trajectory" in md


def _two_versions(tmp_path: Path) -> CampaignPaths:
    paths = CampaignPaths(root=tmp_path, campaign="c1")
    r = rules()
    recipe, axes = write_substrate(tmp_path)
    p1 = policy_store.initial_policy("c1", recipe, axes, r)
    policy_store.save(paths.policies, p1)
    board = FakeLeaderboard(3)
    p = p1
    for dev in (0.86, 0.93):  # two dev-only rounds -> drift -> dead-end + proxy-aware
        stage_round(paths, p, board, [
            Cand("w01", "baseline", "baseline", 0.80, 0.80),
            Cand("w02", "learning_rate", "optimizer", 0.83, 0.84, change=("lr", 0.003)),
            Cand("w03", "warmup", "optimizer", dev, 0.805, change=("warmup_steps", 40)),
        ])
        report = collect_round(paths, p.round, p, board, r)
        p = scripted_policy(p, report, r)
        policy_store.save(paths.policies, p)
    return paths


def test_policy_diff_cli_prints_dead_ends_and_changed_keys(tmp_path: Path) -> None:
    paths = _two_versions(tmp_path)
    runner = CliRunner()
    out = runner.invoke(policy_app, ["diff", str(paths.policy(1)), str(paths.policy(3))])
    assert out.exit_code == 0, out.output
    assert "recipe lr: 0.001 -> 0.003" in out.output
    assert "dead-end added (round 2): warmup: warmup_steps increase" in out.output
    assert "objective: raise_dev -> proxy_aware" in out.output
    assert "axis retired: warmup [optimizer]" in out.output
    by_round = runner.invoke(policy_app, ["diff", "--campaign", "c1", "--root", str(tmp_path), "2", "3"])
    assert by_round.exit_code == 0 and "dead-end added (round 2)" in by_round.output
    assert "recipe lr" not in by_round.output  # lr was promoted in round 1 already
    show = runner.invoke(policy_app, ["show", str(paths.policy(3))])
    assert "Don't waste budget on" in show.output and "Proxy-aware search" in show.output


def test_policy_diff_console_script_errors_in_one_line(tmp_path: Path) -> None:
    paths = _two_versions(tmp_path)
    exe = Path(sys.executable).parent / "evotrain"
    ok = subprocess.run([exe, "policy", "diff", paths.policy(1), paths.policy(2)], capture_output=True, text=True)
    assert ok.returncode == 0 and "promotion (round 1): lr 0.001 -> 0.003" in ok.stdout
    bad = subprocess.run([exe, "policy", "diff", paths.policy(1), tmp_path / "nope.json"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "nope.json" in bad.stderr


def test_artifacts_publish_strict_json_schemas() -> None:
    from evotrain.schemas.constitution import ConstitutionRules
    from evotrain.schemas.policy import Policy
    from orchestrator.audit.policy_diff import PolicyDiff
    from orchestrator.collect.narrative import Narratives

    policy = Policy.json_schema()
    assert policy["properties"]["dead_ends"]["title"] == "Don't waste budget on"
    assert "dormant" in policy["$defs"]["Axis"]["properties"]["status"]["enum"]
    for model in (ConstitutionRules, Narratives, PolicyDiff):
        assert model.json_schema()["additionalProperties"] is False


def test_overrides_apply_in_memory_only(tmp_path: Path) -> None:
    recipe, axes = write_substrate(tmp_path)
    before = recipe.read_text()
    p = policy_store.initial_policy("c1", recipe, axes, rules(), overrides={"warmup_steps": 0})
    assert p.standing_recipe["warmup_steps"] == 0 and recipe.read_text() == before


def test_policy_diff_by_round_numbers_finds_the_only_campaign(tmp_path: Path) -> None:
    """`evotrain policy diff 1 2`, exactly as the README writes it, in a workspace with one campaign."""
    paths = _two_versions(tmp_path)
    paths.state.mkdir(parents=True, exist_ok=True)  # a campaign's state folder, as `campaign start` makes it
    exe = Path(sys.executable).parent / "evotrain"
    out = subprocess.run([exe, "policy", "diff", "1", "2"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "promotion (round 1): lr 0.001 -> 0.003" in out.stdout
    missing = subprocess.run([exe, "policy", "diff", "1", "9"], cwd=tmp_path, capture_output=True, text=True)
    assert missing.returncode == 2 and "no policy for round 9" in missing.stderr
