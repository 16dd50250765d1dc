"""Score one adapter on an items file with the frozen harness; write an EvalReport JSON.

    python evaluate.py --adapter DIR --items FILE.jsonl --report OUT.json [--base DIR]

The base is always this substrate's frozen base checkpoint (not the adapter's recorded path), so a
candidate cannot score itself against a different base. Bad paths: one line, exit 2.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import torch  # noqa: E402
from minitask.atomic import atomic_write_text  # noqa: E402
from minitask.generate import load_items  # noqa: E402
from minitask.harness import score  # noqa: E402
from minitask.model import load_base, pick_device  # noqa: E402

from evotrain.schemas.results import EvalReport  # noqa: E402

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--adapter", type=Path, required=True)
    ap.add_argument("--items", type=Path, required=True)
    ap.add_argument("--report", type=Path, required=True)
    ap.add_argument("--base", type=Path, default=HERE / "base")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("EVOTRAIN_THREADS", "1")))
    args = ap.parse_args(argv)
    for name in ADAPTER_FILES:
        if not (args.adapter / name).is_file():
            return fail(f"--adapter: {args.adapter / name}: not found")
    if not args.items.is_file():
        return fail(f"--items: {args.items}: not found")
    if not (args.base / "config.json").is_file():
        return fail(f"--base: {args.base}: no checkpoint (config.json) found")
    try:
        items = load_items(args.items)
    except ValueError as exc:
        return fail(f"--items: {exc}")
    if not items:
        return fail(f"--items: {args.items}: no items")
    torch.set_num_threads(max(1, args.threads))

    from peft import PeftModel

    base, tok = load_base(args.base, pick_device())
    model = PeftModel.from_pretrained(base, str(args.adapter))
    result = score(model, tok, items)
    report = EvalReport(
        overall=result.overall,
        by_family=result.by_family,
        n_items=result.n_items,
        n_by_family=result.n_by_family,
        items_sha256=hashlib.sha256(args.items.read_bytes()).hexdigest(),
        adapter_dir=str(args.adapter),
    )
    atomic_write_text(args.report, report.model_dump_json(indent=2) + "\n")
    print(f"overall={result.overall:.4f} n={result.n_items}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
