"""What isolation costs: a no-op job and a recipe validation, with and without the bubblewrap sandbox.

    .venv/bin/python benchmarks/isolation_cost.py [--repeats 10]

Each measurement runs the command the way evotrain runs it (the same `isolate()` prefix a job gets on
the local executor), in a real sandbox forked from substrate/default. Prints a table (median and
p90 seconds, and the difference) and writes benchmarks/results/isolation_cost.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evotrain.paths import CampaignPaths  # noqa: E402
from evotrain.secrets import job_environment  # noqa: E402
from workers.isolation import JOB_HOME, bwrap_problem, isolate, sandbox_isolation  # noqa: E402
from workers.sandbox import create_sandbox, fork_substrate, frozen_patterns, spec_at  # noqa: E402


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=True)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    if bwrap_problem():
        print(f"cannot measure: {bwrap_problem()}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        paths = CampaignPaths(root=Path(tmp), campaign="bench")
        commit, _ = fork_substrate(ROOT / "substrate" / "default", paths.substrate_repo)
        sandbox = create_sandbox(paths.substrate_repo, commit, paths.sandbox(1, "w01"))
        spec = spec_at(paths.substrate_repo, commit)
        iso = sandbox_isolation(sandbox, frozen_patterns(spec), "bwrap")
        cases = {
            "no-op job (python -c pass)": [sys.executable, "-c", "pass"],
            "recipe validation (validate.py)": [sys.executable, "validate.py", "--recipe", "recipe.yaml"],
        }
        rows = []
        for name, command in cases.items():
            plain_env = job_environment({}, home=str(sandbox))
            boxed_env = job_environment({}, home=JOB_HOME)
            plain, boxed = [], []
            for _ in range(args.repeats):  # interleaved, so a change in machine load hits both alike
                plain.append(timed(command, sandbox, plain_env))
                boxed.append(timed(isolate(command, iso, str(sandbox)), sandbox, boxed_env))
            rows.append({"case": name, "plain_median_s": statistics.median(plain),
                         "isolated_median_s": statistics.median(boxed),
                         "added_median_s": statistics.median(boxed) - statistics.median(plain),
                         "plain_p90_s": sorted(plain)[int(0.9 * (len(plain) - 1))],
                         "isolated_p90_s": sorted(boxed)[int(0.9 * (len(boxed) - 1))],
                         "read_only_binds": len(iso.readonly)})
    print(f"{'case':<34} {'plain':>8} {'isolated':>9} {'added':>8}   (median s, {args.repeats} runs)")
    for r in rows:
        print(f"{r['case']:<34} {r['plain_median_s']:>8.3f} {r['isolated_median_s']:>9.3f} "
              f"{r['added_median_s']:>+8.3f}")
    out = ROOT / "benchmarks" / "results" / "isolation_cost.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
