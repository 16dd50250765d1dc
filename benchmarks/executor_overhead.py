"""Local executor overhead: wall time from submit to an observed exit for a no-op job.

The wrapper is a Python process (imports pydantic), so each job pays a fixed start-up cost on top of
its command; this shows how much, and how long a fresh executor takes to re-attach to the job table.
Run: .venv/bin/python benchmarks/executor_overhead.py [--jobs 10]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from workers.executors.base import JobSpec, JobState
from workers.executors.local import LocalExecutor


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ex = LocalExecutor(Path(tmp) / "jobs", total_slots=1)  # one at a time: pure per-job overhead
        walls = []
        for i in range(args.jobs):
            t0 = time.perf_counter()
            ex.submit(JobSpec(job_id=f"noop-{i}", command=["true"], cwd=tmp))
            st = ex.wait(f"noop-{i}", poll_s=0.01)
            walls.append(time.perf_counter() - t0)
            assert st.state == JobState.SUCCEEDED, st
        t0 = time.perf_counter()
        fresh = LocalExecutor(Path(tmp) / "jobs", total_slots=1)
        for i in range(args.jobs):
            fresh.attach(f"noop-{i}")
        attach_s = (time.perf_counter() - t0) / args.jobs
    print(f"jobs: {args.jobs}")
    print(f"submit->exit observed, no-op job: median {statistics.median(walls):.3f}s  max {max(walls):.3f}s")
    print(f"re-attach from a new executor (job table of {args.jobs}): {attach_s * 1000:.1f} ms/job")


if __name__ == "__main__":
    main()
