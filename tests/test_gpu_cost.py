"""GPU-seconds per job reach the worker's cost (run time x GPUs, queueing free); $/GPU-hour prices them
per candidate, round and campaign beside token dollars."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from fakes.fake_campaign import build_fake_campaign

from evotrain.io import read_model, write_model
from evotrain.schemas.manifest import Manifest
from orchestrator.campaign.compute_cost import compute_costs
from orchestrator.config import CampaignConfig
from workers.executors.base import JobState, JobStatus
from workers.job_tools import JobTools
from workers.substrate_contract import load_spec
from workers.worker_state import JobRecord, WorkerState

ROOT = Path(__file__).resolve().parents[1]


def test_finished_job_adds_run_time_times_gpus(tmp_path: Path) -> None:
    tools = JobTools.__new__(JobTools)
    state = WorkerState()
    tools.ctx = SimpleNamespace(spec=load_spec(ROOT / "substrate/default"), state=state,  # type: ignore[assignment]
                                executor=SimpleNamespace(logs=lambda job_id, tail: ""), sandbox=tmp_path,
                                quota_bytes=1 << 30)
    job = JobRecord(job_id="j-s1", phase="smoke", out_dir=tmp_path, recipe={}, recipe_sha256="", recipe_diff="",
                    cpu_slots=4, gpus=2)
    # submitted at 0, waited 500 s for a GPU, ran 120 s: only the 120 s count
    job.status = JobStatus(job_id="j-s1", state=JobState.SUCCEEDED, submitted_at=0.0, started_at=500.0,
                           ended_at=620.0, exit_code=0)
    tools._settle(job)
    tools._settle(job)  # settled once only
    assert state.gpu_seconds == pytest.approx(240.0) and state.cpu_seconds == pytest.approx(480.0)


def test_gpu_hour_price_per_candidate_round_and_campaign(tmp_path: Path) -> None:
    fake = build_fake_campaign(tmp_path / "ws", rounds=2, workers=2)
    gpu = {(1, "w00"): 3600.0, (1, "w01"): 1800.0, (2, "w00"): 0.0, (2, "w01"): 7200.0}
    for (r, w), seconds in gpu.items():
        path = fake.paths.manifest(r, w)
        m = read_model(path, Manifest)
        write_model(path, m.model_copy(update={"cost": m.cost.model_copy(update={"gpu_seconds": seconds})}))
    assert CampaignConfig(name="x").gpu_hour_dollars == 0.0
    rate = CampaignConfig(name="x", gpu_hour_dollars=2.5).gpu_hour_dollars
    costs = compute_costs(fake.paths, rate)
    assert costs.candidates["r001/w00"].gpu_dollars == pytest.approx(2.5)
    assert costs.candidates["r001/w01"].gpu_dollars == pytest.approx(1.25)
    assert costs.rounds[1].gpu_seconds == pytest.approx(5400.0) and costs.rounds[2].gpu_dollars == pytest.approx(5.0)
    assert costs.campaign.gpu_dollars == pytest.approx(8.75)
    tokens = sum(read_model(fake.paths.manifest(r, w), Manifest).cost.dollars for r, w in gpu)
    assert costs.campaign.token_dollars == pytest.approx(tokens)
