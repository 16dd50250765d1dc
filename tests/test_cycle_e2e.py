"""Continuous cycle end to end on the embedded substrate (tiny step counts): the daemon runs exactly
two cycles, a failed gate leaves the champion pointer unchanged, history shows both cycles, the
status and the dashboard page read the same state (rollback: test_cycle_units.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cycle_support import tiny_config
from typer.testing import CliRunner

from orchestrator.cycle.cli import build_cycle_app
from orchestrator.cycle.config import load_config
from orchestrator.cycle.models import GateOutput
from orchestrator.cycle.page import render_cycle_page
from orchestrator.cycle.store import CyclePaths, archive_entries, cycle_ids, load_pointer, read_events

pytestmark = pytest.mark.slow


def test_daemon_runs_exactly_two_cycles_then_history_and_rollback(tmp_path: Path) -> None:
    # the second cycle must beat the first by 1.0 overall: impossible, so its gate fails
    config = tiny_config(tmp_path / "cycle.yaml", tmp_path / "w", {"beat_champion_by": 1.0})
    app = build_cycle_app()
    runner = CliRunner()
    result = runner.invoke(app, ["daemon", str(config), "--every", "2s", "--max-cycles", "2"])
    assert result.exit_code == 0, result.output
    assert "daemon stopped after 2 cycle(s)" in result.output
    paths = CyclePaths(load_config(config).state_dir)
    assert cycle_ids(paths) == ["c0001", "c0002"]
    events = [(e["cycle"], e["stage"], e["event"]) for e in read_events(paths)]
    # never two cycles at once: the second is created after the first finished
    assert events.index(("c0002", "cycle", "created")) > events.index(("c0001", "cycle", "finished"))
    assert sum(1 for e in events if e[1:] == ("cycle", "finished")) == 2

    gate2 = GateOutput.model_validate_json((paths.cycle("c0002") / "gate.json").read_text())
    assert not gate2.promote and gate2.champion_before == "c0001"
    assert "does not beat champion c0001" in gate2.reasons[0]
    assert load_pointer(paths).champion == "c0001"  # failed gate: pointer unchanged
    assert [e.id for e in archive_entries(paths)] == ["c0001"]
    assert "decision: KEEP champion c0001; c0002 rejected" in result.output
    assert "Quality gate:" in result.output and "Benchmark per category" in result.output

    history = runner.invoke(app, ["history", str(config)])
    assert history.exit_code == 0
    assert "c0001" in history.output and "c0002" in history.output and "kept c0001" in history.output
    status = runner.invoke(app, ["status", str(config)])
    assert "champion: c0001" in status.output and "daemon: not running" in status.output
    page = render_cycle_page(paths)
    assert "<b>c0001</b>" in page and "kept champion" in page and "does not beat champion" in page
