"""Load-test harness for benchmarks/scale.py and tests/test_scale_*.py: a workspace on the noop
substrate, an instrumented orchestrator process, and what the campaign leaves on disk.

    python benchmarks/scale_harness.py child WORKSPACE NAME [--executor instant|local] [--resume]

runs one campaign (or resumes it) in this process with per-step timers and prints one JSON line
(StepTimes). `instant` = workers.executors.instant.InstantExecutor running the noop job in-process,
so what is measured is the orchestrator (plus the workers' own agent/tool work), not the jobs.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
NOOP = REPO / "substrate" / "noop"
STEPS = ("prepare", "plan", "fork", "collect", "meta", "stop_reason", "finish")


def make_workspace(ws: Path, name: str, workers: int, rounds: int, sleep_s: float = 0.0,
                   executor: str = "instant", split_items: int = 30) -> Path:
    """A workspace whose campaign `name` runs `workers` × `rounds` on the noop substrate.

    The constitution is a copy of the repo's with max_workers_per_round raised to `workers`: the
    shipped one allows 16, and a team running 64 workers would edit its own constitution the same way."""
    ws.mkdir(parents=True, exist_ok=True)
    (ws / "substrate").mkdir(exist_ok=True)
    link = ws / "substrate" / "noop"
    if not link.exists():
        link.symlink_to(NOOP)
    const = ws / "constitution"
    if not const.exists():
        shutil.copytree(REPO / "constitution", const)
        rules = yaml.safe_load((const / "rules.yaml").read_text())
        rules["max_workers_per_round"] = max(rules["max_workers_per_round"], workers)
        (const / "rules.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
    cfg = {"name": name, "substrate": "substrate/noop", "rounds": rounds, "workers_per_round": workers,
           "parallel_jobs": 2, "seed": 1, "executor": {"kind": "local"},
           "recipe_overrides": {"sleep_s": sleep_s},
           "leaderboard": {"split_items": split_items, "submissions_per_round": 3}}
    (ws / f"{name}.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return ws / f"{name}.yaml"


class Timers:
    """Wall seconds per step (summed), and each round's fan-out interval (first work start → last end)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.work: dict[int, list[float]] = {}
        self._lock = threading.Lock()

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds[name] += time.perf_counter() - t0
                    self.calls[name] += 1
        return timed

    def wrap_work(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(campaign: Any, round_no: int, worker_id: str) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(campaign, round_no, worker_id)
            finally:
                t1 = time.perf_counter()
                with self._lock:
                    span = self.work.setdefault(round_no, [t0, t1])
                    span[0], span[1] = min(span[0], t0), max(span[1], t1)
                    self.seconds["work (summed over threads)"] += t1 - t0
                    self.calls["work (summed over threads)"] += 1
        return timed


def instrument(timers: Timers) -> None:
    """Patch timers onto the campaign steps, the budget check and the LangGraph checkpoint writes."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    from orchestrator.campaign import accounting
    from orchestrator.campaign.steps import Campaign
    from orchestrator.leaderboard.local import LocalLeaderboard

    for step in STEPS:
        setattr(Campaign, step, timers.wrap(step, getattr(Campaign, step)))
    # the leaderboard's evaluate/generate subprocesses: scoring compute, not orchestration
    LocalLeaderboard._run = timers.wrap("leaderboard eval", LocalLeaderboard._run)  # type: ignore[method-assign]
    Campaign.work = timers.wrap_work(Campaign.work)  # type: ignore[method-assign]
    accounting.usage = timers.wrap("budget check (usage)", accounting.usage)  # type: ignore[assignment]
    SqliteSaver.put = timers.wrap("checkpoint write", SqliteSaver.put)  # type: ignore[method-assign]
    SqliteSaver.put_writes = timers.wrap("checkpoint write", SqliteSaver.put_writes)  # type: ignore[method-assign]


def make_standin_worker(noop_job: Callable[[list[str]], int]) -> Callable[..., Any]:
    """A worker without the agent loop (grid points: orchestrator only): one scripted change along the
    brief's axis, the noop job run in-process in the sandbox, a manifest as the real worker writes it."""
    from evotrain.schemas.common import diff_values, set_path
    from evotrain.schemas.manifest import Cost, Manifest
    from evotrain.schemas.results import RunResults
    from workers.agents.scripted_search import propose_change
    from workers.manifest_writer import write_manifest

    def run_worker(brief: Any, *, manifest_path: Path, **_: Any) -> Any:
        t0 = time.perf_counter()
        recipe = dict(brief.standing_recipe)
        proposal = propose_change(brief.axis, recipe, brief.dead_ends, brief.seed) if brief.axis else None
        if proposal is not None:
            recipe = set_path(recipe, proposal.key, proposal.new)
        sandbox = Path(brief.sandbox)
        (sandbox / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
        out = sandbox / "runs" / "a1"
        job_id = f"{brief.campaign}-r{brief.round:03d}-{brief.worker_id}-a1"
        noop_job(["--recipe", str(sandbox / "recipe.yaml"), "--out", str(out), "--seed", str(brief.seed)])
        res = RunResults.model_validate_json((out / "results.json").read_text())
        best = max(res.checkpoints, key=lambda c: (c.overall, c.step))
        m = Manifest.for_brief(
            brief, status="ok", recipe=recipe, recipe_changes=diff_values(brief.standing_recipe, recipe),
            checkpoints=res.checkpoints, chosen_step=best.step, chosen_adapter=str(out / best.adapter_dir),
            dev_score=best.overall, job_ids=[job_id], cost=Cost(cpu_seconds=0.0),
            wall_time_s=time.perf_counter() - t0, rationale=f"stand-in worker: {proposal}")
        write_manifest(manifest_path, m)
        return m

    return run_worker


def legacy_usage(paths: Any) -> Any:
    """accounting.usage before issue #17: every manifest of every round fully parsed on each call."""
    from orchestrator.campaign import accounting

    return accounting._totals(accounting.all_manifests(paths), accounting.load_sessions(paths).wall_s)


def run_child(ws: Path, name: str, executor_kind: str, resume: bool, legacy: bool = False,
              standin: bool = False) -> dict[str, Any]:
    from evotrain.paths import CampaignPaths
    from orchestrator.campaign.runner import create_campaign, run_campaign
    from orchestrator.config import load_config
    from workers.executors.instant import InstantExecutor, substrate_completer

    if legacy:
        from orchestrator.campaign import accounting

        accounting.usage = legacy_usage  # type: ignore[assignment]
    timers = Timers()
    instrument(timers)
    os.chdir(ws)
    paths = CampaignPaths(root=ws.resolve(), campaign=name)
    if not resume:
        create_campaign(ws.resolve(), load_config(ws / f"{name}.yaml"))
    executor = None
    if executor_kind == "instant":
        executor = InstantExecutor(paths.jobs, substrate_completer(NOOP))
    if standin:
        import importlib

        from orchestrator.campaign import steps

        substrate_completer(NOOP)  # puts the canonical noop substrate on sys.path
        steps.run_worker = make_standin_worker(importlib.import_module("noop_task.job").run_in_process)
    t0 = time.perf_counter()
    run_campaign(paths, resume=resume, executor=executor)
    wall = time.perf_counter() - t0
    fan_out = sum(b - a for a, b in timers.work.values())
    own = wall - fan_out - timers.seconds["leaderboard eval"]
    return {"wall_s": wall, "fan_out_s": fan_out, "orchestration_s": own, "legacy_accounting": legacy,
            "standin_workers": standin,
            "cpu_s": time.process_time(),
            "steps": dict(timers.seconds), "calls": dict(timers.calls),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "jobs_run": getattr(executor, "submitted", None)}


def child_command(ws: Path, name: str, executor: str = "instant", resume: bool = False,
                  legacy: bool = False, standin: bool = False) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "child", str(ws), name, "--executor", executor]
    return cmd + ["--resume"] * resume + ["--legacy-accounting"] * legacy + ["--standin-workers"] * standin


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "EVOTRAIN_KILL_AT"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    return env


def run_point(ws: Path, name: str, executor: str = "instant", resume: bool = False,
              timeout: float = 3600, legacy: bool = False, standin: bool = False) -> dict[str, Any]:
    proc = subprocess.run(child_command(ws, name, executor, resume, legacy, standin), env=child_env(),
                          capture_output=True,
                          text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"campaign {name} failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cli_seconds(ws: Path, *args: str, timeout: float = 300) -> float:
    """Wall seconds of one `evotrain ...` command in the workspace (interpreter start included)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], cwd=ws, env=child_env(),
                          capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"evotrain {' '.join(args)}: exit {proc.returncode}: {proc.stderr[-1000:]}")
    return time.perf_counter() - t0


def disk_usage(ws: Path, name: str) -> dict[str, float]:
    files, size = 0, 0
    for top in ("campaigns", "sandboxes", "policies", "reports"):
        for root, _dirs, names in os.walk(ws / top):
            files += len(names)
            size += sum(os.lstat(os.path.join(root, n)).st_size for n in names)
    db = ws / "campaigns" / name / "checkpoints.sqlite"
    return {"files": files, "workspace_mb": size / 2**20, "checkpoint_db_mb": db.stat().st_size / 2**20}


def manifests_of(ws: Path, name: str) -> list[Path]:
    return sorted((ws / "campaigns" / name / "rounds").glob("r*/manifests/*.json"))


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    child = sub.add_parser("child")
    child.add_argument("workspace", type=Path)
    child.add_argument("name")
    child.add_argument("--executor", choices=["instant", "local"], default="instant")
    child.add_argument("--resume", action="store_true")
    child.add_argument("--legacy-accounting", action="store_true", help="the pre-#17 budget check (before/after)")
    child.add_argument("--standin-workers", action="store_true", help="workers without the agent loop")
    args = ap.parse_args(argv)
    result = run_child(args.workspace.resolve(), args.name, args.executor, args.resume, args.legacy_accounting,
                       args.standin_workers)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
