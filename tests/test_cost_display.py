"""Compute cost shown to the user: `campaign status`, the round report (section 1, still five sections)
and the dashboard show GPU-seconds x $/GPU-hour beside token dollars, leaderboard evaluation jobs included.

Hand-computed, at $2.50/GPU-hour on a 2-round x 2-worker fake campaign:
  r1: w00 3600 s + w01 1800 s                        = 5400 s -> $3.75; tokens $0.01 + $0.02 = $0.03
  r2: w00 0 s + w01 7200 s + one 1-GPU evaluation 360 s = 7560 s -> $5.25; tokens $0.03
  campaign: 12960 s -> $9.00 (evaluation 360 s); tokens $0.06
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fakes.fake_campaign import FakeCampaign, build_fake_campaign
from rich.console import Console

from evotrain.io import read_model, write_model
from evotrain.schemas.constitution import ConstitutionRecord
from evotrain.schemas.manifest import Manifest
from evotrain.schemas.report import RoundReport
from orchestrator.audit.dashboard import render_dashboard
from orchestrator.audit.dashboard_data import build_dashboard_data
from orchestrator.campaign.status import campaign_status
from orchestrator.campaign.view import load_policies
from orchestrator.cli.campaign import _status_table
from orchestrator.collect.collector import _round_cost, summarise
from orchestrator.collect.render import render_report
from orchestrator.config import CampaignConfig, CampaignRecord
from workers.executors.base import JobSpec, JobState
from workers.executors.job_files import JobTable

GPU = {(1, "w00"): 3600.0, (1, "w01"): 1800.0, (2, "w00"): 0.0, (2, "w01"): 7200.0}


@pytest.fixture
def fake(tmp_path: Path) -> FakeCampaign:
    fake = build_fake_campaign(tmp_path / "ws", rounds=2, workers=2)
    for (r, w), seconds in GPU.items():
        path = fake.paths.manifest(r, w)
        m = read_model(path, Manifest)
        write_model(path, m.model_copy(update={"cost": m.cost.model_copy(update={"gpu_seconds": seconds})}))
    record = CampaignRecord(config=CampaignConfig(name="demo", rounds=2, gpu_hour_dollars=2.5),
                            workspace_root=str(tmp_path / "ws"), substrate_dir="substrate/default",
                            constitution=ConstitutionRecord(directory="constitution", constitution_md_sha256="0",
                                                            rules_yaml_sha256="0"), created_at=0.0)
    write_model(fake.paths.config, record)
    # one leaderboard evaluation job of round 2 on the executor: 1 GPU for 360 s (and a CPU one: free)
    table = JobTable(fake.paths.jobs)
    for job_id, gpus in (("demo-lb-r002-00001-public-0a1b2c3d-a1", 1), ("demo-lb-r002-00002-public-0a1b2c3e-a1", 0)):
        files, _ = table.record(JobSpec(job_id=job_id, command=["true"], cwd="/", gpus=gpus,
                                        labels={"campaign": "demo", "round": "2", "worker": "leaderboard"}))
        files.write_status(files.read_status().model_copy(update={
            "state": JobState.SUCCEEDED, "started_at": 1000.0, "ended_at": 1360.0, "exit_code": 0}))
    return fake


def test_status_shows_gpu_seconds_and_dollars(fake: FakeCampaign) -> None:
    st = campaign_status(fake.paths, 2)
    assert st.gpu_hour_dollars == 2.5
    assert st.compute.gpu_seconds == pytest.approx(12960.0) and st.compute.gpu_dollars == pytest.approx(9.0)
    assert st.compute.evaluation_gpu_seconds == pytest.approx(360.0)
    assert st.compute.token_dollars == pytest.approx(0.06)
    assert st.round == 2 and st.round_compute.gpu_dollars == pytest.approx(5.25)
    console = Console(width=400, record=True)
    console.print(_status_table(st))
    text = " ".join(console.export_text().split())  # the caption wraps at the table's width
    assert "GPU 12960 s = $9.00 at $2.50/GPU-h (leaderboard evaluation 360 s) + tokens $0.06 = $9.06" in text
    assert "round 2: GPU 7560 s $5.25 + tokens $0.03" in text


def test_round_report_shows_cost_in_section_one(fake: FakeCampaign) -> None:
    policy = next(p for p in load_policies(fake.paths) if p.round == 2)
    cands = [summarise(read_model(fake.paths.manifest(2, w), Manifest), policy) for w in ("w00", "w01")]
    cost = _round_cost(fake.paths, 2, cands)
    assert (cost.gpu_seconds, cost.evaluation_gpu_seconds) == (pytest.approx(7560.0), pytest.approx(360.0))
    assert cost.gpu_dollars == pytest.approx(5.25) and cost.token_dollars == pytest.approx(0.03)
    assert cands[1].gpu_dollars == pytest.approx(5.0)
    base = read_model(fake.paths.report(2), RoundReport)
    report = base.model_copy(update={"candidates": cands, "cost": cost})
    md = render_report(RoundReport.model_validate(report.model_dump()))
    assert len(re.findall(r"^## ", md, flags=re.M)) == 5  # no sixth section
    section1 = md.split("## 1.")[1].split("## 2.")[0]
    assert "| 7200 | $5.00 GPU + $0.02 tokens |" in section1
    assert ("Round cost: 7560 GPU-s (leaderboard evaluation 360 s) at $2.50/GPU-h = $5.25 + tokens $0.03 = $5.28"
            in section1)
    old = RoundReport.model_validate_json(fake.paths.report(1).read_text())  # reports written before: cost 0
    assert old.cost.gpu_seconds == 0.0


def test_dashboard_shows_gpu_dollars(fake: FakeCampaign) -> None:
    data = build_dashboard_data(fake.paths)
    assert data.gpu_hour_dollars == 2.5
    assert data.compute_rounds[1].gpu_dollars == pytest.approx(3.75)
    assert data.compute_rounds[2].evaluation_gpu_seconds == pytest.approx(360.0)
    assert data.compute_total.gpu_dollars == pytest.approx(9.0)
    html = render_dashboard(fake.paths).read_text()
    table = html.split('id="cost-table"')[1].split("</table>")[0]
    rows = [re.sub(r"<[^>]+>", " ", r).split() for r in table.split("<tr>")[2:]]
    assert rows[0][-4:] == ["5400.0", "0.0", "3.75", "3.78"]  # GPU-s, of which evaluation, GPU $, total $
    assert rows[1][-4:] == ["7560.0", "360.0", "5.25", "5.28"]
    assert rows[2][-4:] == ["12960.0", "360.0", "9.00", "9.06"]
    assert "7200 GPU-s = $5.00" in html  # r002/w01's own cell
