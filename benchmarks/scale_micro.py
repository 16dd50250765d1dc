"""Before/after of the issue #17 fixes, on synthetic state of a K-candidate campaign (no campaign run).

    .venv/bin/python benchmarks/scale_micro.py [--k 1000]

Each line: the cost of what one candidate triggers, with the pre-fix code path and the current one,
when the campaign already holds K candidates (so the whole campaign pays ~K/2 times that, per fix):
- audit log read (every worker records its manifest hash: read + verify the chain, then append);
- budget check (every worker sums the campaign's usage from all manifests);
- local executor status poll (every poll refreshed every job of the campaign);
- fork of one sandbox (`git worktree add` reads every worktree registered in its repo: one registry
  per campaign before, one per round now; the K earlier candidates sit in 10 earlier rounds).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from evotrain.io import write_model
from evotrain.paths import CampaignPaths
from evotrain.schemas.brief import Brief
from evotrain.schemas.manifest import Cost, Manifest
from orchestrator.audit import log as audit_log
from orchestrator.audit.log import AuditLog, ManifestPayload
from orchestrator.campaign import accounting
from workers.executors.base import JobSpec, JobState, JobStatus
from workers.executors.local import LocalExecutor
from workers.sandbox import create_sandbox, fork_substrate


def timed(fn: Callable[[], object], repeat: int = 7) -> float:
    """The fastest of `repeat` runs: on a loaded shared machine the minimum is the least noisy estimate."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return min(runs)


def audit_case(tmp: Path, k: int) -> tuple[float, float]:
    log = AuditLog(tmp / "audit.jsonl")
    for i in range(k):
        log.append(ManifestPayload(candidate=f"r{i // 100 + 1:03d}/w{i % 100 + 1:02d}", round=i // 100 + 1,
                                   manifest_path=f"/x/{i}.json", manifest_sha256="0" * 64, status="ok"))

    def before() -> None:
        audit_log._VERIFIED.clear()  # the pre-fix read: every line parsed and re-hashed each time
        AuditLog(log.path).entries()

    return timed(before), timed(lambda: AuditLog(log.path).entries())


def accounting_case(tmp: Path, k: int) -> tuple[float, float]:
    paths = CampaignPaths(root=tmp, campaign="micro")
    diff = "".join(f"+line {i}\n" for i in range(400))  # manifests carry a recipe diff
    for i in range(k):
        r, w = i // 100 + 1, f"w{i % 100 + 1:02d}"
        brief = Brief(campaign="micro", round=r, worker_id=w, standing_recipe={"lr": 0.1}, sandbox=str(tmp))
        m = Manifest.for_brief(brief, status="ok", cost=Cost(cpu_seconds=1.0), recipe_diff=diff)
        write_model(paths.manifest(r, w), m)

    def before() -> None:
        accounting._totals(accounting.all_manifests(paths), 0.0)  # type: ignore[arg-type]

    accounting.usage(paths)  # the current code parses each manifest once per process
    return timed(before), timed(lambda: accounting.usage(paths))


def executor_case(tmp: Path, k: int) -> tuple[float, float]:
    ex = LocalExecutor(tmp / "jobs", total_slots=2)
    for i in range(2 * k):  # a smoke and a training job per candidate, all finished
        files, _ = ex.jobs.record(JobSpec(job_id=f"j{i:05d}", command=["true"], cwd=str(tmp)))
        files.write_status(JobStatus(job_id=files.job_id, state=JobState.SUCCEEDED, exit_code=0, started_at=1.0,
                                     ended_at=2.0))
    ex.status("j00000")  # learns which jobs are finished

    def before() -> None:
        ex._finished.clear()
        ex.status("j00000")

    return timed(before), timed(lambda: ex.status("j00000"))


def fork_case(tmp: Path, k: int) -> tuple[float, float]:
    substrate = tmp / "substrate"
    substrate.mkdir()
    (substrate / "substrate.yaml").write_text("name: micro\n")
    (substrate / "train.py").write_text("print('train')\n")
    old_repo, new_repo = tmp / "old.git", tmp / "new.git"
    commit = fork_substrate(substrate, old_repo).commit
    fork_substrate(substrate, new_repo)
    for i in range(k):  # the K earlier candidates: 10 rounds of K/10
        box = tmp / "sandboxes" / f"r{i % 10:03d}" / f"w{i:04d}"
        subprocess.run(["git", f"--git-dir={old_repo}", "worktree", "add", "-q", "--detach", str(box), commit],
                       check=True)  # the pre-fix layout: every worktree in the campaign repo
        create_sandbox(new_repo, commit, tmp / "new-sandboxes" / f"r{i % 10:03d}" / f"w{i:04d}")
    n = iter(range(10**6))

    def before() -> None:
        box = tmp / "sandboxes" / "r010" / f"x{next(n)}"
        subprocess.run(["git", f"--git-dir={old_repo}", "worktree", "add", "-q", "--detach", str(box), commit],
                       check=True)

    return timed(before), timed(lambda: create_sandbox(new_repo, commit, tmp / "new-sandboxes" / "r010" /
                                                       f"x{next(n)}"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--k", type=int, default=1000)
    args = ap.parse_args()
    print(f"per-candidate cost with {args.k} candidates already in the campaign (fastest of 7):")
    for name, case in (("audit log read", audit_case), ("budget check (usage)", accounting_case),
                       ("local executor status poll", executor_case),
                       ("fork one sandbox", fork_case)):
        with tempfile.TemporaryDirectory() as tmp:
            before, after = case(Path(tmp), args.k)
        print(f"  {name:28s} before {before * 1000:8.1f} ms   after {after * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
