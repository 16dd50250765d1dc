"""Train, judge and score one recipe exactly as a campaign does, with a resumable cache.

The path is the campaign's: the substrate's `run_command` trains (what `evotrain substrate run`
renders), its frozen `judge_command` scores every saved checkpoint on dev (the run's own
results.json when the substrate has no judge), the checkpoint is chosen as a worker chooses
(workers/checkpoint_choice.py, objective raise_dev), and the local leaderboard (the same
LocalLeaderboard class and hidden-split spec a campaign opens) scores the public and private halves.

Every finished run is recorded under `<bench>/cache/<substrate fingerprint>/<recipe hash>-s<seed>.json`
(public and private scores are added as they are computed), so an interrupted bench resumes without
retraining and the oracle sweep reuses the random search's runs. The fingerprint hashes the
substrate folder's files: a reworked substrate never reuses stale runs or a stale hidden split.

A record may also come from an earlier report's runs (`reuse`, for `bench efficiency --reuse`): it has
the dev and public/private scores that report measured but no adapter. Asked for a half it lacks, the
scorer retrains the run (training is deterministic on one machine kind) and keeps only the fresh
record's scores, so no score is ever paired with an adapter it was not measured on.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml
from pydantic import Field

from evotrain.io import read_model, write_model
from evotrain.schemas.common import Artifact, RecipeValues
from evotrain.schemas.results import CheckpointEval, JudgeReport, RunResults
from evotrain.secrets import job_environment
from orchestrator.collect.noise import recipe_sha256
from orchestrator.leaderboard.local import HiddenSplitSpec, LocalLeaderboard
from workers.checkpoint_choice import choose_checkpoint
from workers.substrate_contract import load_spec, render_command

RUN_TIMEOUT_S = 3600.0


class CachedRun(Artifact):
    recipe_sha256: str
    seed: int
    dev: float | None = None
    chosen_step: int | None = None
    adapter_dir: str | None = None  # absolute
    public: float | None = None
    private: float | None = None
    failure: str | None = None
    wall_s: float = 0.0
    recipe: RecipeValues = Field(default_factory=dict)


def substrate_fingerprint(substrate: Path) -> str:
    """sha256 over the substrate's files (paths + bytes), caches and compiled files excluded."""
    digest = hashlib.sha256()
    for path in sorted(p for p in substrate.rglob("*") if p.is_file()):
        rel = path.relative_to(substrate).as_posix()
        if "__pycache__" in rel or rel.endswith(".pyc"):
            continue
        digest.update(rel.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class RunScorer:
    def __init__(self, substrate: Path, bench_dir: Path, split_items: int = 300) -> None:
        self.substrate = substrate.resolve()
        self.spec = load_spec(self.substrate)
        self.folder = bench_dir.resolve() / "cache" / substrate_fingerprint(self.substrate)[:16]
        # the campaign's hidden split (same spec, same seeds, same items); no per-round budget here:
        # the bench's methods count their own submissions against the budget they are given
        self.board = LocalLeaderboard(self.substrate, self.folder / "leaderboard", budget_per_round=10**9,
                                      spec=HiddenSplitSpec(n_public=split_items, n_private=split_items))
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _record_path(self, recipe: RecipeValues, seed: int) -> Path:
        return self.folder / f"{recipe_sha256(recipe)[:24]}-s{seed}.json"

    def _lock(self, path: Path) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(str(path), threading.Lock())

    def cached(self, recipe: RecipeValues, seed: int) -> bool:
        return self._record_path(recipe, seed).is_file()

    def reuse(self, runs: list[CachedRun]) -> int:
        """Adds score-only records (no adapter) for runs the cache does not hold; returns how many."""
        added = 0
        for run in runs:
            record = self._record_path(run.recipe, run.seed)
            with self._lock(record):
                if not record.is_file():
                    write_model(record, run.model_copy(update={"adapter_dir": None}))
                    added += 1
        return added

    def train(self, recipe: RecipeValues, seed: int, retrain: bool = False) -> CachedRun:
        """Train + judge (or read the cache); a failed run is recorded with its failure, not raised.
        retrain: a reused record that lacks an adapter is trained afresh and replaced."""
        record = self._record_path(recipe, seed)
        with self._lock(record):
            if record.is_file():
                run = read_model(record, CachedRun)
                if not (retrain and run.failure is None and not _has_adapter(run)):
                    return run
            run = self._train(recipe, seed, record.with_suffix(""))
            write_model(record, run)
            return run

    def _train(self, recipe: RecipeValues, seed: int, run_dir: Path) -> CachedRun:
        run_dir.mkdir(parents=True, exist_ok=True)
        recipe_file, out = run_dir / "recipe.yaml", run_dir / "out"
        recipe_file.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
        base = CachedRun(recipe_sha256=recipe_sha256(recipe), seed=seed, recipe=recipe)
        threads = str(self.spec.cpu_threads_per_job)
        # the allow-listed job environment a campaign's jobs get: never the host's credentials
        threads_env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "EVOTRAIN_THREADS": threads}
        env = job_environment({"PYTHONUNBUFFERED": "1", **threads_env}, home=str(run_dir),
                              python_bin=str(Path(sys.executable).parent))
        started = time.time()
        command = render_command(self.spec.run_command, recipe=str(recipe_file), out=str(out), seed=str(seed))
        failure = self._call(command, env, run_dir / "train.log", "train")
        if failure:
            return base.model_copy(update={"failure": failure, "wall_s": time.time() - started})
        checkpoints = read_model(out / self.spec.results_file, RunResults).checkpoints
        if self.spec.judge_command:  # the frozen judge's scores, not the run's own telemetry
            report = run_dir / "judge.json"
            dev_items = recipe.get("dev_items")
            judge = render_command(self.spec.judge_command, run=str(out), report=str(report),
                                   dev_items=dev_items if isinstance(dev_items, int) else None)
            failure = self._call(judge, env, run_dir / "judge.log", "judge")
            if failure:
                return base.model_copy(update={"failure": failure, "wall_s": time.time() - started})
            checkpoints = read_model(report, JudgeReport).checkpoints
        best = choose_checkpoint(checkpoints, "raise_dev")
        if best is None:
            return base.model_copy(update={"failure": "no checkpoints", "wall_s": time.time() - started})
        return base.model_copy(update={"dev": best.overall, "chosen_step": best.step,
                                       "adapter_dir": str(_absolute(best, out)), "wall_s": time.time() - started})

    def _call(self, command: list[str], env: dict[str, str], log: Path, what: str) -> str | None:
        with log.open("w", encoding="utf-8") as fh:
            try:
                proc = subprocess.run(command, cwd=self.substrate, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                      timeout=RUN_TIMEOUT_S, check=False)
            except subprocess.TimeoutExpired:
                return f"{what}: timed out after {RUN_TIMEOUT_S:.0f}s"
        if proc.returncode == 0:
            return None
        lines = [ln for ln in log.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
        return f"{what}: exit {proc.returncode}: {(lines or [''])[-1][:200]}"

    def score(self, recipe: RecipeValues, seed: int, half: str, label: str) -> float | None:
        """The run's public or private score (cached in its record); None for a failed run."""
        record = self._record_path(recipe, seed)
        run = self.train(recipe, seed)
        cached = run.public if half == "public" else run.private
        if cached is not None:
            return cached
        if run.failure is None and not _has_adapter(run):  # a reused record without this half
            run = self.train(recipe, seed, retrain=True)
        if run.adapter_dir is None:
            return None
        with self._lock(record):
            if half == "public":
                value = self.board.submit(label, 0, Path(run.adapter_dir)).public
            else:
                value = self.board.private(label, Path(run.adapter_dir))
            run = read_model(record, CachedRun).model_copy(update={half: value})
            write_model(record, run)
        return value


def _has_adapter(run: CachedRun) -> bool:
    return run.adapter_dir is not None and Path(run.adapter_dir).is_dir()


def _absolute(ckpt: CheckpointEval, out: Path) -> Path:
    p = Path(ckpt.adapter_dir)
    return p if p.is_absolute() else (out / p).resolve()
