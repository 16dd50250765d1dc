"""Open the campaign's leaderboard backend: the local hidden split (default) or Kaggle.

The Kaggle leaderboard packages the adapter exactly as `evotrain submit` does (validated
submission.zip), sends it through the official `kaggle` package, waits for the public score and
records it like a local submission, so the collector cannot tell the two apart.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

from evotrain.errors import EvotrainError
from evotrain.io import append_jsonl
from evotrain.paths import CampaignPaths
from orchestrator.config import LeaderboardConfig
from orchestrator.leaderboard.base import Leaderboard, LeaderboardScore, SubmissionBudgetExceeded
from orchestrator.leaderboard.kaggle import KaggleBackend
from orchestrator.leaderboard.local import HiddenSplitSpec, LocalLeaderboard, adapter_sha256
from orchestrator.leaderboard.package import KaggleSettings, SubmissionConfig, package_adapter, validate_package


class KaggleLeaderboard:
    name = "kaggle"

    def __init__(self, folder: Path, budget_per_round: int, settings: KaggleSettings,
                 submission: SubmissionConfig | None = None) -> None:
        self.folder = folder
        self.budget_per_round = budget_per_round
        self.backend = KaggleBackend(settings)
        self.submission = submission or SubmissionConfig(kaggle=settings)
        self.records = folder / "kaggle-submissions.jsonl"
        self._lock = FileLock(str(folder / "kaggle.lock"))

    def submit(self, candidate: str, round_no: int, adapter_dir: Path) -> LeaderboardScore:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if self.remaining(round_no) <= 0:
                raise SubmissionBudgetExceeded(f"round {round_no}: budget of {self.budget_per_round} spent")
            started = time.time()
            with tempfile.TemporaryDirectory() as tmp:
                zip_path = package_adapter(adapter_dir, Path(tmp) / "submission.zip")
                validate_package(zip_path, self.submission)
                result = self.backend.submit(zip_path, f"evotrain {candidate}")
            if result.public is None:
                raise EvotrainError(f"kaggle: submission {result.ref} of {candidate} has no score ({result.status})")
            score = LeaderboardScore(
                submission_id=result.ref, candidate=candidate, round=round_no, public=result.public,
                submitted_at=time.time(), adapter_sha256=adapter_sha256(adapter_dir),
                eval_seconds=time.time() - started,
            )
            append_jsonl(self.records, score.model_dump_json())
            return score

    def history(self) -> list[LeaderboardScore]:
        if not self.records.is_file():
            return []
        return [LeaderboardScore.model_validate_json(line) for line in self.records.read_text().splitlines() if line]

    def remaining(self, round_no: int) -> int:
        return max(0, self.budget_per_round - sum(1 for s in self.history() if s.round == round_no))

    def private(self, candidate: str, adapter_dir: Path) -> float | None:
        return None  # Kaggle reveals the private leaderboard only when the competition closes


def open_leaderboard(cfg: LeaderboardConfig, paths: CampaignPaths, substrate_dir: Path,
                     verify_substrate: Callable[[], object] | None = None, isolated: bool = False) -> Leaderboard:
    if cfg.kind == "kaggle":
        settings = KaggleSettings(competition=cfg.competition)
        return KaggleLeaderboard(paths.leaderboard, cfg.submissions_per_round, settings)
    spec = HiddenSplitSpec(n_public=cfg.split_items, n_private=cfg.split_items)
    return LocalLeaderboard(substrate_dir, paths.leaderboard, budget_per_round=cfg.submissions_per_round, spec=spec,
                            verify_substrate=verify_substrate, isolated=isolated)
