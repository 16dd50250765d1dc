"""The campaign's Kaggle leaderboard, crash-safe: an intent is recorded before every upload.

Each submission carries a unique tag in its description (`evotrain r001/w02 [evotrain-<hash>]`); the
intent (`kaggle-intents/<tag>.json`) is written *before* the upload and gets the Kaggle ref after it.
A resumed campaign that finds an intent without a ref looks the tag up in the competition's
submissions instead of uploading again (it uploads only if Kaggle never received it). A score still
pending after `score_timeout_s` does not stop the collector: the submission stays recorded (it counts
against the budgets) and its score is picked up on a later call, under its own round. The competition's
daily limit (UTC day) is counted from the intents; when it is spent the collector holds back and the
log says so.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from filelock import FileLock

from evotrain.errors import EvotrainError
from evotrain.io import append_jsonl, read_model, write_model
from evotrain.schemas.common import Artifact
from orchestrator.leaderboard.base import LeaderboardScore, ScorePending, SubmissionBudgetExceeded
from orchestrator.leaderboard.kaggle import KaggleBackend, KaggleSubmission
from orchestrator.leaderboard.local import adapter_sha256
from orchestrator.leaderboard.package import KaggleSettings, SubmissionConfig, package_adapter, validate_package

log = logging.getLogger("evotrain.leaderboard.kaggle")


class KaggleIntent(Artifact):
    """One submission, from before its upload to its score."""

    tag: str
    candidate: str
    round: int
    adapter_sha256: str
    created_at: float  # counts against the UTC day's limit from here on
    ref: str | None = None  # set once Kaggle accepted the upload
    state: Literal["intent", "submitted", "scored", "error"] = "intent"
    message: str = ""


def utc_day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


class KaggleLeaderboard:
    name = "kaggle"

    def __init__(self, folder: Path, budget_per_round: int, settings: KaggleSettings,
                 submission: SubmissionConfig | None = None, submissions_per_day: int = 5,
                 backend: KaggleBackend | None = None, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.budget_per_round = budget_per_round
        self.submissions_per_day = submissions_per_day
        self.backend = backend or KaggleBackend(settings)
        self.submission = submission or SubmissionConfig(kaggle=settings)
        self.records = folder / "kaggle-submissions.jsonl"
        self.intents = folder / "kaggle-intents"
        self._lock = FileLock(str(folder / "kaggle.lock"))
        self._clock = clock

    # -- the Leaderboard protocol ----------------------------------------------------------------

    def submit(self, candidate: str, round_no: int, adapter_dir: Path) -> LeaderboardScore:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self.settle_pending()
            sha = adapter_sha256(adapter_dir)
            tag = self._tag(candidate, round_no, sha)
            intent = self._read(tag)
            if intent is not None and intent.state == "scored":
                return next(s for s in self.history() if s.submission_id == intent.ref)
            started = self._clock()
            if intent is None:
                self._check_budgets(round_no)
                intent = KaggleIntent(tag=tag, candidate=candidate, round=round_no, adapter_sha256=sha,
                                      created_at=started)
                intent = self._send(intent, adapter_dir, write_first=True)
            elif intent.ref is None:  # a crash between the intent and recording the ref: did Kaggle get it?
                ref = self.backend.find(tag)
                if ref is not None:
                    log.info("kaggle: %s was already uploaded as %s (found by its tag); not uploading again",
                             candidate, ref)
                    intent = self._save(intent.model_copy(update={"ref": ref, "state": "submitted"}))
                else:
                    intent = self._send(intent, adapter_dir, write_first=False)
            result = self.backend.poll(self.backend.authenticate(), intent.ref or "", "")
            return self._settle(intent, result, started, raise_pending=True)  # type: ignore[return-value]

    def history(self) -> list[LeaderboardScore]:
        if not self.records.is_file():
            return []
        return [LeaderboardScore.model_validate_json(line) for line in self.records.read_text().splitlines() if line]

    def remaining(self, round_no: int) -> int:
        """The round's budget minus every submission charged to it (pending ones included)."""
        return max(0, self.budget_per_round - sum(1 for i in self.all_intents() if i.round == round_no))

    def remaining_today(self) -> int:
        today = utc_day(self._clock())
        return max(0, self.submissions_per_day - sum(1 for i in self.all_intents() if utc_day(i.created_at) == today))

    def private(self, candidate: str, adapter_dir: Path) -> float | None:
        return None  # Kaggle reveals the private leaderboard only when the competition closes

    # -- intents ---------------------------------------------------------------------------------

    def all_intents(self) -> list[KaggleIntent]:
        if not self.intents.is_dir():
            return []
        return [read_model(p, KaggleIntent) for p in sorted(self.intents.glob("*.json"))]

    def settle_pending(self) -> list[LeaderboardScore]:
        """Poll once for every submitted-but-unscored intent; record the scores that have arrived."""
        done = []
        for intent in self.all_intents():
            if intent.state == "submitted" and intent.ref:
                api = self.backend.authenticate()
                result = self.backend.poll_once(api, intent.ref)
                score = self._settle(intent, result, intent.created_at, raise_pending=False)
                if score is not None:
                    log.info("kaggle: pending score of %s (round %d) arrived: %.4f", intent.candidate, intent.round,
                             score.public)
                    done.append(score)
        return done

    def _tag(self, candidate: str, round_no: int, sha: str) -> str:
        key = f"{self.folder.resolve()}|{candidate}|{round_no}|{sha}"
        return "evotrain-" + hashlib.sha256(key.encode()).hexdigest()[:16]

    def _read(self, tag: str) -> KaggleIntent | None:
        path = self.intents / f"{tag}.json"
        return read_model(path, KaggleIntent) if path.is_file() else None

    def _save(self, intent: KaggleIntent) -> KaggleIntent:
        self.intents.mkdir(parents=True, exist_ok=True)
        write_model(self.intents / f"{intent.tag}.json", intent)  # atomic
        return intent

    def _check_budgets(self, round_no: int) -> None:
        if self.remaining(round_no) <= 0:
            raise SubmissionBudgetExceeded(f"round {round_no}: budget of {self.budget_per_round} spent")
        if self.remaining_today() <= 0:
            msg = (f"kaggle: today's limit of {self.submissions_per_day} submissions (UTC day "
                   f"{utc_day(self._clock())}) is spent; holding back until 00:00 UTC")
            log.warning(msg)
            raise SubmissionBudgetExceeded(msg)

    def _send(self, intent: KaggleIntent, adapter_dir: Path, write_first: bool) -> KaggleIntent:
        with tempfile.TemporaryDirectory() as tmp:
            zip_path = package_adapter(adapter_dir, Path(tmp) / "submission.zip")
            validate_package(zip_path, self.submission)  # a refused package records no intent
            if write_first:
                self._save(intent)  # the intent exists before anything reaches Kaggle
            ref, _ = self.backend.upload(zip_path, f"evotrain {intent.candidate} [{intent.tag}]")
        return self._save(intent.model_copy(update={"ref": ref, "state": "submitted"}))

    def _settle(self, intent: KaggleIntent, result: KaggleSubmission, started: float,
                raise_pending: bool) -> LeaderboardScore | None:
        if result.status == "pending":
            if raise_pending:
                msg = (f"kaggle: submission {result.ref} of {intent.candidate} is still pending; its score is "
                       "recorded when it arrives (a later round)")
                log.warning(msg)
                raise ScorePending(msg)
            return None
        if result.status == "error" or result.public is None:
            self._save(intent.model_copy(update={"state": "error", "message": result.message}))
            if raise_pending:
                raise EvotrainError(f"kaggle: submission {result.ref} of {intent.candidate} has no score "
                                    f"({result.status}: {result.message})")
            return None
        score = LeaderboardScore(
            submission_id=result.ref, candidate=intent.candidate, round=intent.round, public=result.public,
            submitted_at=self._clock(), adapter_sha256=intent.adapter_sha256,
            eval_seconds=max(0.0, self._clock() - started),
        )
        if not any(s.submission_id == score.submission_id for s in self.history()):  # a crash before "scored"
            append_jsonl(self.records, score.model_dump_json())  # the score first: a crash here re-polls only
        self._save(intent.model_copy(update={"state": "scored"}))
        return score
