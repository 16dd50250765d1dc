"""Probe what one LoRA run learns, per family and difficulty level (issue #13, point 1).

    .venv/bin/python benchmarks/substrate_probe.py --levels 0,1 --set learning_rate=0.005 max_grad_norm=1.0 \
        max_steps=200 'save_steps=[100,200]'
    SUB=/path/to/a/substrate/copy .venv/bin/python benchmarks/substrate_probe.py ...

Trains the substrate's recipe (with `--set key=JSON` changes; `mix.<family>=w` for mixture weights) in
this process from its committed base, and at every saved checkpoint scores the frozen dev split and
`--n` uniform items of each difficulty level in `--levels` with the frozen harness, and both halves of
the local leaderboard's hidden split (its orchestrator-side spec, generated in-process the way the
leaderboard's generate command does). Prints one JSON
line per checkpoint. SUB points at another copy of the substrate (e.g. one with changed generators,
benchmarks/patches/learnable_levels.patch): this is a research probe, not a campaign run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

SUB = Path(os.environ.get("SUB", Path(__file__).resolve().parents[1] / "substrate" / "default"))
sys.path.insert(0, str(SUB))

import torch  # noqa: E402
from minitask.generate import generate_items  # noqa: E402
from minitask.harness import score  # noqa: E402
from minitask.model import load_base  # noqa: E402
from minitask.puzzle import FAMILIES  # noqa: E402
from minitask.recipe import load_recipe, resolve_base  # noqa: E402
from minitask.splits import DEV_DIFFICULTY, DEV_MIX, DEV_SEED, TRAIN_SEED_OFFSET  # noqa: E402
from pipeline.encode import encode_puzzle  # noqa: E402
from train import train  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from orchestrator.leaderboard.local import HiddenSplitSpec  # noqa: E402

PROBE_SEED = 99  # the probe's level items: neither the dev seed nor a training seed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", nargs="*", default=[], help="key=JSON recipe changes; mix.<family>=w")
    ap.add_argument("--levels", default="0,1", help="difficulty levels to score, comma separated")
    ap.add_argument("--n", type=int, default=240, help="uniform items per level")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    recipe = load_recipe(SUB / "recipe.yaml")
    changes: dict[str, object] = {}
    for pair in args.set:
        key, _, raw = pair.partition("=")
        value = json.loads(raw)
        if key.startswith("mix."):
            mix = changes.setdefault("mixture_weights", dict(recipe.mixture_weights))
            mix[key[4:]] = value  # type: ignore[index]
        else:
            changes[key] = value
    try:  # validated like recipe.yaml: a bad key or value is one line naming it
        recipe = recipe.model_validate({**recipe.model_dump(), **changes})
    except ValueError as exc:
        lines = str(exc).splitlines()
        print(f"error: --set: {lines[1] if len(lines) > 1 else lines[0]}: {lines[2].strip() if len(lines) > 2 else ''}",
              file=sys.stderr)
        return 2
    base, tok = load_base(resolve_base(recipe, SUB), "cpu")
    items = generate_items(recipe.num_train_examples, recipe.mixture(), recipe.seed + TRAIN_SEED_OFFSET,
                           recipe.train_difficulty)
    examples = [encode_puzzle(tok, p, recipe.trace_style) for p in items]
    levels = {lv: generate_items(args.n, dict.fromkeys(FAMILIES, 1.0), PROBE_SEED, int(lv))
              for lv in args.levels.split(",")}
    dev = generate_items(recipe.dev_items, DEV_MIX, DEV_SEED, DEV_DIFFICULTY)
    spec = HiddenSplitSpec()
    hidden = {"lb_public": generate_items(spec.n_public, spec.mix, spec.public_seed, spec.difficulty),
              "lb_private": generate_items(spec.n_private, spec.mix, spec.private_seed, spec.difficulty)}

    def on_save(step: int, ckpt: Path, model: torch.nn.Module) -> None:
        row: dict[str, object] = {"step": step, "dev": round(score(model, tok, dev).overall, 3)}
        for half, half_items in hidden.items():
            result = score(model, tok, half_items)
            row[half] = round(result.overall, 3)
            row[f"{half}_by_family"] = {f: round(a, 2) for f, a in result.by_family.items()}
        for lv, level_items in levels.items():
            result = score(model, tok, level_items)
            row[f"level{lv}"] = round(result.overall, 3)
            row[f"level{lv}_by_family"] = {f: round(a, 2) for f, a in result.by_family.items()}
        print(json.dumps(row), flush=True)

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        outcome = train(base, tok, examples, recipe, Path(out), on_save)
    print(json.dumps({"train_s": round(outcome.train_seconds, 1), "total_s": round(time.perf_counter() - t0, 1),
                      "changes": changes, "substrate": str(SUB)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
