"""The frozen judge: score every checkpoint a run saved on the dev split; write a JudgeReport.

    python judge.py --run RUN_DIR --report OUT.json [--dev-items N] [--threads N]

evotrain runs it from a verified read-only checkout of this substrate, in its own isolated process
that sees only the run's folder (read-only) and its report folder: a candidate's own code never runs
here and its own results.json is never read for scores. Checkpoints are the folders
RUN_DIR/checkpoints/step-NNNNN that resolve inside RUN_DIR (symlinks and hard-linked files refused).
The dev split (mix, seed, difficulty) comes from minitask/splits.py and its size from --dev-items
(evotrain passes the campaign's frozen dev_items) or else this checkout's recipe.yaml, never from the run.
Bad input: one line, exit 2.
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

import torch  # noqa: E402
from minitask.atomic import atomic_write_text  # noqa: E402
from minitask.generate import generate_items  # noqa: E402
from minitask.harness import score  # noqa: E402
from minitask.model import load_base, pick_device  # noqa: E402
from minitask.recipe import RecipeError, load_recipe  # noqa: E402
from minitask.splits import DEV_DIFFICULTY, DEV_MIX, DEV_SEED  # noqa: E402

from evotrain.schemas.results import CheckpointEval, JudgeReport  # noqa: E402

STEP_DIR = re.compile(r"step-(\d{1,9})")
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
MAX_CHECKPOINTS = 64
MAX_DEV_ITEMS = 5000  # the recipe schema's own bound on dev_items


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def checkpoint_dirs(run: Path) -> list[tuple[int, Path]]:
    """The run's checkpoints, each checked to be a real folder inside the run with real adapter files."""
    root = run.resolve()
    folder = run / "checkpoints"
    if folder.is_symlink() or not folder.is_dir():
        return []
    found: list[tuple[int, Path]] = []
    for entry in sorted(folder.iterdir()):
        m = STEP_DIR.fullmatch(entry.name)
        if not m or entry.is_symlink() or not entry.is_dir() or not entry.resolve().is_relative_to(root):
            continue
        files = [entry / name for name in ADAPTER_FILES]
        if any(f.is_symlink() or not f.is_file() or f.stat().st_nlink > 1 for f in files):
            continue
        found.append((int(m.group(1)), entry))
    return found[:MAX_CHECKPOINTS]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--report", type=Path, required=True)
    ap.add_argument("--dev-items", type=int, default=None, help="dev split size (default: recipe.yaml's)")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("EVOTRAIN_THREADS", "1")))
    args = ap.parse_args(argv)
    if not args.run.is_dir():
        return fail(f"--run: {args.run}: not a directory")
    try:
        dev_n = load_recipe(HERE / "recipe.yaml").dev_items  # this checkout's recipe, not the run's
    except RecipeError as exc:
        return fail(f"recipe.yaml: {exc}")
    if args.dev_items is not None:
        if not 1 <= args.dev_items <= MAX_DEV_ITEMS:
            return fail(f"--dev-items: must be in [1, {MAX_DEV_ITEMS}], got {args.dev_items}")
        dev_n = args.dev_items
    torch.set_num_threads(max(1, args.threads))
    from peft import PeftModel

    items = generate_items(dev_n, DEV_MIX, DEV_SEED, DEV_DIFFICULTY)
    items_sha = hashlib.sha256("\n".join(json.dumps(p.to_json(), sort_keys=True) for p in items).encode()).hexdigest()
    device = pick_device()
    t0 = time.perf_counter()
    evals: list[CheckpointEval] = []
    for step, folder in checkpoint_dirs(args.run):
        base, tok = load_base(HERE / "base", device)
        model = PeftModel.from_pretrained(base, str(folder))
        model.eval()
        result = score(model, tok, items)
        evals.append(CheckpointEval(step=step, adapter_dir=str(folder.relative_to(args.run)), overall=result.overall,
                                    by_family=result.by_family, n_items=result.n_items))
        fams = " ".join(f"{f}={a:.2f}" for f, a in result.by_family.items())
        print(f"[judge] step {step} dev overall={result.overall:.3f} {fams}", flush=True)
    report = JudgeReport(checkpoints=evals, items_sha256=items_sha, eval_seconds=round(time.perf_counter() - t0, 3))
    atomic_write_text(args.report, report.model_dump_json(indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
