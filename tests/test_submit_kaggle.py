"""The Kaggle path through the real `kaggle` package, against a loopback fake of its API."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import typer
from fakes.fake_campaign import build_fake_campaign
from fakes.kaggle_api_server import FakeKaggleServer
from typer.testing import CliRunner

from evotrain.errors import EvotrainError
from evotrain.io import write_model
from orchestrator.audit.log import AuditLog
from orchestrator.cli.audit import register_audit_commands
from orchestrator.leaderboard.kaggle import KaggleBackend, KaggleBackendError
from orchestrator.leaderboard.package import KaggleSettings, SubmissionConfig, package_adapter


@pytest.fixture
def kaggle_env(tmp_path: Path, monkeypatch):
    """Legacy-key credentials from the environment; nothing from the real home or proxies."""
    from kaggle.api.kaggle_api_extended import KaggleApi

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(KaggleApi, "config", str(home / "kaggle.json"))
    for var in ("KAGGLE_API_TOKEN", "KAGGLE_API_ENVIRONMENT", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("KAGGLE_USERNAME", "alice")
    monkeypatch.setenv("KAGGLE_KEY", "not-a-real-key")
    return monkeypatch


def _settings(server: FakeKaggleServer, **kw) -> KaggleSettings:
    return KaggleSettings(competition=server.state.competition, api_endpoint=server.url,
                          poll_interval_s=0.5, poll_timeout_s=60, **kw)


def _zip(tmp_path: Path) -> Path:
    from fakes.fake_campaign import write_peft_adapter

    return package_adapter(write_peft_adapter(tmp_path / "adapter"), tmp_path / "submission.zip")


def test_submit_uploads_then_polls_until_scored(tmp_path: Path, kaggle_env) -> None:
    zip_path = _zip(tmp_path)
    sleeps: list[float] = []
    with FakeKaggleServer(pending_polls=2) as server:
        result = KaggleBackend(_settings(server), sleep=sleeps.append).submit(zip_path, "evotrain r001/w01")
    assert result.status == "complete" and result.public == pytest.approx(0.8123) and result.ref == "4242"
    assert server.state.uploads["blob-1"] == zip_path.read_bytes()
    methods = [r.path.rsplit("/", 1)[-1] for r in server.state.requests]
    assert methods == ["StartSubmissionUpload", "blob-1", "CreateSubmission",
                       "ListSubmissions", "ListSubmissions", "ListSubmissions"]
    assert sleeps == [0.5, 0.5]
    posts = [r for r in server.state.requests if r.method == "POST"]
    assert all(r.auth_user == "alice" for r in posts)
    assert posts[0].body["fileName"] == "submission.zip"
    assert posts[0].body["contentLength"] == zip_path.stat().st_size
    assert posts[1].body["submissionDescription"] == "evotrain r001/w01"


def test_scoring_error_and_timeout_are_reported(tmp_path: Path, kaggle_env) -> None:
    zip_path = _zip(tmp_path)
    with FakeKaggleServer(pending_polls=0, final_status="ERROR") as server:
        failed = KaggleBackend(_settings(server), sleep=lambda s: None).submit(zip_path, "m")
    assert failed.status == "error" and failed.message == "adapter failed to load" and failed.public is None
    clock = iter(range(0, 1000, 10))
    with FakeKaggleServer(pending_polls=10**6) as server:
        backend = KaggleBackend(_settings(server), sleep=lambda s: None, clock=lambda: float(next(clock)))
        pending = backend.submit(zip_path, "m")
    assert pending.status == "pending" and "still pending after 60s" in pending.message


def test_unknown_competition_is_one_line(tmp_path: Path, kaggle_env) -> None:
    zip_path = _zip(tmp_path)
    with FakeKaggleServer() as server:
        settings = _settings(server).model_copy(update={"competition": "no-such-comp"})
        with pytest.raises(KaggleBackendError) as err:
            KaggleBackend(settings, sleep=lambda s: None).submit(zip_path, "m")
    assert "submit to 'no-such-comp' failed" in err.value.message and "\n" not in err.value.message
    assert server.state.uploads == {}


def test_missing_credentials_name_the_places_and_send_nothing(tmp_path: Path, kaggle_env) -> None:
    kaggle_env.delenv("KAGGLE_USERNAME")
    kaggle_env.delenv("KAGGLE_KEY")
    with FakeKaggleServer() as server, pytest.raises(EvotrainError) as err:
        KaggleBackend(_settings(server)).authenticate()
    assert err.value.exit_code == 2
    assert "KAGGLE_USERNAME and KAGGLE_KEY" in err.value.message and "kaggle.json" in err.value.message
    assert server.state.requests == []


def _app() -> typer.Typer:
    app = typer.Typer()
    register_audit_commands(app)
    return app


def test_cli_submit_to_kaggle_records_the_score(tmp_path: Path, kaggle_env) -> None:
    fake = build_fake_campaign(tmp_path / "ws", rounds=2)
    kaggle_env.chdir(fake.paths.root)
    kaggle_env.setenv("COLUMNS", "200")
    with FakeKaggleServer(pending_polls=1) as server:
        cfg = SubmissionConfig(kaggle=_settings(server).model_copy(update={"poll_interval_s": 0.01}))
        write_model(fake.paths.state / "submission.yaml", cfg)
        result = CliRunner().invoke(_app(), ["submit", "--candidate", "2/w01", "--to", "kaggle"])
    assert result.exit_code == 0, result.output
    assert "sent r002/w01 to kaggle competition 'test-comp'" in result.output
    assert "0.8123" in result.output and "complete" in result.output
    uploaded = server.state.uploads["blob-1"]
    entries = AuditLog(fake.paths.audit_log).entries()
    assert len(entries) == 1
    payload = entries[0].payload
    assert (payload.backend, payload.status, payload.submission_id) == ("kaggle", "complete", "4242")
    assert payload.public == pytest.approx(0.8123)
    assert payload.zip_sha256 == hashlib.sha256(uploaded).hexdigest()
    assert AuditLog(fake.paths.audit_log).verify().ok


def test_cli_kaggle_dry_run_prints_what_would_be_sent(tmp_path: Path, kaggle_env) -> None:
    fake = build_fake_campaign(tmp_path / "ws", rounds=2)
    kaggle_env.chdir(fake.paths.root)
    kaggle_env.setenv("COLUMNS", "200")
    with FakeKaggleServer() as server:
        write_model(fake.paths.state / "submission.yaml", SubmissionConfig(kaggle=_settings(server)))
        result = CliRunner().invoke(_app(), ["submit", "--best", "--to", "kaggle", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "DRY RUN — would send" in result.output and "kaggle competition 'test-comp'" in result.output
    assert "adapter_config.json, adapter_model.safetensors" in result.output and "sha256" in result.output
    assert server.state.requests == []
    assert not fake.paths.audit_log.exists()
