"""Run one recipe: validate, build solver traces, LoRA-train with TRL, score every checkpoint on dev,
write results.json (evotrain.schemas.results.RunResults).

    python run.py --recipe recipe.tiny.yaml --out OUT [--seed N] [--smoke]

Bad recipe or missing file: one line on stderr, exit 2, nothing written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from nemotron_task.data import DataError, read_rows  # noqa: E402
from nemotron_task.items import item_of  # noqa: E402
from nemotron_task.recipe import Recipe, RecipeError, check_paths, load_recipe, recipe_sha256  # noqa: E402
from nemotron_task.splits import DEV_SEED, rows_of, sample_balanced  # noqa: E402

from evotrain.schemas.results import CheckpointEval, LossPoint, RunResults  # noqa: E402

SMOKE_STEPS = 3
SMOKE_DEV_ITEMS = 12
SMOKE_TRAIN_EXAMPLES = 48


def smoke_recipe(recipe: Recipe) -> Recipe:
    """<= 3 steps, one checkpoint, a tiny eval: checks that a recipe runs, not how well."""
    steps = min(SMOKE_STEPS, recipe.max_steps)
    return recipe.model_copy(
        update={
            "max_steps": steps,
            "save_steps": [steps],
            "warmup_steps": min(recipe.warmup_steps, steps),
            "dev_items": min(SMOKE_DEV_ITEMS, recipe.dev_items),
            "num_train_examples": min(SMOKE_TRAIN_EXAMPLES, recipe.num_train_examples),
        }
    )


def pin_base_model_id(ckpt: Path, model_id: str) -> None:
    """The exported adapter names the hub id (what Kaggle's vLLM resolves), never a local path."""
    config_path = ckpt / "adapter_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if config.get("base_model_name_or_path") != model_id:
        config["base_model_name_or_path"] = model_id
        config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--recipe", type=Path, default=HERE / "recipe.yaml")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=None, help="overrides the recipe's seed")
    ap.add_argument("--smoke", action="store_true", help=f"<= {SMOKE_STEPS} steps and a tiny eval")
    # one thread by default: the CPU stand-in gains little from two, and loses much when cores are shared
    ap.add_argument("--threads", type=int, default=int(os.environ.get("EVOTRAIN_THREADS", "1")))
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        recipe = load_recipe(args.recipe)
        if args.seed is not None:
            if args.seed < 0:
                raise RecipeError(f"--seed: must be >= 0, got {args.seed}")
            recipe = recipe.model_copy(update={"seed": args.seed})
        check_paths(recipe, HERE)
        if args.out.exists() and not args.out.is_dir():
            raise RecipeError(f"--out: {args.out} exists and is not a directory")
        rows = read_rows(recipe.csv_path(HERE))
    except (RecipeError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.smoke:
        recipe = smoke_recipe(recipe)

    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    # imported late: train.py and the solvers are editable and may be broken; a bad recipe is reported first
    from nemotron_task.harness import score
    from nemotron_task.model import load_base, pick_device
    from nemotron_task.traces import build_examples
    from train import train

    t_start = time.perf_counter()
    model, tokenizer = load_base(recipe, HERE)
    device = pick_device()
    if not recipe.load_in_4bit:
        model.to(device)
    examples, counts = build_examples(rows_of(rows, "train"), recipe)
    dev_items = [item_of(r) for r in sample_balanced(rows_of(rows, "dev"), recipe.dev_items, DEV_SEED)]
    print(f"[data] {len(examples)} training traces {dict(sorted(counts.items()))}; {len(dev_items)} dev items; "
          f"setup {time.perf_counter() - t_start:.1f}s", flush=True)
    out = args.out.resolve()
    checkpoints: list[CheckpointEval] = []
    eval_seconds = 0.0

    def on_save(step: int, ckpt: Path, trained: torch.nn.Module) -> None:
        nonlocal eval_seconds
        t0 = time.perf_counter()
        pin_base_model_id(ckpt, recipe.base_model)
        result = score(trained, tokenizer, dev_items)
        eval_seconds += time.perf_counter() - t0
        checkpoints.append(
            CheckpointEval(
                step=step,
                adapter_dir=str(ckpt.relative_to(out)),
                overall=result.overall,
                by_family=result.by_family,
                n_items=result.n_items,
            )
        )
        fams = " ".join(f"{f}={a:.2f}" for f, a in result.by_family.items())
        print(f"[eval] step {step} dev overall={result.overall:.3f} {fams}", flush=True)

    # checkpoints go to OUT/checkpoints/checkpoint-N: where the frozen judge (judge.py) looks for them
    outcome = train(model, tokenizer, examples, recipe, out / "checkpoints", on_save)
    results = RunResults(
        substrate="nemotron",
        recipe_sha256=recipe_sha256(args.recipe),
        seed=recipe.seed,
        steps=outcome.steps,
        train_seconds=round(outcome.train_seconds, 3),
        eval_seconds=round(eval_seconds, 3),
        loss_curve=[LossPoint(step=s, loss=v) for s, v in outcome.loss_curve],
        final_loss=outcome.loss_curve[-1][1] if outcome.loss_curve else None,
        nan_loss=outcome.nan_loss,
        checkpoints=checkpoints,
        device=device.type,
    )
    tmp = out / "results.json.tmp"
    tmp.write_text(results.model_dump_json(indent=2) + "\n", encoding="utf-8")
    tmp.replace(out / "results.json")
    print(f"[done] {out / 'results.json'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
