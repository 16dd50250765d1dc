"""`evotrain evolve simulate` on the embedded stream from an empty state folder (the generalist is
trained too, as on a fresh clone); prints one JSON line with the acceptance numbers.

    .venv/bin/python benchmarks/evolve_simulate.py --state runs/evolve-bench
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestrator.evolve.config import EvolveConfig
from orchestrator.evolve.simulate import simulate


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--state", type=Path, default=Path("runs/evolve-bench"))
    ap.add_argument("--keep-generalist", action="store_true", help="reuse a trained generalist in --state")
    args = ap.parse_args()
    if args.state.exists() and not args.keep_generalist:
        shutil.rmtree(args.state)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    report = simulate(EvolveConfig(state_dir=str(args.state)), None,
                      on_birth=lambda r: print(f"[birth] {r.birth_id} {r.outcome} {r.message}", flush=True))
    wall = time.perf_counter() - t0
    acc = {
        label: {agent: f"{m.correct}/{m.scored}" for agent, m in agents.items()}
        for label, agents in report.per_label.items()
    }
    print(json.dumps({
        "wall_s": round(wall, 1), "requests": report.n_requests, "specialists": report.specialists,
        "births": [(b.birth_id, b.intent, b.outcome, b.gate.student if b.gate else None,
                    b.gate.generalist if b.gate else None, b.seconds) for b in report.births],
        "duplicates": report.duplicates, "purity": report.purity,
        "served_by_specialist": report.served_by_specialist,
        "served_by_specialist_after_births": report.served_by_specialist_after_births,
        "cost": report.cost_dollars, "cost_generalist_only": report.cost_generalist_only,
        "router_ms_p50_batched": report.router_ms_p50, "accuracy": acc,
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
