"""`evotrain bench drift`: a planted proxy-drift scenario in real training.

The campaign's search space (its axes_file) is one planted axis that should raise dev without moving
the leaderboard (default `mixture_weights.equations`: the default substrate's dev split
over-represents equations, its hidden split is uniform over families), plus any real axes named
with --with-axis. Per seed, from the round reports and policies: the first round with a dev-only
rise (a candidate's dev gain > the dev band while its leaderboard gain <= the band: the collector's
`calibration.dev_only_rise`), the first round whose report flags drift, the round whose policy first
has the proxy_aware objective, and whether the planted key is on the dead-end registry. Drift needs
`drift_rounds` (constitution) consecutive dev-only rises, so at least that many rounds.

The scenario also plants the standing recipe's value of the axis (`--axis-start`, default 0.25): on
the default substrate, equations at 0.25 stay unlearned, so the anchor's dev is stable and the first
step up the axis teaches the copy-only level-0 equations dev over-represents. At the substrate's own
weight (1.0) they are half-learned and the step's dev gain is about the anchor's dev noise, so the
two-in-a-row rule rarely fires (docs/BENCHMARKS.md, seventh session).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from pathlib import Path

import yaml

from evotrain.errors import EvotrainError
from evotrain.paths import CampaignPaths
from evotrain.schemas.common import RecipeValue, RecipeValues, get_path, set_path
from evotrain.schemas.policy import Axis, AxisRange
from orchestrator.bench.campaigns import BenchSettings, Say, bench_config, campaign_name, reports_and_policies
from orchestrator.bench.campaigns import run_or_resume as run_campaign_or_resume
from orchestrator.bench.models import DriftReport, DriftSeed
from orchestrator.bench.sampling import substrate_space
from orchestrator.bench.scoring import substrate_fingerprint


def _recipe_with_key(s: BenchSettings, key: str) -> tuple[RecipeValues, list[Axis]]:
    """The substrate's recipe and axes, once the planted key is known to be in that recipe."""
    recipe, axes = substrate_space(s.substrate, s.overrides)
    if get_path(recipe, key) is None:
        raise EvotrainError(f"--axis-key: '{key}' is not a key of the substrate's recipe")
    return recipe, axes


def planted_axes_file(folder: Path, s: BenchSettings, key: str, rng: dict[str, RecipeValue], category: str,
                      extra: list[str]) -> Path:
    _, axes = _recipe_with_key(s, key)
    try:
        planted = Axis(name="planted", category=category, key=key, range=AxisRange.model_validate(rng),
                       description="planted: raises dev without moving the leaderboard (bench drift)")
    except ValueError as exc:
        raise EvotrainError(f"--axis-kind/--axis-low/--axis-high: {str(exc).splitlines()[-1].strip()}") from exc
    by_name = {a.name: a for a in axes}
    unknown = [n for n in extra if n not in by_name]
    if unknown:
        raise EvotrainError(f"--with-axis: '{unknown[0]}' is not an axis of the substrate (have: {', '.join(by_name)})")
    chosen = [planted, *(by_name[n] for n in extra if by_name[n].key != key)]
    text = yaml.safe_dump([a.model_dump(mode="json", include={"name", "category", "description", "key", "range"},
                                        exclude_none=True) for a in chosen], sort_keys=False)
    path = folder / f"drift-axes-{hashlib.sha256(text.encode()).hexdigest()[:8]}.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def with_axis_start(s: BenchSettings, key: str, start: float | None) -> BenchSettings:
    """The settings with the planted key's standing value set to `start` (None: the substrate's own)."""
    if start is None:
        return s
    recipe, _ = _recipe_with_key(s, key)
    head = key.split(".")[0]
    return replace(s, overrides={**s.overrides, head: set_path(recipe, key, start)[head]})


def run_drift(s: BenchSettings, seeds: list[int], rounds: int, workers: int, say: Say, axis_key: str,
              axis_range: dict[str, RecipeValue], category: str = "data_mix",
              extra: list[str] | None = None) -> DriftReport:
    started = time.time()
    extra = list(extra or [])
    axes = planted_axes_file(s.bench_dir, s, axis_key, axis_range, category, extra)
    fingerprint = substrate_fingerprint(s.substrate)[:16]
    report = DriftReport(substrate=str(s.substrate), seeds=seeds, rounds=rounds, workers=workers, axis_key=axis_key,
                         axis_range=dict(axis_range), extra_axes=extra, recipe_overrides=dict(s.overrides))
    for seed in seeds:
        shape = ["drift", rounds, workers, s.overrides, s.split_items, axes.name]
        name = campaign_name("drift", seed, fingerprint, shape)
        summary = run_campaign_or_resume(s.root, bench_config(s, name, rounds, workers, seed, axes_file=axes), say)
        row = drift_seed(CampaignPaths(s.root, name), seed, axis_key, summary.stop_reason)
        say(f"drift s{seed}: first dev-only rise {row.first_dev_only_rise}, flagged {row.flagged_round}, "
            f"objective switched {row.objective_switched_round}, dead end {row.axis_dead_end}")
        report.per_seed.append(row)
    rows = report.per_seed
    report.flagged_within_2 = sum(r.flagged_within_2 for r in rows)
    report.with_dev_only_rise = sum(r.first_dev_only_rise is not None for r in rows)
    report.objective_switched = sum(r.objective_switched_round is not None for r in rows)
    report.axis_dead_end = sum(r.axis_dead_end for r in rows)
    report.wall_s = time.time() - started
    return report


def drift_seed(paths: CampaignPaths, seed: int, axis_key: str, stop_reason: str) -> DriftSeed:
    reports, policies = reports_and_policies(paths)
    rise = next((r for r in reports if r.calibration.dev_only_rise), None)
    flag = next((r.round for r in reports if r.calibration.drift_flag), None)
    switched = next((p.round for p in policies if p.objective == "proxy_aware"), None)
    first = rise.round if rise else None
    return DriftSeed(
        seed=seed, campaign=paths.campaign, rounds_run=len(reports), first_dev_only_rise=first,
        first_rise_axis=rise.calibration.drift_axis if rise else None, flagged_round=flag,
        objective_switched_round=switched,
        axis_dead_end=any(d.key == axis_key for d in policies[-1].dead_ends) if policies else False,
        flagged_within_2=first is not None and flag is not None and flag - first <= 2, stop_reason=stop_reason,
    )
