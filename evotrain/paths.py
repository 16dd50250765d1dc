"""Where a campaign's files live, in one place so every part agrees.

The design card's folders are the loop: `sandboxes/<campaign>/`, `policies/<campaign>/`,
`reports/<campaign>/` under the workspace root; the campaign's runtime state (config, checkpointer
DB, lock, job table, traces, manifests, leaderboard records, audit log) sits in
`campaigns/<campaign>/`. Archiving a campaign = those four folders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def worker_dir_name(worker_index: int) -> str:
    return f"w{worker_index:02d}"


def round_dir_name(round_no: int) -> str:
    return f"r{round_no:03d}"


@dataclass(frozen=True)
class CampaignPaths:
    root: Path  # workspace root (holds campaigns/ sandboxes/ policies/ reports/)
    campaign: str

    @property
    def state(self) -> Path:
        return self.root / "campaigns" / self.campaign

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
    def audit_log(self) -> Path:
        return self.state / "audit.jsonl"

    @property
    def log_file(self) -> Path:
        return self.state / "campaign.log"

    def round_state(self, round_no: int) -> Path:
        return self.state / "rounds" / round_dir_name(round_no)

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
