"""Terminal audit commands on a synthetic campaign: report show, deadends, dashboard --serve, defaults."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import typer
from fakes.fake_campaign import build_fake_campaign
from typer.testing import CliRunner

from evotrain.errors import EvotrainError
from orchestrator.campaign.view import parse_candidate, resolve_campaign
from orchestrator.cli.audit import register_audit_commands


def _app() -> typer.Typer:
    app = typer.Typer()
    register_audit_commands(app)
    return app


@pytest.fixture
def fake(tmp_path: Path, monkeypatch):
    fake = build_fake_campaign(tmp_path / "ws", rounds=3, workers=3)
    monkeypatch.chdir(fake.paths.root)
    monkeypatch.setenv("COLUMNS", "220")
    return fake


def test_report_show_prints_the_five_sections(fake) -> None:
    result = CliRunner().invoke(_app(), ["report", "show", "2"])
    assert result.exit_code == 0, result.output
    out = result.output
    titles = ["1. Per-candidate summaries", "2. Cross-candidate patterns", "3. Dev / leaderboard calibration",
              "4. Surprises", "5. Design-rationale audit"]
    positions = [out.index(t) for t in titles]
    assert positions == sorted(positions)
    report = fake.reports[1]
    assert report.patterns[0].statement in out
    assert "failed: nan_loss" in out  # the failed candidate of round 2
    assert f"{report.calibration.best_leaderboard:.3f}" in out


def test_report_show_missing_round_is_one_line_exit_2(fake) -> None:
    result = CliRunner().invoke(_app(), ["report", "show", "7"])
    assert isinstance(result.exception, EvotrainError) and result.exception.exit_code == 2
    assert "no report for round 7" in result.exception.message and "(reports: 1, 2, 3)" in result.exception.message


def test_corrupt_report_names_the_file(fake) -> None:
    fake.paths.report(1).write_text('{"campaign": "demo"}', encoding="utf-8")
    result = CliRunner().invoke(_app(), ["report", "show", "1"])
    assert isinstance(result.exception, EvotrainError)
    assert str(fake.paths.report(1)) in result.exception.message and "field" in result.exception.message


def test_deadends_lists_registry_with_provenance(fake) -> None:
    result = CliRunner().invoke(_app(), ["deadends"])
    assert result.exit_code == 0, result.output
    assert "Don't waste budget on · demo (2)" in result.output
    assert "r002/w01 dev +0.08, lb +0.00" in result.output and "r003/w01 dev +0.08, lb +0.00" in result.output


def test_default_campaign_is_the_most_recent(fake, tmp_path: Path) -> None:
    older = build_fake_campaign(fake.paths.root, name="older", rounds=1)
    past = time.time() - 3600
    os.utime(older.paths.state, (past, past))
    assert resolve_campaign(fake.paths.root, None).campaign == "demo"
    with pytest.raises(EvotrainError, match="no campaigns folder"):
        resolve_campaign(tmp_path / "empty", None)


@pytest.mark.parametrize(("text", "expected"), [("2/w03", (2, "w03")), ("r002/w03", (2, "w03")), ("r2/w3", (2, "w03"))])
def test_parse_candidate(text: str, expected: tuple[int, str]) -> None:
    ref = parse_candidate(text)
    assert (ref.round, ref.worker_id) == expected


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_dashboard_serve_on_localhost(fake) -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "dashboard", "--serve", "--port", str(port)],
                            cwd=fake.paths.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        body = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not body:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
                    body = resp.read().decode("utf-8")
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
                time.sleep(0.3)
        assert 'id="candidates"' in body and 'id="trajectory-plot"' in body
    finally:
        proc.terminate()
        proc.wait(timeout=30)
