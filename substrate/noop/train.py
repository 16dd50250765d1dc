"""The noop "training loop" (editable, like the default substrate's train.py): it sleeps.

`train(recipe, sleep_s)` waits `sleep_s` seconds (what a job costs in a load test) and returns a
smooth pretend loss curve. Scores do not come from here: noop_task/ computes them from the recipe.
"""

from __future__ import annotations

import time

from noop_task.job import TrainOutcome, loss_curve
from noop_task.recipe import Recipe
from noop_task.scores import quality


def train(recipe: Recipe, sleep_s: float) -> TrainOutcome:
    t0 = time.perf_counter()
    time.sleep(sleep_s)
    curve = loss_curve(recipe, quality(recipe.quality_key()))
    return TrainOutcome(steps=recipe.max_steps, train_seconds=time.perf_counter() - t0, loss_curve=curve)
