"""Honest re-score, run as a script with a PRISTINE copy of the substrate as its working directory.

    python _rescore.py --adapter DIR --dev-items N [--items FILE ...] --out OUT.json

Scores one saved adapter with the substrate's own frozen harness (the code the test copied before any
hostile session ran): on the dev split (N items, the dev seed/mix/difficulty from minitask/splits.py)
and on each extra items file (the hidden split halves). One model load for every file. The result is
what an uncompromised judge would have recorded; the tests compare recorded scores against it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path.cwd()
sys.path.insert(0, str(HERE))

import torch  # noqa: E402
from minitask.generate import generate_items, load_items  # noqa: E402
from minitask.harness import score  # noqa: E402
from minitask.model import load_base, pick_device  # noqa: E402
from minitask.splits import DEV_DIFFICULTY, DEV_MIX, DEV_SEED  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--adapter", type=Path, required=True)
    ap.add_argument("--dev-items", type=int, required=True)
    ap.add_argument("--items", type=Path, nargs="*", default=[])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    from peft import PeftModel

    base, tok = load_base(HERE / "base", pick_device())
    model = PeftModel.from_pretrained(base, str(args.adapter))
    out: dict[str, float] = {"dev": score(model, tok, generate_items(args.dev_items, DEV_MIX, DEV_SEED,
                                                                      DEV_DIFFICULTY)).overall}
    for path in args.items:
        out[str(path)] = score(model, tok, load_items(path)).overall
    args.out.write_text(json.dumps(out), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
