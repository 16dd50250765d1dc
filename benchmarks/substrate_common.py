"""Shared helpers for the substrate benchmarks: run one recipe through the CLI, read its results."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from evotrain.io import read_model
from evotrain.schemas.results import JudgeReport, RunResults

ROOT = Path(__file__).resolve().parents[1]
SUBSTRATE = ROOT / "substrate" / "default"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def write_variant(folder: Path, name: str, changes: dict[str, object]) -> Path:
    """The baseline recipe with `changes` applied (dotted keys for mixture_weights.<family>)."""
    data = yaml.safe_load((SUBSTRATE / "recipe.yaml").read_text())
    for key, value in changes.items():
        head, _, sub = key.partition(".")
        if sub:
            data[head] = {**data[head], sub: value}
        else:
            data[head] = value
    path = folder / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_recipe(recipe: Path, out: Path, seed: int | None = None, threads: int | None = None) -> tuple[
    RunResults, float
]:
    """`evotrain substrate run` as a user would call it; returns results and wall seconds."""
    env = dict(os.environ)
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), EVOTRAIN_THREADS=str(threads))
    command = [sys.executable, "-m", "orchestrator.cli", "substrate", "run", "--recipe", str(recipe),
               "--out", str(out)]
    if seed is not None:
        command += ["--seed", str(seed)]
    t0 = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{recipe}: exit {proc.returncode}: {proc.stderr[-1500:]}")
    results = read_model(out / "results.json", RunResults)
    # the run's own checkpoint scores are telemetry; the frozen judge's report (judge.json) is what counts
    judged = read_model(out / "judge.json", JudgeReport)
    return results.model_copy(update={"checkpoints": judged.checkpoints, "eval_seconds": judged.eval_seconds}), wall
