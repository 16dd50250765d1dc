"""Time one scripted worker end to end (fork, sandbox, validate, smoke, train, eval, manifest).

    .venv/bin/python benchmarks/worker_scripted.py [--substrate substrate/default] [--slots 2]

Target (issue #3): <= 120 s on 2 CPU cores for the default substrate. Prints wall time, the
worker's CPU-seconds and its manifest status; exit 1 if the manifest is not ok or over target.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from evotrain.paths import CampaignPaths
from evotrain.schemas.brief import Brief, WorkerBudget
from evotrain.schemas.policy import Axis, AxisRange
from workers.agents.scripted import ScriptedAgent
from workers.executors.local import LocalExecutor
from workers.loop import run_worker
from workers.sandbox import create_sandbox, fork_substrate, spec_at
from workers.substrate_contract import load_recipe

TARGET_S = 120.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--substrate", type=Path, default=Path("substrate/default"))
    ap.add_argument("--slots", type=int, default=2)
    ap.add_argument("--key", default="learning_rate", help="recipe key of the log-range axis to move")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="evotrain-bench-") as tmp:
        started = time.monotonic()
        paths = CampaignPaths(root=Path(tmp), campaign="bench")
        commit, _ = fork_substrate(args.substrate, paths.substrate_repo)
        spec = spec_at(paths.substrate_repo, commit)
        sandbox = create_sandbox(paths.substrate_repo, commit, paths.sandbox(1, "w02"))
        axis = Axis(name=args.key, category="optimizer", key=args.key,
                    range=AxisRange(kind="log", low=1e-5, high=1.0))
        brief = Brief(campaign="bench", round=1, worker_id="w02", seed=1, axis=axis,
                      standing_recipe=load_recipe(sandbox / spec.recipe_file),
                      budget=WorkerBudget(wall_clock_s=600, job_timeout_s=600), sandbox=str(sandbox),
                      substrate_commit=commit)
        manifest = run_worker(brief, executor=LocalExecutor(paths.jobs, total_slots=args.slots),
                              agent=ScriptedAgent(), manifest_path=paths.manifest(1, "w02"),
                              trace_path=paths.trace(1, "w02"))
        wall = time.monotonic() - started
    print(f"substrate={spec.name} status={manifest.status} wall={wall:.1f}s (target <= {TARGET_S:.0f}s) "
          f"cpu_seconds={manifest.cost.cpu_seconds:.1f} dev={manifest.dev_score} step={manifest.chosen_step} "
          f"jobs={','.join(manifest.job_ids)}")
    for failure in manifest.failures:
        print(f"  {'FATAL' if failure.fatal else 'seen'} {failure.mode.value}: {failure.message}")
    return 0 if manifest.status == "ok" and wall <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
