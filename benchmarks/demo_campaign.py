"""`evotrain demo` end to end: wall time, orchestration overhead, best candidate vs. baseline anchor.

    .venv/bin/python benchmarks/demo_campaign.py [--seeds 0 1 2] [--rounds 3] [--workers 4]

Each seed runs `evotrain demo --seed S` as a user would (fresh workspace under a temp dir that
links the repo's substrate and constitution), then reads the campaign summary. Prints one JSON line
per seed and a markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evotrain.paths import CampaignPaths  # noqa: E402
from orchestrator.campaign.summary import CampaignSummary  # noqa: E402


def run_demo(seed: int, rounds: int, workers: int, ws: Path) -> tuple[CampaignSummary, float]:
    ws.mkdir(parents=True)
    (ws / "substrate").symlink_to(ROOT / "substrate")
    (ws / "constitution").symlink_to(ROOT / "constitution")
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "orchestrator.cli", "demo", "--seed", str(seed), "--rounds", str(rounds),
           "--workers", str(workers), "--quiet"]
    proc = subprocess.run(cmd, cwd=ws, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"demo seed {seed} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    name = f"demo-s{seed}"
    summary = CampaignSummary.model_validate_json(CampaignPaths(ws, name).summary.read_text())
    return summary, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--keep", type=Path, default=None, help="keep the workspaces under this folder")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        for seed in args.seeds:
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            s, wall = run_demo(seed, args.rounds, args.workers, base / f"seed{seed}")
            row = {
                "seed": seed, "wall_s": round(wall, 1), "overhead_pct": round(100 * s.overhead.overhead_fraction, 2),
                "best": s.best.candidate if s.best else None, "best_axis": s.best.axis if s.best else None,
                "best_lb": s.best.public if s.best else None, "best_private": s.best.private if s.best else None,
                "substrate_lb": s.substrate_baseline.public if s.substrate_baseline else None,
                "round_anchor_lb": s.best_round_baseline.public if s.best_round_baseline else None,
                "gain": s.best_beats_baseline_by, "noise_band": s.noise_band, "beats_band": s.beats_noise_band,
                "trajectory": [(r.round, r.search_mode, r.dev, r.leaderboard) for r in s.trajectory.rows],
                "load_before": load,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\n| seed | wall s | overhead % | best (axis) | best LB (private) | substrate-anchor LB | gain | noise band "
          "| beats | its round's anchor LB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    def f(x: float | None, sign: str = "") -> str:
        return "n/a" if x is None else format(x, f"{sign}.3f")

    for r in rows:
        print(f"| {r['seed']} | {r['wall_s']:.0f} | {r['overhead_pct']:.1f} | {r['best']} ({r['best_axis']}) | "
              f"{f(r['best_lb'])} ({f(r['best_private'])}) | {f(r['substrate_lb'])} | {f(r['gain'], '+')} | "
              f"{f(r['noise_band'])} | {'yes' if r['beats_band'] else 'no'} | {f(r['round_anchor_lb'])} |")


if __name__ == "__main__":
    main()
