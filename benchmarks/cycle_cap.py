"""The seed's cap lesson on the embedded task: one generator floods the mix; does the per-source cap
change what the model learns, on the flooded category and on the others?

    .venv/bin/python benchmarks/cycle_cap.py [--workdir runs/cycle-bench] [--flood 2666] [--steps 100] [--items 240]

Two cycles that differ only in `quality.per_source_cap` (600 vs off), each from the same base:
  - `substrate`: 100 puzzles per family (600 examples, all six families);
  - `flood`: 2,666 puzzles of one family (bit_manipulation), like the seed's run #2 codebase QA.
Both train the same recipe for the same steps and are scored on the same held-out split (the
cycle's benchmark stage). Coherence is off here (it keeps every puzzle pair at its default 0.15,
measured in docs/BENCHMARKS.md), so the two arms differ by the cap alone. Prints the quality-gate
counts, the kept mix and per-category held-out accuracy of both arms, and writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from orchestrator.cycle.config import (
    REPO_ROOT,
    BenchmarkConfig,
    CycleConfig,
    GateConfig,
    GeneratorConfig,
    QualityConfig,
)
from orchestrator.cycle.models import BenchmarkOutput, QualityOutput, TrainOutput
from orchestrator.cycle.runner import pending_cycle, run_cycle
from orchestrator.cycle.store import CyclePaths, cycle_ids

FLOODED = "bit_manipulation"


def arm(name: str, cap: int | None, args: argparse.Namespace) -> CycleConfig:
    return CycleConfig(
        name=name,
        workdir=args.workdir,
        recipe_overrides={"learning_rate": 0.015, "warmup_steps": 8, "max_steps": args.steps,
                          "save_steps": [args.steps], "dev_items": 12, "num_train_examples": 16},
        generators=[
            GeneratorConfig(kind="substrate", options={"n_per_family": 100}),
            GeneratorConfig(kind="substrate", name="flood",
                            options={"families": [FLOODED], "n_per_family": args.flood}),
        ],
        quality=QualityConfig(per_source_cap=cap, min_coherence=None),
        train_timeout_s=args.timeout,
        benchmark=BenchmarkConfig(n_items=args.items),
        gate=GateConfig(min_overall=0.0, min_category=0.0),
    )


def run_arm(config: CycleConfig) -> dict[str, object]:
    paths = CyclePaths(config.state_dir)
    t0 = time.perf_counter()
    # a finished arm is reported as stored; an interrupted one is completed (generate/quality reused)
    state = run_cycle(config) if pending_cycle(paths) or not cycle_ids(paths) else None
    cycle = paths.cycle(state.id if state else cycle_ids(paths)[0])
    quality = QualityOutput.model_validate_json((cycle / "quality.json").read_text())
    bench = BenchmarkOutput.model_validate_json((cycle / "benchmark.json").read_text())
    train = TrainOutput.model_validate_json((cycle / "train.json").read_text())
    kept = quality.kept_by_category
    return {
        "arm": config.name, "cap": config.quality.per_source_cap, "kept": quality.n_kept, "input": quality.n_input,
        "flooded_share": round(kept.get(FLOODED, 0) / max(1, quality.n_kept), 3), "kept_by_category": kept,
        "overall": round(bench.overall, 4), "by_category": {k: round(v, 3) for k, v in bench.by_category.items()},
        "others_mean": round(sum(v for k, v in bench.by_category.items() if k != FLOODED) / 5, 4),
        "steps": train.steps, "train_s": train.train_seconds, "final_loss": train.final_loss,
        "wall_s": round(time.perf_counter() - t0, 1), "load": os.getloadavg()[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--workdir", type=Path, default=REPO_ROOT / "runs" / "cycle-bench")
    ap.add_argument("--flood", type=int, default=2666)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=3600.0, help="training timeout per arm, seconds")
    ap.add_argument("--items", type=int, default=240, help="held-out items (40 per category)")
    ap.add_argument("--arms", nargs="+", choices=["capped", "uncapped"], default=["capped", "uncapped"],
                    help="run only these arms (two processes can run one arm each; a rerun reports stored results)")
    args = ap.parse_args()
    caps = {"capped": 600, "uncapped": None}
    rows = [run_arm(arm(name, caps[name], args)) for name in args.arms]
    for row in rows:
        print(json.dumps(row), flush=True)
    cats = sorted(rows[0]["by_category"])  # type: ignore[arg-type]
    print("| arm | kept (of input) | bit share | " + " | ".join(cats) + " | others mean | overall |")
    print("|---|---|---|" + "---|" * len(cats) + "---|---|")
    for r in rows:
        scores = " | ".join(f"{r['by_category'][c]:.3f}" for c in cats)  # type: ignore[index]
        print(f"| {r['arm']} | {r['kept']} ({r['input']}) | {r['flooded_share']:.2f} | {scores} | "
              f"{r['others_mean']:.3f} | {r['overall']:.3f} |")
    (args.workdir / f"cap_results-{'-'.join(args.arms)}.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
