"""Optional MLflow tracking: one run per candidate (params = recipe, metrics = dev per checkpoint and the
leaderboard score, tags = campaign/round/worker/axis, the manifest as artifact), read back with the MLflow
client from a local file store in tmp_path. Expected values come from the fake campaign's manifests and
report, written by hand-independent fixture code, not from the code under test."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fakes.fake_campaign import build_fake_campaign

from evotrain.io import read_model
from evotrain.schemas.manifest import Manifest
from evotrain.schemas.report import RoundReport
from orchestrator.collect.tracking import flatten, track_round
from orchestrator.config import CampaignConfig, MlflowTracking, TrackingConfig

mlflow = pytest.importorskip("mlflow")


def test_config_is_off_by_default_and_typed() -> None:
    assert CampaignConfig(name="x").tracking.mlflow is None
    cfg = CampaignConfig.model_validate({"name": "x", "tracking": {"mlflow": {"uri": "file:/tmp/m"}}})
    assert cfg.tracking.mlflow == MlflowTracking(uri="file:/tmp/m")
    with pytest.raises(ValueError, match="urii"):
        CampaignConfig.model_validate({"name": "x", "tracking": {"mlflow": {"urii": "file:/tmp/m"}}})


def test_flatten_nested_recipe() -> None:
    assert flatten({"lr": 0.001, "mix": {"gravity": 2.0, "eq": 1}}) == {"lr": "0.001", "mix.gravity": "2.0",
                                                                        "mix.eq": "1"}


def test_one_run_per_candidate_read_back_from_a_file_store(tmp_path: Path) -> None:
    fake = build_fake_campaign(tmp_path / "ws", rounds=1, workers=3)
    uri = f"file:{tmp_path / 'mlruns'}"
    report = read_model(fake.paths.report(1), RoundReport)
    cfg = TrackingConfig(mlflow=MlflowTracking(uri=uri, experiment="exp-1"))
    track_round(cfg, fake.paths, report)
    track_round(cfg, fake.paths, report)  # a collector re-run after a crash logs nothing twice
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("exp-1")
    runs = {r.data.tags["evotrain.worker"]: r for r in client.search_runs([exp.experiment_id])}
    assert sorted(runs) == ["w00", "w01", "w02"]
    for wid, run in runs.items():
        m = read_model(fake.paths.manifest(1, wid), Manifest)
        c = next(c for c in report.candidates if c.worker_id == wid)
        assert run.info.run_name == f"r001-{wid}"
        assert run.data.tags["evotrain.campaign"] == "demo" and run.data.tags["evotrain.round"] == "1"
        assert run.data.tags["evotrain.axis"] == m.axis
        assert run.data.params == {k: str(v) for k, v in m.recipe.items()}
        dev = client.get_metric_history(run.info.run_id, "dev")
        assert [(p.step, p.value) for p in dev] == [(ck.step, ck.overall) for ck in m.checkpoints]
        if c.leaderboard is None:
            assert "leaderboard_public" not in run.data.metrics
        else:
            assert run.data.metrics["leaderboard_public"] == pytest.approx(c.leaderboard)
        assert run.info.status == ("FINISHED" if m.status == "ok" else "FAILED")
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert artifacts == ({"manifest.json", "recipe.diff"} if m.recipe_diff else {"manifest.json"})
        if m.recipe_diff:
            assert client.download_artifacts(run.info.run_id, "recipe.diff", str(tmp_path)) and \
                (tmp_path / "recipe.diff").read_text() == m.recipe_diff
    assert any(c.leaderboard is not None for c in report.candidates)  # the LB branch was exercised
    assert any(r.data.tags["evotrain.baseline"] != "true" for r in runs.values())  # and the diff branch


def test_a_broken_tracking_server_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    fake = build_fake_campaign(tmp_path / "ws", rounds=1, workers=2)
    report = read_model(fake.paths.report(1), RoundReport)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # nothing listens on port 9: fail at once
    with caplog.at_level(logging.WARNING, logger="evotrain.tracking"):
        track_round(TrackingConfig(mlflow=MlflowTracking(uri="http://127.0.0.1:9")), fake.paths, report)
    assert "r001: MLflow tracking failed" in caplog.text
    track_round(TrackingConfig(), fake.paths, report)  # not configured: nothing to do, no mlflow needed
