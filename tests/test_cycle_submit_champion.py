"""`evotrain submit --champion`: the continuous cycle's current champion is packaged, validated and
(unless --dry-run) sent like a campaign candidate; the package refusals are the same."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
import yaml
from fakes.fake_campaign import FakeLeaderboard, build_fake_campaign, write_peft_adapter
from typer.testing import CliRunner

from evotrain.errors import EvotrainError
from orchestrator.audit.log import AuditLog
from orchestrator.cli.audit import register_audit_commands
from orchestrator.cycle.champion import promote
from orchestrator.cycle.models import BenchmarkOutput
from orchestrator.cycle.store import CyclePaths
from orchestrator.leaderboard import submit as submit_flow
from orchestrator.leaderboard.package import SubmissionInvalid


def _app() -> typer.Typer:
    app = typer.Typer()
    register_audit_commands(app)
    return app


def _cycle(tmp_path: Path, champion_rank: int = 8) -> tuple[Path, CyclePaths]:
    """A cycle whose c0001 was promoted, then c0002 (the champion); adapters written by hand."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "cycle.yaml"
    config.write_text(yaml.safe_dump({"name": "t", "workdir": str(tmp_path / "w")}))
    paths = CyclePaths(tmp_path / "w" / "t")
    for cycle_id, rank, score in (("c0001", 8, 0.2), ("c0002", champion_rank, 0.3)):
        adapter = write_peft_adapter(tmp_path / "trained" / cycle_id, rank=rank)
        promote(paths, cycle_id, adapter, BenchmarkOutput(overall=score, by_category={"a": score}, n_items=10))
    return config, paths


def test_dry_run_of_the_champion_needs_no_campaign_and_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    config, paths = _cycle(tmp_path)
    monkeypatch.chdir(tmp_path)  # no campaigns/ here
    monkeypatch.setenv("COLUMNS", "220")
    result = CliRunner().invoke(_app(), ["submit", "--champion", "--cycle-config", str(config), "--to", "local",
                                         "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "DRY RUN — would send r000/champion-c0002" in result.output
    assert str(paths.root / "archive" / "c0002" / "adapter") in result.output
    assert "adapter_config.json, adapter_model.safetensors" in result.output
    assert sorted(p.name for p in paths.root.iterdir()) == ["archive", "champion.json"]  # nothing written


def test_no_champion_and_a_refused_champion(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    empty = tmp_path / "empty.yaml"
    empty.write_text(yaml.safe_dump({"name": "e", "workdir": str(tmp_path / "w")}))
    result = CliRunner().invoke(_app(), ["submit", "--champion", "--cycle-config", str(empty), "--to", "local",
                                         "--dry-run"])
    assert isinstance(result.exception, EvotrainError)
    assert "--champion: cycle 'e' has no champion yet" in result.exception.message
    config, _ = _cycle(tmp_path / "big", champion_rank=64)
    refused = CliRunner().invoke(_app(), ["submit", "--champion", "--cycle-config", str(config), "--to", "local",
                                          "--dry-run"])
    assert isinstance(refused.exception, SubmissionInvalid) and refused.exception.exit_code == 2
    assert "LoRA rank 64 (r) exceeds the limit of 32" in refused.exception.message
    both = CliRunner().invoke(_app(), ["submit", "--champion", "--best", "--to", "local", "--dry-run"])
    assert isinstance(both.exception, EvotrainError) and "exactly one of" in both.exception.message


def test_champion_sent_to_a_campaigns_local_leaderboard_is_recorded(tmp_path: Path, monkeypatch) -> None:
    config, paths = _cycle(tmp_path)
    fake = build_fake_campaign(tmp_path / "ws", rounds=2, workers=2)
    monkeypatch.chdir(fake.paths.root)
    monkeypatch.setenv("COLUMNS", "220")
    board = FakeLeaderboard()
    monkeypatch.setattr(submit_flow, "open_local_leaderboard", lambda _paths: board)
    result = CliRunner().invoke(_app(), ["submit", "--champion", "--cycle-config", str(config), "--to", "local"])
    assert result.exit_code == 0, result.output
    assert len(board.calls) == 1
    label, _round, sent = board.calls[0]
    assert label.endswith("/champion-c0002")
    source = paths.root / "archive" / "c0002" / "adapter"
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        assert (sent / name).read_bytes() == (source / name).read_bytes()
    entries = AuditLog(fake.paths.audit_log).entries()
    assert len(entries) == 1 and entries[0].payload.candidate == label


@pytest.mark.parametrize("flag", ["--candidate", "--best"])
def test_campaign_choices_still_need_a_campaign(tmp_path: Path, monkeypatch, flag: str) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["submit", flag, *(["1/w01"] if flag == "--candidate" else []), "--to", "local", "--dry-run"]
    result = CliRunner().invoke(_app(), args)
    assert isinstance(result.exception, EvotrainError) and "no campaigns folder" in result.exception.message
