"""`bench efficiency --reuse REPORT`: an earlier efficiency report's baseline runs as score-only cache records.

Why: a seed's random search and oracle are 96 training runs (about an hour of 2 cores), and the bench's
cache lives in the workspace, which a new machine does not have. The report JSON holds every run's
recipe (as values over the baseline), seed, dev, chosen step and the scores it measured, so a
committed report lets a later bench (another day, another machine of the same kind) compare a new
campaign with the same baselines without retraining them. Reuse is refused unless the report ran the
same substrate (fingerprint) and split size, and every run's recipe hashes to the value it recorded
(the same recipe overrides); a half a run was never scored on is computed by retraining it
(scoring.RunScorer.score).
"""

from __future__ import annotations

from pathlib import Path

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.schemas.common import RecipeValues
from orchestrator.bench import sampling
from orchestrator.bench.models import BenchRun, EfficiencyReport
from orchestrator.bench.scoring import CachedRun, substrate_fingerprint
from orchestrator.collect.noise import recipe_sha256


def reusable_runs(path: Path, substrate: Path, baseline: RecipeValues, split_items: int) -> list[CachedRun]:
    """One score-only record per distinct (recipe, seed) in the report's baseline runs; fields a method
    measured are joined (random search's public score, the oracle's private score of the same draw)."""
    report = read_model(path, EfficiencyReport)
    fingerprint = substrate_fingerprint(substrate)
    if report.substrate_fingerprint != fingerprint:
        raise EvotrainError(f"--reuse {path}: substrate_fingerprint {report.substrate_fingerprint[:16] or '(none)'} "
                            f"is not this substrate's {fingerprint[:16]}: its runs trained another substrate")
    if report.split_items != split_items:
        raise EvotrainError(f"--reuse {path}: split_items is {report.split_items}, this bench's is {split_items}")
    joined: dict[tuple[str, int], CachedRun] = {}
    for outcome in report.outcomes:
        for run in outcome.runs:
            recipe = sampling.apply(baseline, run.values)
            if recipe_sha256(recipe) != run.recipe_sha256:
                raise EvotrainError(f"--reuse {path}: {outcome.method} seed {outcome.seed} run {run.index}: its "
                                    "recipe does not hash to recipe_sha256 (other --recipe-overrides?)")
            key = (run.recipe_sha256, run.seed)
            joined[key] = _join(joined.get(key), run, recipe)
    return list(joined.values())


def _join(old: CachedRun | None, run: BenchRun, recipe: RecipeValues) -> CachedRun:
    new = CachedRun(recipe_sha256=run.recipe_sha256, seed=run.seed, dev=run.dev, chosen_step=run.chosen_step,
                    public=run.public, private=run.private, failure=run.failure, recipe=recipe)
    if old is None:
        return new
    if (old.dev, old.chosen_step, old.failure) != (new.dev, new.chosen_step, new.failure):
        raise EvotrainError(f"--reuse: seed {run.seed} recipe {run.recipe_sha256[:12]} has two different "
                            f"results in one report (dev {old.dev} vs {new.dev})")
    return old.model_copy(update={"public": old.public if old.public is not None else new.public,
                                  "private": old.private if old.private is not None else new.private})
