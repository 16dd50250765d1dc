"""Open the campaign's leaderboard backend: the local hidden split (default) or Kaggle.

The Kaggle leaderboard (kaggle_board.py) packages the adapter exactly as `evotrain submit` does
(validated submission.zip), records an intent, sends it through the official `kaggle` package, waits
for the public score and records it like a local submission, so the collector cannot tell the two apart.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from evotrain.paths import CampaignPaths
from orchestrator.config import LeaderboardConfig
from orchestrator.leaderboard.base import Leaderboard
from orchestrator.leaderboard.executor_eval import ExecutorEvaluation
from orchestrator.leaderboard.kaggle_board import KaggleLeaderboard
from orchestrator.leaderboard.local import HiddenSplitSpec, LocalLeaderboard
from orchestrator.leaderboard.package import KaggleSettings, SubmissionConfig


def open_leaderboard(cfg: LeaderboardConfig, paths: CampaignPaths, substrate_dir: Path,
                     verify_substrate: Callable[[], object] | None = None, isolated: bool = False,
                     inputs: dict[str, str] | None = None,
                     evaluation: ExecutorEvaluation | None = None) -> Leaderboard:
    if cfg.kind == "kaggle":
        settings = KaggleSettings(competition=cfg.competition, poll_timeout_s=cfg.score_timeout_s)
        submission = SubmissionConfig(max_zip_bytes=cfg.max_zip_bytes, kaggle=settings)
        return KaggleLeaderboard(paths.leaderboard, cfg.submissions_per_round, settings, submission,
                                 submissions_per_day=cfg.submissions_per_day)
    spec = HiddenSplitSpec(n_public=cfg.split_items, n_private=cfg.split_items)
    return LocalLeaderboard(substrate_dir, paths.leaderboard, budget_per_round=cfg.submissions_per_round, spec=spec,
                            verify_substrate=verify_substrate, isolated=isolated, inputs=inputs,
                            evaluation=evaluation)
