"""Acceptance benchmark: the baseline recipe's wall time and dev accuracy over 3 seeds.

    .venv/bin/python benchmarks/substrate_baseline.py [--seeds 0 1 2] [--one-thread]

Prints one line per run (wall, train/eval seconds, dev overall and per family of the last
checkpoint, load average) and mean ± sd of dev accuracy. --one-thread adds a run with 1 thread
(how a campaign runs two jobs at once on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from substrate_common import SUBSTRATE, load_average, run_recipe


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--one-thread", action="store_true")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        plan = [(s, None) for s in args.seeds] + ([(args.seeds[0], 1)] if args.one_thread else [])
        for seed, threads in plan:
            load = load_average()
            results, wall = run_recipe(SUBSTRATE / "recipe.yaml", Path(tmp) / f"s{seed}-{threads}", seed, threads)
            last = results.checkpoints[-1]
            row = {"seed": seed, "threads": threads or "default", "wall_s": round(wall, 1),
                   "train_s": results.train_seconds, "eval_s": results.eval_seconds,
                   "dev": round(last.overall, 4), "by_family": {k: round(v, 3) for k, v in last.by_family.items()},
                   "all_checkpoints": [round(c.overall, 4) for c in results.checkpoints],
                   "load_before": load}
            rows.append(row)
            print(json.dumps(row), flush=True)
    devs = [r["dev"] for r in rows if r["threads"] == "default"]
    sd = statistics.stdev(devs) if len(devs) > 1 else 0.0
    print(f"baseline dev over seeds {args.seeds}: {statistics.mean(devs):.3f} ± {sd:.3f}")
    print(f"max wall (2 threads): {max(r['wall_s'] for r in rows if r['threads'] == 'default'):.1f}s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
