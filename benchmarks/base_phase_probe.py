"""Probe: one more base-pretraining phase on EXPLICIT long-form items (issue #13, point 1).

    SUB=/path/to/substrate/copy .venv/bin/python benchmarks/base_phase_probe.py --steps 1000 --chunks 3 \
        --out /tmp/base4 [--level 0] [--threads 1]

From the substrate's committed base, full-model training on every family's items at `--level` with
the rule STATED after the query, the examples kept (`pretrain_base.explicit_pair`: the same layout
post-training meets when the model writes `rule→` itself), loss on the boxed answer. After each chunk
it prints the explicit-rule accuracy per family on 240 held-out items and saves `<out>-<chunk>/`
(a base folder: weights + vocab) for `benchmarks/substrate_probe.py` to post-train. Research probe on
a COPY of the substrate (e.g. with benchmarks/patches/learnable_levels.patch applied), never a campaign.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

SUB = Path(os.environ.get("SUB", Path(__file__).resolve().parents[1] / "substrate" / "default"))
sys.path.insert(0, str(SUB))

import torch  # noqa: E402
from minitask.generate import generate_items  # noqa: E402
from minitask.puzzle import FAMILIES  # noqa: E402
from minitask.tokenizer import CharTokenizer  # noqa: E402
from pretrain_base import explicit_accuracy, explicit_pair, train_steps  # noqa: E402
from transformers import LlamaForCausalLM  # noqa: E402

ITEMS, HELD_OUT, ITEM_SEED = 24_000, 240, 4242  # the probe's own item seed: neither dev nor training


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=1000, help="steps per chunk")
    ap.add_argument("--chunks", type=int, default=3)
    ap.add_argument("--lr", type=float, default=1.5e-3, help="chunk c starts at lr * 0.7**c (cosine within)")
    ap.add_argument("--level", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tok = CharTokenizer()
    items = generate_items(ITEMS, dict.fromkeys(FAMILIES, 1.0), ITEM_SEED, args.level)
    held, train = items[:HELD_OUT], items[HELD_OUT:]
    by_family: dict[str, list[tuple[list[int], list[int]]]] = {}
    for p in train:
        by_family.setdefault(p.family, []).append(explicit_pair(tok, p))
    model = LlamaForCausalLM.from_pretrained(str(SUB / "base"), dtype=torch.float32)
    print(json.dumps({"chunk": 0, "explicit": explicit_accuracy(model, tok, held)}), flush=True)
    rng, t0 = random.Random(4), time.perf_counter()
    for chunk in range(1, args.chunks + 1):
        train_steps(model, by_family, rng, args.steps, args.lr * 0.7 ** (chunk - 1), dict.fromkeys(FAMILIES, 1.0))
        out = Path(f"{args.out}-{chunk}")
        model.save_pretrained(str(out))
        tok.save(out)
        print(json.dumps({"chunk": chunk, "steps": chunk * args.steps, "s": round(time.perf_counter() - t0),
                          "explicit": explicit_accuracy(model, tok, held)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
