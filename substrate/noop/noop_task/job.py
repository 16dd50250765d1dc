"""One noop job: "train" (the given train function), then write every checkpoint's tiny adapter and
results.json (evotrain.schemas.results.RunResults) with seeded dev scores.

run.py calls it with the editable train.py; the instant executor of benchmarks/tests calls it
in-process with `no_sleep_train`, so the orchestrator can be measured without any job cost.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evotrain.schemas.results import CheckpointEval, LossPoint, RunResults
from noop_task import FAMILIES
from noop_task.adapter import write_adapter
from noop_task.recipe import Recipe, RecipeError, load_recipe, recipe_sha256
from noop_task.scores import dev_scores, overall, quality


@dataclass
class TrainOutcome:
    steps: int = 0
    train_seconds: float = 0.0
    loss_curve: list[tuple[int, float]] = field(default_factory=list)
    nan_loss: bool = False


TrainFn = Callable[[Recipe, float], TrainOutcome]


def loss_curve(recipe: Recipe, q: float) -> list[tuple[int, float]]:
    """A smooth pretend loss: from 3.0 down towards 1.5 - q, ten points over max_steps."""
    points = sorted({max(1, recipe.max_steps * k // 10) for k in range(1, 11)})
    return [(s, round(3.0 - (1.5 + q) * s / recipe.max_steps, 4)) for s in points]


def no_sleep_train(recipe: Recipe, sleep_s: float) -> TrainOutcome:
    q = quality(recipe.quality_key())
    return TrainOutcome(steps=recipe.max_steps, train_seconds=0.0, loss_curve=loss_curve(recipe, q))


def parse_args(argv: list[str] | None, doc: str | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--recipe", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=None, help="overrides the recipe's seed")
    ap.add_argument("--smoke", action="store_true", help="a tenth of the sleep, the last checkpoint only")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("EVOTRAIN_THREADS", "1")))  # accepted, unused
    return ap.parse_args(argv)


def prepare(args: argparse.Namespace) -> Recipe:
    """The validated recipe with --seed applied (RecipeError on any problem, nothing written)."""
    recipe = load_recipe(args.recipe)
    if args.seed is not None:
        if args.seed < 0:
            raise RecipeError(f"--seed: must be >= 0, got {args.seed}")
        recipe = recipe.model_copy(update={"seed": args.seed})
    if args.out.exists() and not args.out.is_dir():
        raise RecipeError(f"--out: {args.out} exists and is not a directory")
    return recipe


def run(args: argparse.Namespace, recipe: Recipe, train: TrainFn) -> RunResults:
    sleep_s = recipe.sleep_s / 10 if args.smoke else recipe.sleep_s
    steps = recipe.save_steps[-1:] if args.smoke else recipe.save_steps
    outcome = train(recipe, sleep_s)
    q = quality(recipe.quality_key())
    out = args.out.resolve()
    t0 = time.perf_counter()
    checkpoints: list[CheckpointEval] = []
    for step in steps:
        folder = out / "checkpoints" / f"step-{step:05d}"
        write_adapter(folder, recipe, q, step)
        by_family = dev_scores(q, recipe.seed, step, FAMILIES)
        checkpoints.append(CheckpointEval(step=step, adapter_dir=str(folder.relative_to(out)),
                                          overall=overall(by_family), by_family=by_family,
                                          n_items=recipe.dev_items))
    results = RunResults(
        substrate="noop", recipe_sha256=recipe_sha256(args.recipe), seed=recipe.seed, steps=outcome.steps,
        train_seconds=round(outcome.train_seconds, 3), eval_seconds=round(time.perf_counter() - t0, 3),
        loss_curve=[LossPoint(step=s, loss=v) for s, v in outcome.loss_curve],
        final_loss=outcome.loss_curve[-1][1] if outcome.loss_curve else None, nan_loss=outcome.nan_loss,
        checkpoints=checkpoints, device="cpu",
    )
    tmp = out / "results.json.tmp"
    tmp.write_text(results.model_dump_json(indent=2) + "\n", encoding="utf-8")
    tmp.replace(out / "results.json")
    return results


def run_in_process(argv: list[str]) -> int:
    """The run command's arguments (after `run.py`), executed here without sleeping: 0 or 2."""
    args = parse_args(argv)
    try:
        recipe = prepare(args)
    except RecipeError:
        return 2
    run(args, recipe, no_sleep_train)
    return 0
