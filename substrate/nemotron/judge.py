"""The frozen judge: score every checkpoint a run saved on the dev split; write a JudgeReport.

    python judge.py --run RUN_DIR --report OUT.json [--threads N]

evotrain runs it from a verified read-only checkout of this substrate, in its own isolated process
that sees only the run's folder (read-only), its report folder and the worker-visible train.csv
(EVOTRAIN_INPUT_TRAIN_CSV): a candidate's own code never runs here and its results.json is never read
for scores. Checkpoints are the folders RUN_DIR/checkpoints/checkpoint-N (run.py puts them there) that
resolve inside RUN_DIR (symlinks and hard-linked files refused); an adapter the challenge would refuse
(rank > 32, a local base_model_name_or_path) is not scored. The dev split (rows, size, seed) comes from
this checkout's recipe and nemotron_task/splits.py, never from the run. Bad input: one line, exit 2.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from evaluate import adapter_problem  # noqa: E402
from nemotron_task.data import DataError, read_rows  # noqa: E402
from nemotron_task.items import item_of  # noqa: E402
from nemotron_task.recipe import TINY_MODEL_ID, RecipeError, check_paths, load_recipe  # noqa: E402
from nemotron_task.splits import DEV_SEED, rows_of, sample_balanced  # noqa: E402

from evotrain.schemas.results import CheckpointEval, JudgeReport  # noqa: E402

STEP_DIR = re.compile(r"checkpoint-(\d{1,9})")
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
MAX_CHECKPOINTS = 64


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def checkpoint_dirs(run: Path) -> list[tuple[int, Path]]:
    """The run's checkpoints, each a real folder inside the run with real adapter files, by step."""
    root = run.resolve()
    folder = run / "checkpoints"
    if folder.is_symlink() or not folder.is_dir():
        return []
    found: list[tuple[int, Path]] = []
    for entry in folder.iterdir():
        m = STEP_DIR.fullmatch(entry.name)
        if not m or entry.is_symlink() or not entry.is_dir() or not entry.resolve().is_relative_to(root):
            continue
        files = [entry / name for name in ADAPTER_FILES]
        if any(f.is_symlink() or not f.is_file() or f.stat().st_nlink > 1 for f in files):
            continue
        found.append((int(m.group(1)), entry))
    return sorted(found)[:MAX_CHECKPOINTS]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--report", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("EVOTRAIN_THREADS", "1")))
    args = ap.parse_args(argv)
    if not args.run.is_dir():
        return fail(f"--run: {args.run}: not a directory")
    scorable: list[tuple[int, Path]] = []
    for step, folder in checkpoint_dirs(args.run):
        problem = adapter_problem(folder)
        if problem:
            print(f"[judge] step {step} not scored: {problem.removeprefix('--adapter: ')}", flush=True)
        else:
            scorable.append((step, folder))
    named = {json.loads((f / "adapter_config.json").read_text(encoding="utf-8"))["base_model_name_or_path"]
             for _, f in scorable}
    if len(named) > 1:
        return fail(f"--run: checkpoints name different base models {sorted(named)}")
    # this checkout's recipe for the base the adapters name, never the run's
    recipe_file = "recipe.tiny.yaml" if named <= {TINY_MODEL_ID} else "recipe.yaml"
    try:
        recipe = load_recipe(HERE / recipe_file)
        check_paths(recipe, HERE)
        rows = read_rows(recipe.csv_path(HERE))
    except (RecipeError, DataError) as exc:
        return fail(str(exc))
    if named and named != {recipe.base_model}:
        return fail(f"--run: adapters name {sorted(named)[0]!r}, but {recipe_file} loads {recipe.base_model!r}")
    items = [item_of(r) for r in sample_balanced(rows_of(rows, "dev"), recipe.dev_items, DEV_SEED)]
    items_sha = hashlib.sha256("".join(i.model_dump_json() + "\n" for i in items).encode()).hexdigest()

    import torch
    from nemotron_task.harness import score
    from nemotron_task.model import load_base, pick_device
    from peft import PeftModel

    torch.set_num_threads(max(1, args.threads))
    t0 = time.perf_counter()
    evals: list[CheckpointEval] = []
    base = tokenizer = None
    for step, folder in scorable:
        if base is None:
            base, tokenizer = load_base(recipe, HERE)
            if not recipe.load_in_4bit:
                base.to(pick_device())
        model = PeftModel.from_pretrained(base, str(folder))
        result = score(model, tokenizer, items)
        base = model.unload()  # the same base, LoRA layers removed, for the next checkpoint
        evals.append(CheckpointEval(step=step, adapter_dir=str(folder.relative_to(args.run)), overall=result.overall,
                                    by_family=result.by_family, n_items=result.n_items))
        fams = " ".join(f"{f}={a:.2f}" for f, a in result.by_family.items())
        print(f"[judge] step {step} dev overall={result.overall:.3f} {fams}", flush=True)
    report = JudgeReport(checkpoints=evals, items_sha256=items_sha, eval_seconds=round(time.perf_counter() - t0, 3))
    tmp = args.report.with_name(args.report.name + ".tmp")
    tmp.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    tmp.replace(args.report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
