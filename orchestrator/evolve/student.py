"""Training and scoring through the substrate's own commands (`substrate.yaml`).

- the generalist: the substrate's baseline recipe as is (plus the config's changes), run once;
- a student: a fork of the substrate in which the editable `train.py` trains on the reward-filtered
  teacher data instead of the recipe's generated mix (a data change, the kind a worker may make;
  every frozen file stays byte-identical), run with the substrate's run command;
- scores: the substrate's evaluate command from the canonical (not the forked) substrate folder, so a
  student is judged only by frozen code, like every campaign candidate.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.schemas.common import RecipeValues
from evotrain.schemas.results import EvalReport, RunResults

TRAIN_WRAPPER = '''"""Birth fork of the substrate: the substrate's train loop on the reward-filtered teacher data.

Written by orchestrator/evolve/student.py. The original train.py is `_substrate_train.py`.
"""

from pathlib import Path

import _substrate_train as _base
from pipeline.encode import encode_puzzle
from minitask.generate import load_items

TrainOutcome = _base.TrainOutcome
TEACHER_DATA = Path(__file__).resolve().parent / "teacher.jsonl"


def train(base, tok, examples, recipe, out_dir, on_save):
    items = load_items(TEACHER_DATA)
    examples = [encode_puzzle(tok, p, recipe.trace_style) for p in items]
    return _base.train(base, tok, examples, recipe, out_dir, on_save)
'''


def _spec(substrate: Path):
    from workers.substrate_contract import load_spec  # lazy: keeps `evotrain evolve status` light

    return load_spec(substrate)


def _render(template: list[str], **values: str | int) -> list[str]:
    from workers.substrate_contract import render_command

    return render_command(template, **values)


def _run(command: list[str], cwd: Path, log: Path, threads: int, timeout: float) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "EVOTRAIN_THREADS": str(threads)}
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.run(command, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout,
                              check=False)
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8").strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        raise EvotrainError(f"{command[1] if len(command) > 1 else command[0]}: failed: {tail[0]} (log: {log})")


def recipe_with(substrate: Path, changes: RecipeValues) -> RecipeValues:
    spec = _spec(substrate)
    values = yaml.safe_load((substrate / spec.recipe_file).read_text(encoding="utf-8")) or {}
    values.update(changes)
    return values


def run_recipe(substrate: Path, workdir: Path, recipe: RecipeValues, out: Path, seed: int, threads: int,
               timeout: float = 3600) -> tuple[RunResults, Path]:
    """Run the substrate's run command in `workdir` (the substrate or a fork); return results + last adapter."""
    spec = _spec(substrate)
    recipe_path = out / "recipe.yaml"
    out.mkdir(parents=True, exist_ok=True)
    recipe_path.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    command = _render(spec.run_command, recipe=str(recipe_path), out=str(out), seed=seed)
    _run([*command, "--threads", str(threads)], workdir, out / "run.log", threads, timeout)
    results = read_model(out / spec.results_file, RunResults)
    saved = results.saved or results.checkpoints  # `saved` lists every adapter; `checkpoints` only with --eval
    if results.nan_loss or not saved:
        raise EvotrainError(f"{out}: training produced no usable checkpoint (nan_loss={results.nan_loss})")
    return results, out / saved[-1].adapter_dir


def ensure_generalist(substrate: Path, state: Path, changes: RecipeValues, seed: int, threads: int) -> Path:
    """The generalist's adapter: the substrate's baseline recipe, trained once per state folder."""
    out = state / "generalist"
    marker = out / "adapter.txt"
    if marker.is_file() and Path(marker.read_text(encoding="utf-8").strip()).is_dir():
        return Path(marker.read_text(encoding="utf-8").strip())
    if out.exists():
        shutil.rmtree(out)
    _, adapter = run_recipe(substrate, substrate, recipe_with(substrate, changes), out, seed, threads)
    marker.write_text(str(adapter) + "\n", encoding="utf-8")
    return adapter


def fork_for_birth(substrate: Path, fork: Path, teacher_items_file: Path) -> Path:
    """A copy of the substrate whose train.py trains on `teacher_items_file` (frozen files untouched)."""
    if fork.exists():
        shutil.rmtree(fork)
    # the base checkpoint is referenced, not copied: the recipe names the canonical one
    shutil.copytree(substrate, fork, ignore=shutil.ignore_patterns("base", "runs", "__pycache__", "*.pyc"))
    shutil.move(fork / "train.py", fork / "_substrate_train.py")
    (fork / "train.py").write_text(TRAIN_WRAPPER, encoding="utf-8")
    shutil.copyfile(teacher_items_file, fork / "teacher.jsonl")
    return fork


def train_student(substrate: Path, birth_dir: Path, teacher_items_file: Path, n_items: int, changes: RecipeValues,
                  seed: int, threads: int) -> tuple[RunResults, Path]:
    fork = fork_for_birth(substrate, birth_dir / "fork", teacher_items_file)
    recipe = recipe_with(substrate, changes)
    # the run command still builds the recipe's own mix before train(); keep it no larger than ours
    recipe.update(base_checkpoint=str(substrate / "base"), num_train_examples=max(1, n_items))
    try:
        return run_recipe(substrate, fork, recipe, birth_dir / "student", seed, threads)
    finally:
        shutil.rmtree(fork, ignore_errors=True)


def evaluate(substrate: Path, adapter: Path, items_file: Path, report: Path, threads: int) -> EvalReport:
    spec = _spec(substrate)
    command = _render(spec.evaluate_command, adapter=str(adapter), items=str(items_file), report=str(report))
    _run([*command, "--threads", str(threads)], substrate, report.with_suffix(".log"), threads, 1800)
    return read_model(report, EvalReport)
