"""Score one adapter on an items file: a seeded function of the adapter's recipe quality and the
items file; write an EvalReport JSON.

    python evaluate.py --adapter DIR --items FILE.jsonl --report OUT.json

Bad paths: one line, exit 2.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from noop_task.adapter import read_checkpoint  # noqa: E402
from noop_task.scores import board_scores, overall  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from evotrain.schemas.results import EvalReport  # noqa: E402

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "noop.json")


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--adapter", type=Path, required=True)
    ap.add_argument("--items", type=Path, required=True)
    ap.add_argument("--report", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=1)  # accepted for the contract, unused
    args = ap.parse_args(argv)
    for name in ADAPTER_FILES:
        if not (args.adapter / name).is_file():
            return fail(f"--adapter: {args.adapter / name}: not found")
    if not args.items.is_file():
        return fail(f"--items: {args.items}: not found")
    try:
        checkpoint = read_checkpoint(args.adapter)
        families = [json.loads(line)["family"] for line in args.items.read_text(encoding="utf-8").splitlines()
                    if line.strip()]
    except (ValidationError, ValueError, KeyError, TypeError) as exc:
        return fail(f"--adapter/--items: unreadable: {type(exc).__name__}")
    if not families:
        return fail(f"--items: {args.items}: no items")
    counts = Counter(families)
    items_sha = hashlib.sha256(args.items.read_bytes()).hexdigest()
    by_family = board_scores(checkpoint.quality, checkpoint.step, items_sha, sorted(counts))
    report = EvalReport(overall=overall(by_family, dict(counts)), by_family=by_family, n_items=len(families),
                        n_by_family=dict(counts), items_sha256=items_sha, adapter_dir=str(args.adapter))
    tmp = args.report.with_name(args.report.name + ".tmp")
    args.report.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    tmp.replace(args.report)
    print(f"overall={report.overall:.4f} n={report.n_items}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
