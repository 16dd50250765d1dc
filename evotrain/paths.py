"""Where a campaign's files live, in one place so every part agrees.

The design card's folders are the loop: `sandboxes/<campaign>/`, `policies/<campaign>/`,
`reports/<campaign>/` under the workspace root; the campaign's runtime state (config, checkpointer
DB, lock, job table, traces, manifests, leaderboard records, audit log) sits in
`campaigns/<campaign>/`. Archiving a campaign = those four folders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from evotrain.errors import EvotrainError


def worker_dir_name(worker_index: int) -> str:
    return f"w{worker_index:02d}"


def round_dir_name(round_no: int) -> str:
    return f"r{round_no:03d}"


_CANDIDATE = re.compile(r"r?(\d+)/w(\d+)")


@dataclass(frozen=True)
class CandidateRef:
    """One candidate of a campaign: round + worker. Its label `r003/w02` is the only id format."""

    round: int
    worker_id: str

    @property
    def label(self) -> str:
        return f"{round_dir_name(self.round)}/{self.worker_id}"

    @classmethod
    def parse(cls, text: str, field: str = "--candidate") -> CandidateRef:
        """`3/w02`, `r003/w02` or `r3/w2` → CandidateRef(3, "w02"); anything else is a one-line error."""
        m = _CANDIDATE.fullmatch(text.strip())
        if not m:
            raise EvotrainError(f"{field}: '{text}' is not ROUND/WORKER (e.g. 2/w03 or r002/w03)")
        return cls(round=int(m.group(1)), worker_id=worker_dir_name(int(m.group(2))))


def candidate_label(round_no: int, worker_id: str) -> str:
    return CandidateRef(round_no, worker_id).label


def job_id_prefix(campaign: str, round_no: int, worker_id: str) -> str:
    """Every job of a candidate is `<prefix>-a<n>` (training) or `<prefix>-s<n>` (smoke)."""
    return f"{campaign}-{round_dir_name(round_no)}-{worker_id}"


def campaigns_dir(root: Path) -> Path:
    """Where every campaign of a workspace keeps its state."""
    return root / "campaigns"


JUDGE_INTERVAL = "interval.json"  # in a judge report folder: when the judge ran, {started, ended} (epoch s)


def judge_root(state_dir: Path) -> Path:
    """Verified substrate checkouts and judge reports of a campaign (outside every sandbox)."""
    return state_dir / "judge"


@dataclass(frozen=True)
class CampaignPaths:
    root: Path  # workspace root (holds campaigns/ sandboxes/ policies/ reports/)
    campaign: str

    @property
    def state(self) -> Path:
        return campaigns_dir(self.root) / self.campaign

    @property
    def config(self) -> Path:
        return self.state / "campaign.json"

    @property
    def lock(self) -> Path:
        return self.state / "campaign.lock"

    @property
    def checkpoint_db(self) -> Path:
        return self.state / "checkpoints.sqlite"

    @property
    def substrate_repo(self) -> Path:
        return self.state / "substrate.git"

    @property
    def jobs(self) -> Path:
        return self.state / "jobs"

    @property
    def leaderboard(self) -> Path:
        return self.state / "leaderboard"

    @property
    def inputs(self) -> Path:
        """The worker-visible copies of the substrate's user-given inputs (bound read-only into jobs)."""
        return self.state / "inputs"

    @property
    def audit_log(self) -> Path:
        return self.state / "audit.jsonl"

    @property
    def log_file(self) -> Path:
        return self.state / "campaign.log"

    @property
    def rounds(self) -> Path:
        return self.state / "rounds"

    def round_state(self, round_no: int) -> Path:
        return self.rounds / round_dir_name(round_no)

    @property
    def judge(self) -> Path:
        return judge_root(self.state)

    @property
    def llm_calls(self) -> Path:
        """Every LLM API call of the campaign (workers, collector, meta): usage, dollars, latency."""
        return self.state / "llm_calls.jsonl"

    @property
    def summary(self) -> Path:
        return self.state / "summary.json"

    @property
    def stop_request(self) -> Path:
        return self.state / "stop-request"

    @property
    def fork_record(self) -> Path:
        return self.state / "substrate.json"

    @property
    def sessions(self) -> Path:
        return self.state / "sessions.json"

    @property
    def submissions(self) -> Path:
        return self.state / "submissions"

    @property
    def submission_config(self) -> Path:
        return self.state / "submission.yaml"

    @property
    def private_scores(self) -> Path:
        return self.leaderboard / "private.jsonl"

    @property
    def dashboard(self) -> Path:
        return self.reports / "dashboard"

    def brief(self, round_no: int, worker_id: str) -> Path:
        return self.round_state(round_no) / "briefs" / f"{worker_id}.json"

    def manifest(self, round_no: int, worker_id: str) -> Path:
        return self.round_state(round_no) / "manifests" / f"{worker_id}.json"

    def trace(self, round_no: int, worker_id: str) -> Path:
        return self.round_state(round_no) / "traces" / f"{worker_id}.jsonl"

    def sandbox(self, round_no: int, worker_id: str) -> Path:
        return self.root / "sandboxes" / self.campaign / round_dir_name(round_no) / worker_id

    @property
    def policies(self) -> Path:
        return self.root / "policies" / self.campaign

    def policy(self, round_no: int) -> Path:
        return self.policies / f"round-{round_no:03d}.json"

    @property
    def reports(self) -> Path:
        return self.root / "reports" / self.campaign

    def report(self, round_no: int) -> Path:
        return self.reports / f"round-{round_no:03d}.json"
