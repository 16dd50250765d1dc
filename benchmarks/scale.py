"""How the loop's own cost grows with workers (N) and rounds (R): campaigns on the noop substrate.

    .venv/bin/python benchmarks/scale.py grid [--ns 8,16,32,64] [--rs 2,5,10] [--executor instant]
    .venv/bin/python benchmarks/scale.py point N R [--executor instant|local] [--sleep 0.2]
    .venv/bin/python benchmarks/scale.py simulate [--workers 100 --rounds 10] [--seed 0]
    .venv/bin/python benchmarks/scale.py table      # markdown table + docs/scale.png from the results

Each point runs in a fresh workspace, in its own orchestrator process (benchmarks/scale_harness.py
child), and appends one JSON line to --results. `instant` = the fake executor (jobs complete at
submit, in-process): what remains is the orchestrator and the workers' own agent/tool work.
Orchestration = wall time outside each round's fan-out (prepare, plan, fork, collect incl. the
leaderboard's evaluations, meta, checkpoint writes between steps) plus the per-worker budget check.
`simulate` kills the orchestrator with SIGKILL at a random manifest count, resumes it, and checks
every candidate has exactly one manifest and one training job.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale_harness as h

RESULTS = Path(tempfile.gettempdir()) / "evotrain-scale" / "results.jsonl"
PLOT = h.REPO / "docs" / "scale.png"


def measure_end(ws: Path, name: str, rounds: int, cli: bool = True) -> dict[str, float]:
    """Latency of the commands a user runs on the finished campaign, and what it left on disk.

    CLI walls include the interpreter and imports, which the machine's load inflates; `cli_floor_s`
    (`evotrain campaign --help`) is that floor at the same moment, and the `_inproc_s` figures are the
    commands' own work, timed in this process (what grows with the campaign)."""
    from evotrain.paths import CampaignPaths
    from orchestrator.audit.dashboard import render_dashboard
    from orchestrator.campaign.status import campaign_status

    paths = CampaignPaths(root=ws.resolve(), campaign=name)
    out: dict[str, float | None] = {"status_inproc_s": _seconds(lambda: campaign_status(paths, rounds)),
                                    "dashboard_inproc_s": _seconds(lambda: render_dashboard(paths))}
    for key, args in (("cli_floor_s", ("campaign", "--help")),
                      ("status_s", ("campaign", "status", name, "--root", str(ws))),
                      ("report_s", ("report", "show", str(rounds), "--campaign", name)),
                      ("dashboard_s", ("dashboard", "--campaign", name))):
        out[key] = _seconds(lambda args=args: h.cli_seconds(ws, *args)) if cli else None
    return {**out, **h.disk_usage(ws, name)}


def _seconds(fn: Any) -> float | None:
    """Wall seconds of fn(), or None if it failed (another part of the tree broke it: say so, go on)."""
    t0 = time.perf_counter()
    try:
        fn()
    except Exception as exc:
        print(f"  (measurement failed: {type(exc).__name__}: {str(exc)[:200]})", flush=True)
        return None
    return time.perf_counter() - t0


def point(n: int, r: int, executor: str, sleep_s: float, results: Path, keep: bool = False,
          standin: bool = False, cli: bool = True) -> dict[str, Any]:
    name = f"s{n}x{r}-{executor}" + ("-standin" * standin)
    with tempfile.TemporaryDirectory(prefix="evotrain-scale-") as tmp:
        ws = Path(tmp)
        h.make_workspace(ws, name, n, r, sleep_s=sleep_s)
        load = os.getloadavg()[0]
        run = h.run_point(ws, name, executor, standin=standin)
        row = {"n": n, "r": r, "executor": executor, "workers": "stand-in" if standin else "scripted agent",
               "sleep_s": sleep_s, "candidates": n * r,
               "load_before": round(load, 1), "load_after": round(os.getloadavg()[0], 1), **run,
               **measure_end(ws, name, r, cli), "manifests": len(h.manifests_of(ws, name))}
        if keep:
            shutil.copytree(ws, f"{ws}-kept", symlinks=True)
    row["orch_per_candidate_s"] = row["orchestration_s"] / row["candidates"]
    results.parent.mkdir(parents=True, exist_ok=True)
    with results.open("a") as fh:
        fh.write(json.dumps(row) + "\n")
    f = {k: "n/a" if row.get(k) is None else f"{row[k]:.2f}" for k in
         ("status_s", "status_inproc_s", "cli_floor_s", "dashboard_s", "dashboard_inproc_s")}
    print(f"N={n:3d} R={r:2d} {executor} {row['workers']}: wall {row['wall_s']:.1f}s orchestration "
          f"{row['orchestration_s']:.1f}s ({row['orch_per_candidate_s']:.3f}s/cand) rss {row['peak_rss_mb']:.0f}MB "
          f"db {row['checkpoint_db_mb']:.2f}MB files {row['files']} status {f['status_s']}s (in-process "
          f"{f['status_inproc_s']}s, CLI floor {f['cli_floor_s']}s) dashboard {f['dashboard_s']}s (in-process "
          f"{f['dashboard_inproc_s']}s) load {row['load_before']}->{row['load_after']}", flush=True)
    return row


def simulate(workers: int, rounds: int, seed: int, results: Path) -> dict[str, Any]:
    """A campaign of workers × rounds on the fake executor, SIGKILLed at a random manifest count, resumed."""
    name = f"sim{workers}x{rounds}"
    total = workers * rounds
    kill_at = random.Random(seed).randint(max(1, total // 10), total - total // 10)
    ws = Path(tempfile.mkdtemp(prefix="evotrain-sim-"))
    h.make_workspace(ws, name, workers, rounds)
    t0 = time.perf_counter()
    proc = subprocess.Popen(h.child_command(ws, name), env=h.child_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    while proc.poll() is None and len(h.manifests_of(ws, name)) < kill_at:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_with = len(h.manifests_of(ws, name))
    print(f"killed -9 at {killed_with} manifests (target {kill_at}) after {time.perf_counter() - t0:.0f}s",
          flush=True)
    resumed = h.run_point(ws, name, resume=True, timeout=7200)
    wall = time.perf_counter() - t0
    check = verify(ws, name, workers, rounds)
    row = {"simulate": True, "n": workers, "r": rounds, "candidates": total, "kill_at": killed_with,
           "total_wall_s": wall, "resume": resumed, **check, **measure_end(ws, name, rounds), "workspace": str(ws)}
    with results.open("a") as fh:
        fh.write(json.dumps(row) + "\n")
    print(json.dumps({k: v for k, v in row.items() if k != "resume"}, indent=1), flush=True)
    return row


def verify(ws: Path, name: str, workers: int, rounds: int) -> dict[str, Any]:
    """Every candidate exactly once: one manifest per (round, worker), one training job per manifest."""
    files = h.manifests_of(ws, name)
    seen = [(json.loads(p.read_text())["round"], p.stem) for p in files]
    expected = {(r, f"w{w:02d}") for r in range(1, rounds + 1) for w in range(1, workers + 1)}
    jobs = [j for p in files for j in json.loads(p.read_text())["job_ids"]]
    train_jobs = [j for j in jobs if j.rsplit("-", 1)[-1].startswith("a")]
    job_dirs = [d.name for d in (ws / "campaigns" / name / "jobs").iterdir() if d.is_dir()]
    ok = sorted(seen) == sorted(expected) and len(jobs) == len(set(jobs)) and len(train_jobs) == len(files)
    statuses = [json.loads(p.read_text())["status"] for p in files]
    return {"every_manifest_once": ok, "manifests": len(files), "train_jobs": len(train_jobs),
            "job_dirs": len(job_dirs), "ok_manifests": statuses.count("ok")}


def table(results: Path) -> None:
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    latest = {(r["n"], r["r"], r["executor"], r.get("workers")): r for r in rows if not r.get("simulate")}
    grid = list(latest.values())  # a re-measured point replaces the earlier one
    cols = ("N", "R", "executor / workers", "cand.", "wall s", "orch. s", "orch. s/cand.", "fork s", "collect+finish s",
            "LB eval s", "ckpt write s", "peak RSS MB", "DB MB", "files", "MB", "status s (in-proc.)",
            "dashboard s (in-proc.)", "load")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in sorted(grid, key=lambda r: (r["executor"], r.get("workers", ""), r["n"], r["r"])):
        s = r["steps"]
        cells = [r["n"], r["r"], f"{r['executor']} / {r.get('workers', 'scripted agent')}", r["candidates"],
                 f"{r['wall_s']:.0f}", f"{r['orchestration_s']:.1f}", f"{r['orch_per_candidate_s']:.3f}",
                 f"{s.get('fork', 0):.1f}",
                 f"{s.get('collect', 0) + s.get('finish', 0) - s.get('leaderboard eval', 0):.1f}",
                 f"{s.get('leaderboard eval', 0):.0f}", f"{s.get('checkpoint write', 0):.1f}",
                 f"{r['peak_rss_mb']:.0f}", f"{r['checkpoint_db_mb']:.2f}", r["files"], f"{r['workspace_mb']:.1f}",
                 _pair(r, "status"), _pair(r, "dashboard"), f"{r['load_before']}"]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    plot(grid)


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _pair(r: dict[str, Any], what: str) -> str:
    """CLI wall (in-process part): the CLI figure carries the interpreter start under the machine's load."""
    return f"{_num(r.get(f'{what}_s'))} ({_num(r.get(f'{what}_inproc_s'))})"


def plot(grid: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for r in sorted({row["r"] for row in grid if row["executor"] == "instant"}):
        pts = sorted(((row["candidates"], row) for row in grid if row["executor"] == "instant" and row["r"] == r),
                     key=lambda p: p[0])
        xs = [c for c, _ in pts]
        ax1.plot(xs, [row["orchestration_s"] for _, row in pts], "o-", label=f"R={r}")
        ax2.plot(xs, [row["orch_per_candidate_s"] for _, row in pts], "o-", label=f"R={r}")
    ax1.set(xlabel="candidates (N × R)", ylabel="orchestration s (total)", title="orchestration time, fake executor")
    ax2.set(xlabel="candidates (N × R)", ylabel="orchestration s per candidate", title="per candidate (flat = linear)")
    ax2.axhline(1.0, color="grey", ls="--", lw=0.8)
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ticks = sorted({row["candidates"] for row in grid if row["executor"] == "instant"})
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_xticks(ticks)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)
    print(f"\nplot: {PLOT}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=RESULTS)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("grid")
    g.add_argument("--ns", default="8,16,32,64")
    g.add_argument("--rs", default="2,5,10")
    g.add_argument("--executor", default="instant", choices=["instant", "local"])
    g.add_argument("--sleep", type=float, default=0.0)
    g.add_argument("--agent-workers", action="store_true", help="real scripted workers instead of stand-ins")
    p = sub.add_parser("point")
    p.add_argument("n", type=int)
    p.add_argument("r", type=int)
    p.add_argument("--executor", default="instant", choices=["instant", "local"])
    p.add_argument("--sleep", type=float, default=0.0)
    p.add_argument("--keep", action="store_true")
    p.add_argument("--standin", action="store_true", help="stand-in workers (no agent loop)")
    s = sub.add_parser("simulate")
    s.add_argument("--workers", type=int, default=100)
    s.add_argument("--rounds", type=int, default=10)
    s.add_argument("--seed", type=int, default=0)
    sub.add_parser("table")
    args = ap.parse_args()
    if args.cmd == "grid":
        ns, rs = [int(x) for x in args.ns.split(",")], [int(x) for x in args.rs.split(",")]
        for n in ns:
            for r in rs:
                last = (n, r) == (max(ns), max(rs))  # CLI latencies (slow to measure) at the largest point only
                point(n, r, args.executor, args.sleep, args.results, standin=not args.agent_workers, cli=last)
    elif args.cmd == "point":
        point(args.n, args.r, args.executor, args.sleep, args.results, keep=args.keep, standin=args.standin)
    elif args.cmd == "simulate":
        simulate(args.workers, args.rounds, args.seed, args.results)
    else:
        table(args.results)


if __name__ == "__main__":
    main()
