"""Score one adapter on an items file with the frozen harness; write an EvalReport JSON.

    python evaluate.py --adapter DIR --items FILE.jsonl --report OUT.json [--recipe recipe.tiny.yaml]

The base is the model the adapter names (base_model_name_or_path), loaded as the recipe says; for
the tiny stand-in it is rebuilt deterministically. Refused (exit 2, one line): a missing file, a
rank above 32, or an adapter naming a local path instead of a model id.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from nemotron_task.items import load_items  # noqa: E402
from nemotron_task.recipe import MAX_LORA_RANK, TINY_MODEL_ID, RecipeError, check_paths, load_recipe  # noqa: E402

from evotrain.schemas.results import EvalReport  # noqa: E402

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def adapter_problem(adapter: Path) -> str | None:
    """Why the challenge's scorer would refuse this adapter, or None."""
    for name in ADAPTER_FILES:
        if not (adapter / name).is_file():
            return f"--adapter: {adapter / name}: not found"
    config = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
    rank = int(config.get("r", 0))
    if rank > MAX_LORA_RANK:
        return f"--adapter: LoRA rank {rank} exceeds the challenge's max_lora_rank {MAX_LORA_RANK}"
    base = str(config.get("base_model_name_or_path") or "")
    if base.startswith(("/", ".", "~")) or base.count("/") != 1:
        return f"--adapter: base_model_name_or_path {base!r} is not a model id (a local path fails on Kaggle)"
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--adapter", type=Path, required=True)
    ap.add_argument("--items", type=Path, required=True)
    ap.add_argument("--report", type=Path, required=True)
    ap.add_argument("--recipe", type=Path, default=None,
                    help="how to load the base (default: recipe.tiny.yaml for the tiny stand-in, else recipe.yaml)")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("EVOTRAIN_THREADS", "1")))
    args = ap.parse_args(argv)
    problem = adapter_problem(args.adapter)
    if problem:
        return fail(problem)
    if not args.items.is_file():
        return fail(f"--items: {args.items}: not found")
    named = json.loads((args.adapter / "adapter_config.json").read_text(encoding="utf-8"))["base_model_name_or_path"]
    recipe_path = args.recipe or HERE / ("recipe.tiny.yaml" if named == TINY_MODEL_ID else "recipe.yaml")
    try:
        items = load_items(args.items)
        recipe = load_recipe(recipe_path)
        check_paths(recipe, HERE)
    except (ValueError, RecipeError) as exc:
        return fail(f"--items/--recipe: {exc}")
    if not items:
        return fail(f"--items: {args.items}: no items")
    if named != recipe.base_model:
        return fail(f"--adapter: trained on {named!r}, but the recipe loads {recipe.base_model!r}")

    import torch
    from nemotron_task.harness import score
    from nemotron_task.model import load_base, pick_device
    from peft import PeftModel

    torch.set_num_threads(max(1, args.threads))
    base, tokenizer = load_base(recipe, HERE)
    model = PeftModel.from_pretrained(base.to(pick_device()), str(args.adapter))
    result = score(model, tokenizer, items)
    report = EvalReport(
        overall=result.overall,
        by_family=result.by_family,
        n_items=result.n_items,
        n_by_family=result.n_by_family,
        items_sha256=hashlib.sha256(args.items.read_bytes()).hexdigest(),
        adapter_dir=str(args.adapter),
    )
    tmp = args.report.with_suffix(args.report.suffix + ".tmp")
    tmp.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    tmp.replace(args.report)
    print(f"overall={result.overall:.4f} n={result.n_items}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
