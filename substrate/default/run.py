"""Run one recipe: validate, build data, LoRA-train, save checkpoints, write results.json.

    python run.py --recipe recipe.yaml --out OUT [--seed N] [--smoke] [--eval] [--train-data=FILE]

--train-data: a JSONL file of TrainDataRecord lines (the substrate contract's {train_data}; the
continuous cycle passes its quality-gated data) trained on instead of puzzles generated from the
recipe; pipeline/train_data.py encodes them. Without it (campaigns) nothing changes.

The run does not score itself: dev scores come from the frozen judge (`judge.py`), run by evotrain
in a separate isolated process from a verified checkout. `--eval` adds in-process dev scores to
results.json as telemetry (for a quick look by hand; a campaign never trusts them).

Bad recipe or missing base checkpoint: one line on stderr, exit 2, nothing written.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import torch  # noqa: E402
from minitask.atomic import atomic_write_text  # noqa: E402
from minitask.generate import generate_items  # noqa: E402
from minitask.harness import score  # noqa: E402
from minitask.model import load_base, pick_device  # noqa: E402
from minitask.recipe import Recipe, RecipeError, load_recipe, recipe_sha256, resolve_base  # noqa: E402
from minitask.splits import DEV_DIFFICULTY, DEV_MIX, DEV_SEED, TRAIN_SEED_OFFSET  # noqa: E402

from evotrain.schemas.results import CheckpointEval, LossPoint, RunResults, SavedCheckpoint  # noqa: E402
from evotrain.schemas.substrate import TrainDataRecord  # noqa: E402

SMOKE_STEPS = 5
SMOKE_DEV_ITEMS = 24
SMOKE_TRAIN_EXAMPLES = 256


def smoke_recipe(recipe: Recipe) -> Recipe:
    """<= 5 steps, one checkpoint, a tiny eval: checks that a recipe runs, not how well."""
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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--recipe", type=Path, default=HERE / "recipe.yaml")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=None, help="overrides the recipe's seed")
    ap.add_argument("--smoke", action="store_true", help=f"<= {SMOKE_STEPS} steps and a tiny eval")
    ap.add_argument("--eval", action="store_true", help="also score checkpoints in-process (telemetry only)")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("EVOTRAIN_THREADS", "0")))
    ap.add_argument("--train-data", type=Path, default=None, help="JSONL of TrainDataRecord: train on these")
    return ap.parse_args(argv)


def load_train_data(path: Path) -> list[TrainDataRecord]:
    """Every record of a --train-data file; a bad line is a RecipeError naming the file and line."""
    if not path.is_file():
        raise RecipeError(f"--train-data: {path}: not found")
    records = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                records.append(TrainDataRecord.model_validate_json(line))
            except ValueError as exc:
                first = str(exc).splitlines()
                raise RecipeError(f"--train-data: {path}:{lineno}: {first[1] if len(first) > 1 else exc}") from None
    if not records:
        raise RecipeError(f"--train-data: {path}: no records")
    return records


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        recipe = load_recipe(args.recipe)
        if args.seed is not None:
            if args.seed < 0:
                raise RecipeError(f"--seed: must be >= 0, got {args.seed}")
            recipe = recipe.model_copy(update={"seed": args.seed})
        base_path = resolve_base(recipe, HERE)
        if args.out.exists() and not args.out.is_dir():
            raise RecipeError(f"--out: {args.out} exists and is not a directory")
        records = load_train_data(args.train_data) if args.train_data else None
    except RecipeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.smoke:
        recipe = smoke_recipe(recipe)
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    # imported late: train.py is editable and may be broken; a bad recipe is reported first
    from pipeline.encode import encode_puzzle
    from train import train

    device = pick_device()
    base, tok = load_base(base_path, device)
    dev_items = generate_items(recipe.dev_items, DEV_MIX, DEV_SEED, DEV_DIFFICULTY) if args.eval else []
    if records is not None:
        from pipeline.train_data import encode_records

        try:
            examples = encode_records(tok, records, recipe.trace_style)
        except ValueError as exc:
            print(f"error: --train-data: {args.train_data}: {exc}", file=sys.stderr)
            return 2
        print(f"[data] {len(examples)} examples from {args.train_data}", flush=True)
    else:
        train_items = generate_items(
            recipe.num_train_examples, recipe.mixture(), recipe.seed + TRAIN_SEED_OFFSET, recipe.train_difficulty
        )
        examples = [encode_puzzle(tok, p, recipe.trace_style) for p in train_items]
    out = args.out.resolve()
    checkpoints: list[CheckpointEval] = []
    saved: list[SavedCheckpoint] = []
    eval_seconds = 0.0

    def on_save(step: int, ckpt: Path, model: torch.nn.Module) -> None:
        nonlocal eval_seconds
        saved.append(SavedCheckpoint(step=step, adapter_dir=str(ckpt.relative_to(out))))
        if not args.eval:
            print(f"[save] step {step} {ckpt.relative_to(out)}", flush=True)
            return
        t0 = time.perf_counter()
        result = score(model, tok, dev_items)
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

    outcome = train(base, tok, examples, recipe, out, on_save)
    results = RunResults(
        substrate="default",
        recipe_sha256=recipe_sha256(args.recipe),
        seed=recipe.seed,
        steps=outcome.steps,
        train_seconds=round(outcome.train_seconds, 3),
        eval_seconds=round(eval_seconds, 3),
        loss_curve=[LossPoint(step=s, loss=v) for s, v in outcome.loss_curve],
        final_loss=outcome.loss_curve[-1][1] if outcome.loss_curve else None,
        nan_loss=outcome.nan_loss,
        checkpoints=checkpoints,
        saved=saved,
        device=device.type,
    )
    atomic_write_text(out / "results.json", results.model_dump_json(indent=2) + "\n")
    print(f"[done] {out / 'results.json'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
