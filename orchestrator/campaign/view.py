"""Read-only view of a campaign's files for the audit commands, dashboard and submission.

Everything here only reads; each loader validates through `read_model`, so a corrupt artifact is a
one-line error naming its path. A campaign defaults to the most recently modified folder under
`<root>/campaigns/`.
"""

from __future__ import annotations

import re
from pathlib import Path

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.paths import CampaignPaths, CandidateRef, campaigns_dir
from evotrain.schemas.manifest import Manifest
from evotrain.schemas.policy import Policy
from evotrain.schemas.report import RoundReport

_ROUND_FILE = re.compile(r"round-(\d{3,})\.json")
_ROUND_DIR = re.compile(r"r(\d{3,})")


def resolve_campaign(root: Path, campaign: str | None) -> CampaignPaths:
    """The named campaign, or the most recent one under `<root>/campaigns/`."""
    base = campaigns_dir(root)
    if campaign:
        paths = CampaignPaths(root=root, campaign=campaign)
        if not paths.state.is_dir() and not paths.reports.is_dir():
            raise EvotrainError(f"--campaign: no campaign '{campaign}' under {base}")
        return paths
    if not base.is_dir():
        raise EvotrainError(f"--campaign: no campaigns folder at {base} (run a campaign or pass --campaign)")
    found = [d for d in base.iterdir() if d.is_dir() and not d.name.startswith(".")]
    if not found:
        raise EvotrainError(f"--campaign: no campaign under {base}")
    latest = max(found, key=lambda d: (d.stat().st_mtime, d.name))
    return CampaignPaths(root=root, campaign=latest.name)


def _numbered(folder: Path, pattern: re.Pattern[str], glob: str) -> list[tuple[int, Path]]:
    if not folder.is_dir():
        return []
    out = [(int(m.group(1)), p) for p in folder.glob(glob) if (m := pattern.fullmatch(p.name))]
    return sorted(out)


def report_rounds(paths: CampaignPaths) -> list[int]:
    return [n for n, _ in _numbered(paths.reports, _ROUND_FILE, "round-*.json")]


def policy_rounds(paths: CampaignPaths) -> list[int]:
    return [n for n, _ in _numbered(paths.policies, _ROUND_FILE, "round-*.json")]


def load_report(paths: CampaignPaths, round_no: int) -> RoundReport:
    path = paths.report(round_no)
    if not path.is_file():
        have = ", ".join(str(n) for n in report_rounds(paths)) or "none"
        raise EvotrainError(f"ROUND: no report for round {round_no} at {path} (reports: {have})")
    return read_model(path, RoundReport)


def load_reports(paths: CampaignPaths) -> list[RoundReport]:
    return [read_model(p, RoundReport) for _, p in _numbered(paths.reports, _ROUND_FILE, "round-*.json")]


def load_policies(paths: CampaignPaths) -> list[Policy]:
    return [read_model(p, Policy) for _, p in _numbered(paths.policies, _ROUND_FILE, "round-*.json")]


def load_manifests(paths: CampaignPaths) -> list[Manifest]:
    """Every worker manifest of every round, in (round, worker) order."""
    out: list[Manifest] = []
    for _, rdir in _numbered(paths.rounds, _ROUND_DIR, "r*"):
        folder = rdir / "manifests"
        if folder.is_dir():
            out.extend(read_model(p, Manifest) for p in sorted(folder.glob("w*.json")))
    return out


def parse_candidate(text: str) -> CandidateRef:
    """`3/w02`, `r003/w02` or `r3/w2` → CandidateRef(3, "w02")."""
    return CandidateRef.parse(text)


def load_manifest(paths: CampaignPaths, ref: CandidateRef) -> Manifest:
    path = paths.manifest(ref.round, ref.worker_id)
    if not path.is_file():
        raise EvotrainError(f"--candidate: no manifest for {ref.label} at {path}")
    return read_model(path, Manifest)
