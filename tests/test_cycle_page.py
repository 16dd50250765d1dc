"""The dashboard's cycle page on two finished cycles set up by hand: `cycle page` writes champion history,
per-category scores, gate decisions and data counts; `evotrain dashboard` links it when the campaign's
workspace has a cycle."""

from __future__ import annotations

from pathlib import Path

import yaml
from fakes.fake_campaign import build_fake_campaign, write_peft_adapter
from typer.testing import CliRunner

from evotrain.io import write_model
from orchestrator.audit.dashboard import render_dashboard
from orchestrator.cycle.champion import promote
from orchestrator.cycle.cli import build_cycle_app
from orchestrator.cycle.models import (
    BenchmarkOutput,
    GateOutput,
    GenerateOutput,
    GeneratorReport,
    QualityOutput,
    RuleCount,
)
from orchestrator.cycle.store import CyclePaths, new_cycle, save_state


def _finished_cycles(state_dir: Path, adapters: Path) -> None:
    """c0001: 120 generated, 80 kept, promoted. c0002: 200 generated (git-diff failed), 50 kept, gravity
    regressed, kept c0001."""
    paths = CyclePaths(state_dir)
    cycles = [
        ("c0001", 120, 80, {"gravity": 0.45, "numeral_system": 0.70}, 0.575,
         GateOutput(promote=True, reasons=[], champion_before=None)),
        ("c0002", 200, 50, {"gravity": 0.125, "numeral_system": 0.80}, 0.4625,
         GateOutput(promote=False, reasons=["gravity 0.125 < minimum 0.300"], regressed=["gravity"],
                    weak_categories=["gravity"], champion_before="c0001", champion_overall=0.575)),
    ]
    for cycle_id, generated, kept, scores, overall, gate in cycles:
        state = new_cycle(paths, "t")
        assert state.id == cycle_id
        folder = paths.cycle(cycle_id)
        reports = [GeneratorReport(source="substrate", kind="substrate", ok=True, n_examples=generated)]
        if cycle_id == "c0002":
            reports.append(GeneratorReport(source="git-diff", kind="git-diff", ok=False, error="not a git repo"))
        write_model(folder / "generate.json", GenerateOutput(
            reports=reports, n_examples=generated, weak_categories=["gravity"] if cycle_id == "c0002" else []))
        write_model(folder / "quality.json", QualityOutput(
            rules=["tokens"], by_source=[RuleCount(source="substrate", input=generated, kept=kept)],
            n_input=generated, n_kept=kept, kept_by_category={"gravity": kept}))
        bench = BenchmarkOutput(overall=overall, by_category=scores, n_items=40)
        write_model(folder / "benchmark.json", bench)
        write_model(folder / "gate.json", gate)
        if gate.promote:
            promote(paths, cycle_id, write_peft_adapter(adapters / cycle_id), bench)
        for record in state.stages.values():
            record.status = "done"
        state.finished = "2026-12-02T00:00:00+00:00"
        save_state(paths, state)


def test_cycle_page_command_shows_history_scores_decisions_and_counts(tmp_path: Path) -> None:
    config = tmp_path / "cycle.yaml"
    config.write_text(yaml.safe_dump({"name": "t", "workdir": str(tmp_path / "w")}))
    _finished_cycles(tmp_path / "w" / "t", tmp_path / "adapters")
    out = tmp_path / "page.html"
    result = CliRunner().invoke(build_cycle_app(), ["page", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "Champion: <b>c0001</b>" in html
    # per-category scores per cycle; the regressed category is flagged
    assert "<tr><td>c0001</td><td>0.575</td><td>0.450</td><td>0.700</td>" in html
    assert '<tr><td>c0002</td><td>0.463</td><td class="low">0.125</td><td>0.800</td>' in html
    # gate decisions
    assert '<td class="promote">promoted</td><td>replaces nothing</td>' in html
    assert '<td class="keep">kept champion</td><td>gravity 0.125 &lt; minimum 0.300</td>' in html
    # data counts: generated, kept, kept %, failed generators, targeted categories
    assert "<tr><td>c0001</td><td>120</td><td>80</td><td>66.7</td><td></td><td></td></tr>" in html
    assert "<tr><td>c0002</td><td>200</td><td>50</td><td>25.0</td><td>git-diff</td><td>gravity</td></tr>" in html
    # champion history: one promotion by the gate
    assert "<td>promote</td><td>c0001</td><td>gate</td>" in html

    missing = CliRunner().invoke(build_cycle_app(), ["page", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "config file not found" in missing.output


def test_campaign_dashboard_links_the_workspaces_cycle_page(tmp_path: Path) -> None:
    fake = build_fake_campaign(tmp_path / "ws", rounds=1, workers=2)
    index = render_dashboard(fake.paths)
    assert 'id="cycles"' not in index.read_text()  # no cycle in this workspace: no link
    _finished_cycles(fake.paths.root / "runs" / "cycle" / "t", tmp_path / "adapters")
    index = render_dashboard(fake.paths)
    assert '<a href="cycle-t.html">t</a>' in index.read_text()
    page = (index.parent / "cycle-t.html").read_text()
    assert "Champion: <b>c0001</b>" in page and "kept champion" in page
