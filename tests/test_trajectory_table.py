"""The paper's round table and plot, built from reports + policies of a synthetic campaign."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.fake_campaign import build_fake_campaign
from typer.testing import CliRunner

from evotrain.io import read_model
from evotrain.schemas.policy import Policy
from orchestrator.audit.trajectory import Trajectory, load_trajectory, plot_trajectory
from orchestrator.campaign.view import load_reports


@pytest.fixture
def fake(tmp_path: Path):
    return build_fake_campaign(tmp_path, rounds=3, workers=3)


def test_rows_follow_reports_and_next_policy_rationale(fake) -> None:
    traj = load_trajectory(fake.paths)
    assert [r.round for r in traj.rows] == [0, 1, 2, 3]
    substrate = traj.rows[0]
    first = fake.reports[0]
    assert substrate.search_mode == "Substrate"
    assert (substrate.dev, substrate.leaderboard) == (first.calibration.baseline_dev,
                                                      first.calibration.baseline_leaderboard)
    for row, report in zip(traj.rows[1:], fake.reports, strict=True):
        next_policy = read_model(fake.paths.policy(report.round + 1), Policy)
        assert row.search_mode == report.search_mode
        assert row.dev == max(c.dev for c in report.candidates if c.dev is not None)
        assert row.leaderboard == max(c.leaderboard for c in report.candidates if c.leaderboard is not None)
        assert row.learned == next_policy.rationale


def test_round_without_following_policy_has_empty_lesson(fake) -> None:
    fake.paths.policy(4).unlink()
    traj = load_trajectory(fake.paths)
    assert traj.rows[-1].round == 3 and traj.rows[-1].learned == ""


def test_plot_is_a_png_and_the_reference_line_changes_it(fake, tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    traj = load_trajectory(fake.paths)
    plain = plot_trajectory(traj, tmp_path / "plain.png")
    with_ref = plot_trajectory(traj, tmp_path / "ref.png", reference=0.87)
    assert plain.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert mpimg.imread(plain).shape[:2] == (400, 700)
    assert plain.read_bytes() != with_ref.read_bytes()


def test_empty_trajectory_plots_nothing_but_does_not_crash(tmp_path: Path) -> None:
    out = plot_trajectory(Trajectory(campaign="x", rows=[]), tmp_path / "empty.png")
    assert out.stat().st_size > 0


def _app():
    import typer

    from orchestrator.cli.audit import register_audit_commands

    app = typer.Typer()
    register_audit_commands(app)
    return app


def test_cli_trajectory_prints_the_table_and_writes_the_plot(fake, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(fake.paths.root)
    monkeypatch.setenv("COLUMNS", "200")
    png = tmp_path / "out" / "traj.png"
    result = CliRunner().invoke(_app(), ["trajectory", "--plot", str(png), "--reference", "0.87"])
    assert result.exit_code == 0, result.output
    assert "What the loop learned" in result.output
    assert "Round 2: learned lesson number 2." in result.output
    best_lb_r3 = max(c.leaderboard for c in load_reports(fake.paths)[2].candidates if c.leaderboard is not None)
    assert f"{best_lb_r3:.3f}" in result.output
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_unknown_campaign_is_one_line_exit_2(fake, monkeypatch) -> None:
    from evotrain.errors import EvotrainError

    monkeypatch.chdir(fake.paths.root)
    result = CliRunner().invoke(_app(), ["trajectory", "--campaign", "nope"])
    assert isinstance(result.exception, EvotrainError)
    assert result.exception.exit_code == 2
    assert "no campaign 'nope'" in result.exception.message and "\n" not in result.exception.message
