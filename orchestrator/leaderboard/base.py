"""The leaderboard seam: local hidden split (default) or Kaggle. Scores are authoritative."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import Field

from evotrain.schemas.common import Artifact


class LeaderboardScore(Artifact):
    submission_id: str
    candidate: str  # "r001/w03"
    round: int
    public: float
    public_by_family: dict[str, float] = Field(default_factory=dict)
    private: float | None = None  # only filled when asked for at the end of a campaign
    n_items: int = 0
    submitted_at: float  # when scoring finished
    adapter_sha256: str = ""
    eval_seconds: float = 0.0  # time spent scoring (an evaluation job, for overhead accounting)


class SubmissionBudgetExceeded(Exception):
    """The round's (or the backend's daily) submission budget is spent: the collector holds back."""


class ScorePending(SubmissionBudgetExceeded):
    """Submitted, but the score has not arrived in time; it is recorded when it does (a later round)."""


class Leaderboard(Protocol):
    name: str

    def submit(self, candidate: str, round_no: int, adapter_dir: Path) -> LeaderboardScore:
        """Score an adapter on the public half; records the submission; enforces the round budget."""
        ...

    def remaining(self, round_no: int) -> int: ...

    def private(self, candidate: str, adapter_dir: Path) -> float | None:
        """The private-half score, asked for once at the end of a campaign (None if the backend has none)."""
        ...

    def history(self) -> list[LeaderboardScore]: ...
