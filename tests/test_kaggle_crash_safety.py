"""Kaggle leaderboard that survives crashes, through the real `kaggle` package against the loopback fake:
an orchestrator SIGKILLed right after the upload does not upload again on resume; a pending score is
carried to a later round; the daily limit holds the collector back; the size cap is a setting."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fakes.fake_campaign import write_peft_adapter
from fakes.kaggle_api_server import FakeKaggleServer

from evotrain.errors import EvotrainError
from orchestrator.leaderboard.base import ScorePending, SubmissionBudgetExceeded
from orchestrator.leaderboard.kaggle_board import KaggleIntent, KaggleLeaderboard
from orchestrator.leaderboard.package import KaggleSettings, SubmissionConfig

TESTS = Path(__file__).resolve().parent
DAY = 86400.0


@pytest.fixture
def kaggle_env(tmp_path: Path, monkeypatch) -> dict[str, str]:
    from kaggle.api.kaggle_api_extended import KaggleApi

    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "KAGGLE_CONFIG_DIR": str(home), "KAGGLE_USERNAME": "alice",
           "KAGGLE_KEY": "not-a-real-key", "NO_PROXY": "127.0.0.1,localhost"}
    for var in ("KAGGLE_API_TOKEN", "KAGGLE_API_ENVIRONMENT", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(KaggleApi, "config", str(home / "kaggle.json"))
    return env


def _settings(server: FakeKaggleServer, timeout_s: float = 30.0) -> KaggleSettings:
    return KaggleSettings(competition=server.state.competition, api_endpoint=server.url, poll_interval_s=0.05,
                          poll_timeout_s=timeout_s)


def _methods(server: FakeKaggleServer) -> list[str]:
    return [r.path.rsplit("/", 1)[-1] for r in server.state.requests]


CRASH_AFTER_UPLOAD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from orchestrator.leaderboard.kaggle_board import KaggleLeaderboard
    from orchestrator.leaderboard.package import KaggleSettings
    folder, adapter, url = sys.argv[1:4]
    board = KaggleLeaderboard(Path(folder), 3, KaggleSettings(competition="test-comp", api_endpoint=url))
    upload = board.backend.upload
    def upload_then_die(*args, **kw):
        upload(*args, **kw)
        os.kill(os.getpid(), signal.SIGKILL)  # killed right after Kaggle accepted it, before the ref is recorded
    board.backend.upload = upload_then_die
    board.submit("r001/w02", 1, Path(adapter))
""")


def test_kill_right_after_upload_then_resume_does_not_upload_again(tmp_path: Path, kaggle_env) -> None:
    adapter = write_peft_adapter(tmp_path / "adapter")
    folder = tmp_path / "leaderboard"
    with FakeKaggleServer(pending_polls=0) as server:
        proc = subprocess.run([sys.executable, "-c", CRASH_AFTER_UPLOAD, str(folder), str(adapter), server.url],
                              cwd=TESTS.parent, env={**os.environ, **kaggle_env}, capture_output=True, text=True,
                              timeout=120, check=False)
        assert proc.returncode == -9, proc.stderr
        (intent_file,) = (folder / "kaggle-intents").glob("*.json")
        intent = KaggleIntent.model_validate_json(intent_file.read_text())
        assert intent.ref is None and intent.state == "intent"  # recorded before the upload, ref never written
        assert len(server.state.submissions) == 1 and f"[{intent.tag}]" in server.state.submissions[4242]["description"]
        before = len(server.state.requests)
        board = KaggleLeaderboard(folder, 3, _settings(server))  # the resumed campaign
        score = board.submit("r001/w02", 1, adapter)
        resumed = _methods(server)[before:]
    assert "StartSubmissionUpload" not in resumed and "CreateSubmission" not in resumed  # found by its tag
    assert len(server.state.uploads) == 1 and len(server.state.submissions) == 1
    assert (score.submission_id, score.candidate, score.round) == ("4242", "r001/w02", 1)
    assert score.public == pytest.approx(0.8123)
    assert [s.submission_id for s in board.history()] == ["4242"]
    assert board.submit("r001/w02", 1, adapter) == score  # asked again: the recorded score, nothing sent
    assert board.remaining(1) == 2


def test_pending_score_is_carried_to_a_later_round(tmp_path: Path, kaggle_env) -> None:
    a1, a2 = write_peft_adapter(tmp_path / "a1"), write_peft_adapter(tmp_path / "a2", rank=4)
    with FakeKaggleServer(pending_polls=10**6) as server:
        board = KaggleLeaderboard(tmp_path / "lb", 3, _settings(server, timeout_s=0.3))
        with pytest.raises(ScorePending, match="still pending"):
            board.submit("r001/w01", 1, a1)
        assert board.history() == [] and board.remaining(1) == 2  # it counts against round 1's budget
        server.state.pending_polls = 0  # Kaggle finishes scoring it later
        board.submit("r002/w01", 2, a2)
    rounds = {s.candidate: s.round for s in board.history()}
    assert rounds == {"r001/w01": 1, "r002/w01": 2}  # the late score keeps its own round
    assert len(server.state.submissions) == 2


def test_daily_limit_holds_back_until_the_next_utc_day(tmp_path: Path, kaggle_env) -> None:
    now = [1_800_000_000.0 - 1_800_000_000.0 % DAY + 3600.0]  # 01:00 UTC
    with FakeKaggleServer(pending_polls=0) as server:
        board = KaggleLeaderboard(tmp_path / "lb", 5, _settings(server), submissions_per_day=2, clock=lambda: now[0])
        for i in (1, 2):
            board.submit(f"r001/w0{i}", 1, write_peft_adapter(tmp_path / f"a{i}", rank=2 * i))
        third = write_peft_adapter(tmp_path / "a3", rank=8)
        with pytest.raises(SubmissionBudgetExceeded, match=r"today's limit of 2 submissions .* holding back"):
            board.submit("r001/w03", 1, third)
        assert len(server.state.uploads) == 2  # nothing was sent for the third
        now[0] += DAY
        assert board.submit("r001/w03", 1, third).candidate == "r001/w03"
    assert board.remaining_today() == 1


def test_size_cap_is_a_setting_and_a_refused_zip_records_no_intent(tmp_path: Path, kaggle_env) -> None:
    from evotrain.paths import CampaignPaths
    from orchestrator.config import LeaderboardConfig
    from orchestrator.leaderboard.factory import open_leaderboard

    assert SubmissionConfig().max_zip_bytes == 4 * 1024**3  # real adapters were 1-3.5 GB
    board = open_leaderboard(LeaderboardConfig(kind="kaggle", max_zip_bytes=100, submissions_per_day=7),
                             CampaignPaths(root=tmp_path, campaign="c"), tmp_path)
    assert isinstance(board, KaggleLeaderboard) and board.submissions_per_day == 7
    with pytest.raises(EvotrainError, match="exceeds the size limit of 100 bytes"):
        board.submit("r001/w01", 1, write_peft_adapter(tmp_path / "a"))
    assert board.all_intents() == []
