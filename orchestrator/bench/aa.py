"""`evotrain bench aa`: A/A campaigns, where no explorer can truly beat the anchor.

The constitution requires exactly one baseline anchor per round and the meta agent promotes only a
candidate that changed the recipe, so "every worker runs the standing recipe" is built as a
PLACEBO: the campaign's only axis sets one key to a value the substrate ignores (noop: `sleep_s`,
which no score depends on; the default substrate: `lora_target_modules` in another order, which PEFT
reads as a set). Explorers therefore train the standing recipe, their only change is inert, and they
stay eligible for promotion, so a promotion is a false discovery of the whole decision path (band,
replicates, meta rule). Workers get per-worker seeds (CampaignConfig.worker_seeds = per_worker):
under paired seeds an A/A gives identical scores by construction.

Counted per seed: promotions and rounds with one, explorers whose leaderboard gain beat the band
(the promotion rule's test, counted even where the meta could not promote), dead ends registered,
drift flags. A promoted or dead-ended placebo leaves no axis to explore, so such a campaign stops
early ("search space exhausted"); rates are over the rounds actually run.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import yaml

from evotrain.errors import EvotrainError
from evotrain.paths import CampaignPaths
from evotrain.schemas.common import RecipeValue, Scalar, get_path
from orchestrator.bench.campaigns import BenchSettings, Say, bench_config, campaign_name, reports_and_policies
from orchestrator.bench.campaigns import run_or_resume as run_campaign_or_resume
from orchestrator.bench.models import AAReport, AASeed
from orchestrator.bench.sampling import substrate_space
from orchestrator.bench.scoring import substrate_fingerprint


def default_placebo(recipe: dict[str, RecipeValue]) -> tuple[str, RecipeValue]:
    """(key, value) of an inert change for the known substrates; else the user must name one."""
    if isinstance(recipe.get("sleep_s"), int | float):
        return "sleep_s", float(f"{float(recipe['sleep_s']) + 0.01:.6g}")  # type: ignore[arg-type]
    modules = recipe.get("lora_target_modules")
    if isinstance(modules, list) and len(modules) >= 2:
        return "lora_target_modules", list(reversed(modules))
    raise EvotrainError("--placebo-key: this substrate has no known inert key; name one with "
                        "--placebo-key KEY --placebo-value VALUE")


def placebo_axes_file(folder: Path, key: str, value: RecipeValue) -> Path:
    """A one-axis YAML (the axes_file of the A/A campaign): a choice of the single placebo value."""
    choice: Scalar = ",".join(map(str, value)) if isinstance(value, list) else value  # type: ignore[assignment]
    axis = {"name": "placebo", "category": "placebo", "key": key, "range": {"kind": "choice", "choices": [choice]},
            "description": f"A/A placebo: {key} -> {value!r}, a value the substrate ignores"}
    text = yaml.safe_dump([axis], sort_keys=False)
    path = folder / f"aa-axes-{hashlib.sha256(text.encode()).hexdigest()[:8]}.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run_aa(s: BenchSettings, seeds: list[int], rounds: int, workers: int, say: Say,
           placebo_key: str | None = None, placebo_value: RecipeValue = None) -> AAReport:
    started = time.time()
    recipe, _ = substrate_space(s.substrate, s.overrides)
    if placebo_key is None:
        placebo_key, placebo_value = default_placebo(recipe)
    elif get_path(recipe, placebo_key) is None:
        raise EvotrainError(f"--placebo-key: '{placebo_key}' is not a key of the substrate's recipe")
    elif placebo_value is None:
        raise EvotrainError("--placebo-value: required with --placebo-key")
    axes = placebo_axes_file(s.bench_dir, placebo_key, placebo_value)
    fingerprint = substrate_fingerprint(s.substrate)[:16]
    report = AAReport(substrate=str(s.substrate), seeds=seeds, rounds=rounds, workers=workers,
                      placebo_key=placebo_key, placebo_value=placebo_value, recipe_overrides=dict(s.overrides))
    for seed in seeds:
        shape = ["aa", rounds, workers, s.overrides, s.split_items, placebo_key, placebo_value]
        name = campaign_name("aa", seed, fingerprint, shape)
        cfg = bench_config(s, name, rounds, workers, seed, worker_seeds="per_worker", axes_file=axes)
        summary = run_campaign_or_resume(s.root, cfg, say)
        report.per_seed.append(aa_seed(CampaignPaths(s.root, name), seed, summary.stop_reason))
    rows = report.per_seed
    report.rounds_total = sum(r.rounds_run for r in rows)
    if report.rounds_total:
        report.false_promotion_rate = sum(r.rounds_with_promotion for r in rows) / report.rounds_total
        report.eligible_gain_rate = sum(r.rounds_with_eligible_gain for r in rows) / report.rounds_total
    report.dead_ends_total = sum(r.dead_ends for r in rows)
    report.drift_flags_total = sum(r.drift_flags for r in rows)
    early = [r.seed for r in rows if r.rounds_run < rounds]
    if early:
        report.notes.append(f"seeds {early} stopped before {rounds} rounds (a promoted or dead-ended placebo "
                            "leaves nothing to explore)")
    report.wall_s = time.time() - started
    return report


def aa_seed(paths: CampaignPaths, seed: int, stop_reason: str) -> AASeed:
    reports, policies = reports_and_policies(paths)
    final = policies[-1]
    eligible = [sum(1 for c in r.candidates if not c.is_baseline and c.leaderboard_gain is not None
                    and c.leaderboard_gain > r.calibration.promotion_band) for r in reports]
    return AASeed(
        seed=seed, campaign=paths.campaign, worker_seeds="per_worker", rounds_run=len(reports),
        promotions=len(final.promotions), rounds_with_promotion=len({p.round for p in final.promotions}),
        eligible_gains=sum(eligible), rounds_with_eligible_gain=sum(1 for e in eligible if e),
        dead_ends=len(final.dead_ends), drift_flags=sum(r.calibration.drift_flag for r in reports),
        dev_only_rises=sum(r.calibration.dev_only_rise for r in reports),
        noise_bands=[r.calibration.noise_band for r in reports], stop_reason=stop_reason,
    )
