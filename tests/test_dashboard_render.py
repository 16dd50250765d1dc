"""HTML dashboard: content computed from the campaign files, and the page as Chromium renders it."""

from __future__ import annotations

import shutil
import subprocess
import threading
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fakes.fake_campaign import build_fake_campaign

from orchestrator.audit.dashboard import dashboard_dir, render_dashboard, serve
from orchestrator.audit.dashboard_data import build_dashboard_data, policy_diff_lines

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class _TableRows(HTMLParser):
    """Counts <tr> per table id and collects element ids."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, int] = {}
        self.ids: set[str] = set()
        self._table: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if attr.get("id"):
            self.ids.add(attr["id"] or "")
        if tag == "table":
            self._table = attr.get("id") or ""
            self.rows[self._table] = 0
        elif tag == "tr" and self._table is not None:
            self.rows[self._table] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None


@pytest.fixture
def fake(tmp_path: Path):
    return build_fake_campaign(tmp_path / "ws", rounds=3, workers=3)


def test_data_joins_manifests_with_report_scores(fake) -> None:
    data = build_dashboard_data(fake.paths)
    assert len(data.candidates) == len(fake.manifests) == 9
    scores = {(r.round, c.worker_id): c.leaderboard for r in fake.reports for c in r.candidates}
    for row in data.candidates:
        assert row.leaderboard == scores[(row.round, row.worker_id)]
    failed = [c for c in data.candidates if c.status == "failed"]
    assert len(failed) == 1 and "nan_loss" in failed[0].failure


def test_costs_sum_the_manifests(fake) -> None:
    data = build_dashboard_data(fake.paths)
    # tests/fakes/fake_campaign.py gives worker w (0..2) of each of 3 rounds: input 1200+w,
    # output 300, dollars 0.01*(w+1), cpu 55+w, 3 calls. Summed by hand over 9 candidates:
    assert data.total_cost.input_tokens == 3 * (1200 + 1201 + 1202) == 10809
    assert data.total_cost.output_tokens == 9 * 300
    assert data.total_cost.dollars == pytest.approx(3 * (0.01 + 0.02 + 0.03))
    assert data.total_cost.cpu_seconds == pytest.approx(3 * (55 + 56 + 57))
    assert data.total_cost.agent_calls == 27
    assert [c.round for c in data.costs] == [1, 2, 3]
    assert [c.cost.input_tokens for c in data.costs] == [3603, 3603, 3603]


def test_dead_ends_carry_their_round_and_first_policy(fake) -> None:
    data = build_dashboard_data(fake.paths)
    assert [(d.entry.round, d.first_policy) for d in data.dead_ends] == [(2, 3), (3, 4)]


def test_policy_diff_lists_mode_objective_and_added_dead_end(fake) -> None:
    p3, p4 = fake.policies[2], fake.policies[3]
    lines = policy_diff_lines(p3, p4)
    assert "search mode: Proxy exploitation -> Proxy-aware search" in lines
    assert "objective: raise_dev -> proxy_aware" in lines
    assert any(line.startswith("dead-end added (round 3): raising equations mixture weight") for line in lines)
    assert not any("round 2)" in line for line in lines)  # the round-2 entry was already in p3
    assert policy_diff_lines(p4, p4) == []


def test_rendered_html_has_every_section(fake) -> None:
    index = render_dashboard(fake.paths, reference=0.87)
    assert index == dashboard_dir(fake.paths) / "index.html"
    assert (index.parent / "trajectory.png").read_bytes()[:4] == b"\x89PNG"
    parser = _TableRows()
    parser.feed(index.read_text(encoding="utf-8"))
    assert {"trajectory-plot", "candidates", "trajectory-table", "dead-end-registry", "cost-table"} <= parser.ids
    assert {"round-1", "round-2", "round-3"} <= parser.ids
    assert parser.rows["candidates"] == 1 + len(fake.manifests)
    assert parser.rows["trajectory-table"] == 1 + 4  # header + substrate + 3 rounds
    assert parser.rows["dead-end-registry"] == 1 + 2
    assert parser.ids >= {"policy-diffs"} and "dead-end added (round 3)" in index.read_text(encoding="utf-8")


def test_audit_section_lists_submissions_and_flags_a_broken_log(fake) -> None:
    from fakes.fake_campaign import FakeLeaderboard

    from orchestrator.campaign.view import CandidateRef
    from orchestrator.leaderboard import submit as submit_flow
    from orchestrator.leaderboard.package import SubmissionConfig

    board = FakeLeaderboard()
    submit_flow.submit(fake.paths, CandidateRef(1, "w01"), lambda: submit_flow.LocalTarget(board), SubmissionConfig())
    html = render_dashboard(fake.paths).read_text(encoding="utf-8")
    parser = _TableRows()
    parser.feed(html)
    assert parser.rows["submissions"] == 2 and "r001/w01" in html and "hash chain verified" in html
    log = fake.paths.audit_log
    log.write_bytes(log.read_bytes().replace(b'"status":"complete"', b'"status":"completE"'))
    html = render_dashboard(fake.paths).read_text(encoding="utf-8")
    assert "Audit log BROKEN" in html and "audit.jsonl:1: hash mismatch" in html


def test_html_escapes_narrative_text(fake) -> None:
    from evotrain.io import write_model

    report = fake.reports[0].model_copy(deep=True)
    report.patterns[0].statement = "<script>alert(1)</script>"
    write_model(fake.paths.report(1), report)
    html = render_dashboard(fake.paths).read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_serve_binds_loopback_and_serves_the_page(fake) -> None:
    index = render_dashboard(fake.paths)
    server = serve(index.parent, 0)
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
            assert 'id="candidates"' in resp.read().decode("utf-8")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/trajectory.png", timeout=10) as resp:
            assert resp.read()[:4] == b"\x89PNG"
    finally:
        server.shutdown()
        server.server_close()


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / "chromium-profile"
    cmd = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed (.ci/run installs it)")
def test_headless_chromium_renders_plot_and_candidate_table(fake, tmp_path: Path) -> None:
    index = render_dashboard(fake.paths, reference=0.87)
    # a copy with a probe script: the page itself has no scripts; the probe records, after load, whether
    # Chromium decoded the plot and how many candidate rows it laid out
    probe = index.with_name("probe.html")
    probe.write_text(index.read_text(encoding="utf-8").replace("</body>", (
        "<script>window.addEventListener('load', () => {"
        "const img = document.getElementById('trajectory-plot');"
        "document.body.dataset.plotWidth = img.naturalWidth;"
        "document.body.dataset.plotHeight = img.naturalHeight;"
        "document.body.dataset.candidateRows = document.querySelectorAll('#candidates tr').length - 1;"
        "});</script></body>")), encoding="utf-8")
    dom = _chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'id="trajectory-plot"' in dom.stdout and 'id="candidates"' in dom.stdout
    assert 'data-plot-width="700"' in dom.stdout and 'data-plot-height="400"' in dom.stdout
    assert f'data-candidate-rows="{len(fake.manifests)}"' in dom.stdout

    shot = tmp_path / "dashboard.png"
    res = _chromium(tmp_path, "--window-size=1280,2000", f"--screenshot={shot}", index.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    import matplotlib.image as mpimg

    assert mpimg.imread(shot).shape[:2] == (2000, 1280)
    print(f"dashboard screenshot: {shot}")
