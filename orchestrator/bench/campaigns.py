"""The bench's campaigns: configs, run-or-resume, and what they did (runs, choices, private scores)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evotrain.io import read_model
from evotrain.paths import CampaignPaths, candidate_label
from evotrain.schemas.common import RecipeValues
from evotrain.schemas.manifest import Manifest
from evotrain.schemas.report import RoundReport
from orchestrator.bench.models import CurvePoint, WorkerSeeds
from orchestrator.campaign.summary import CampaignSummary
from orchestrator.campaign.view import load_manifests, load_policies, load_reports
from orchestrator.config import CampaignConfig

Say = Callable[[str], None]


@dataclass(frozen=True)
class BenchSettings:
    """What every bench campaign and run shares (the CLI's common options)."""

    root: Path
    substrate: Path
    constitution: str
    bench_dir: Path
    overrides: RecipeValues
    parallel: int = 2
    split_items: int = 300


def campaign_name(kind: str, seed: int, fingerprint: str, shape: object) -> str:
    """bench-<kind>-s<seed>-<8 hex>: the hex covers the substrate and the bench's shape, so a re-run of
    the same bench resumes its campaigns and a different one never reuses them."""
    tag = hashlib.sha256(json.dumps([fingerprint, shape], sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"bench-{kind}-s{seed}-{tag}"


def bench_config(s: BenchSettings, name: str, rounds: int, workers: int, seed: int,
                 worker_seeds: WorkerSeeds = "paired", axes_file: Path | None = None) -> CampaignConfig:
    return CampaignConfig(
        name=name, substrate=str(s.substrate), constitution=s.constitution, rounds=rounds,
        workers_per_round=workers, parallel_jobs=s.parallel, seed=seed, recipe_overrides=dict(s.overrides),
        worker_seeds=worker_seeds, axes_file=None if axes_file is None else str(axes_file.resolve()),
        leaderboard={"split_items": s.split_items},  # type: ignore[arg-type]
    )


def run_or_resume(root: Path, cfg: CampaignConfig, say: Say) -> CampaignSummary:
    """A finished campaign is read back; an interrupted one resumed; a new one created and run."""
    from orchestrator.campaign.runner import create_campaign, run_campaign  # LangGraph: only when running

    paths = CampaignPaths(root=root, campaign=cfg.name)
    if paths.summary.is_file():
        summary = read_model(paths.summary, CampaignSummary)
        say(f"campaign {cfg.name}: already finished ({summary.stop_reason})")
        return summary
    resume = paths.config.is_file()
    if not resume:
        create_campaign(root, cfg)
    say(f"campaign {cfg.name}: {'resuming' if resume else 'starting'} {cfg.rounds} rounds x {cfg.workers_per_round} "
        f"workers (state in {paths.state})")
    summary = run_campaign(paths, resume=resume)
    best = summary.best
    say(f"campaign {cfg.name}: {summary.rounds_completed} rounds, {summary.stop_reason}; best "
        + (f"{best.candidate} public {_f(best.public)} private {_f(best.private)}" if best else "none"))
    return summary


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def training_runs(m: Manifest) -> int:
    """Training jobs of one candidate (`<prefix>-a<n>`; smoke runs `-s<n>` are not training runs)."""
    return sum(1 for j in m.job_ids if j.rsplit("-", 1)[-1].startswith("a"))


def campaign_curve(paths: CampaignPaths, private: Callable[[str], float | None]) -> tuple[int, int, list[CurvePoint]]:
    """(training runs, public submissions, curve): after each round, the candidate the campaign would
    submit (best public so far, ties to the earlier, as the summary chooses) and its private score."""
    manifests = load_manifests(paths)
    reports = sorted(load_reports(paths), key=lambda r: r.round)
    runs, curve = 0, []
    best: tuple[float, str] | None = None
    submissions = 0
    for rep in reports:
        runs += sum(training_runs(m) for m in manifests if m.round == rep.round)
        submissions += sum(1 for c in rep.candidates if c.submitted)
        for c in rep.candidates:
            if c.leaderboard is not None and (best is None or c.leaderboard > best[0]):
                best = (c.leaderboard, candidate_label(rep.round, c.worker_id))
        curve.append(CurvePoint(runs=runs, chosen=best[1] if best else None,
                                private=private(best[1]) if best else None))
    return runs, submissions, curve


def reports_and_policies(paths: CampaignPaths) -> tuple[list[RoundReport], list]:
    return sorted(load_reports(paths), key=lambda r: r.round), sorted(load_policies(paths), key=lambda p: p.round)


def private_scorer(root: Path, name: str) -> Callable[[str], float | None]:
    """The campaign's own private-half scorer (its leaderboard, cached by adapter hash)."""
    from orchestrator.campaign.steps import open_campaign

    campaign = open_campaign(root, name)
    return campaign.private_score
