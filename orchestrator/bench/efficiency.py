"""`evotrain bench efficiency`: the campaign against random search, one-factor-at-a-time and an oracle.

Fairness: for each seed s, every method but the oracle spends the same number of training runs:
the campaign's, read from its manifests (training jobs, smoke runs excluded; R·N with one job per
worker, more if its workers retry or make several moves), and at most
submission_budget_per_round × R public-half submissions; each ends with the recipe it would submit,
chosen by its own rule from the public half, whose PRIVATE-half score is the outcome. Every run of a
baseline goes through the campaign's scoring path (orchestrator/bench/scoring.py).

- campaign: R rounds × N workers, seed s, scripted agents, local executor, local leaderboard; it
  submits summary.best (best public over all rounds). Below, B = its training-run count.
- random: draws 1..B of seed s's stream (sampling.py), trained in R batches of ceil(B/R); after each
  batch the top submission_budget_per_round runs of that batch by dev go to the public half; the
  method submits the best public so far.
- ofat (one factor at a time, greedy): run 1 is the baseline recipe (the incumbent). Then the axes
  in axes.yaml order, cycling: for an axis, run the incumbent with each value of its grid
  (sampling.grid: low/middle/high, or every choice; the incumbent's own value skipped); when the best
  of those runs has a strictly higher dev than the incumbent's dev, it becomes the incumbent (its dev
  the incumbent's dev); then the next axis. It stops when B runs are spent (the last axis may be
  cut short). Submissions and the submitted recipe follow the same batch rule as random search.
- oracle: draws 1..3·B of the same stream, every one scored on the PRIVATE half; the best private
  score found is the ceiling. Random search of seed s is the first B draws of the oracle's stream,
  so their runs are shared through the cache (the comparison is unchanged: random search sees only
  its own draws, dev and public scores; only the oracle reads private scores).

runs_to_90: the first run count after which the method's chosen recipe's private score is
>= 0.9 × the oracle (campaign: after each round; random/ofat: after each batch; oracle: after
each run, the best private so far); None if never (or when the oracle was not run). Seeds' training
seeds are s·10000 + run index.

`--methods` runs a subset of the baselines (the campaign always runs, or is read back when finished:
its run count is every baseline's budget). Runs are cached under <root>/bench/cache, so a seed's
methods can run on different days in the same root and be joined with `bench merge-efficiency`;
`--reuse REPORT` seeds the cache from an earlier report's runs (orchestrator/bench/reuse.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from evotrain.paths import CampaignPaths
from evotrain.schemas.common import RecipeValue, RecipeValues, get_path
from evotrain.schemas.policy import Axis
from orchestrator.bench import sampling
from orchestrator.bench.campaigns import (
    BenchSettings,
    Say,
    bench_config,
    campaign_curve,
    campaign_name,
    private_scorer,
    run_or_resume,
)
from orchestrator.bench.models import (
    METHODS,
    BenchRun,
    CampaignDifference,
    CurvePoint,
    EfficiencyReport,
    Method,
    MethodOutcome,
    MethodSummary,
)
from orchestrator.bench.reuse import reusable_runs
from orchestrator.bench.scoring import RunScorer, substrate_fingerprint
from orchestrator.bench.stats import mean_ci95
from orchestrator.config import resolve_under
from orchestrator.meta import constitution

ORACLE_FACTOR = 3
BASELINES: tuple[Method, ...] = ("random", "ofat", "oracle")


def train_seed(seed: int, index: int) -> int:
    return seed * 10_000 + index


class _Runner:
    """Trains planned runs of one method and seed in parallel, with one progress line per run."""

    def __init__(self, scorer: RunScorer, settings: BenchSettings, say: Say, method: Method, seed: int,
                 baseline: RecipeValues, batch_size: int, n_batches: int) -> None:
        self.scorer, self.settings, self.say = scorer, settings, say
        self.method, self.seed, self.baseline = method, seed, baseline
        self.batch_size, self.n_batches = batch_size, n_batches

    def run(self, planned: list[tuple[int, dict[str, RecipeValue]]], total: int,
            private: bool = False) -> list[BenchRun]:
        """private: score each run's private half in its own thread right after it trains (the oracle), so
        the leaderboard's evaluations (one at a time: its lock) overlap the other slot's training."""
        def one(item: tuple[int, dict[str, RecipeValue]]) -> BenchRun:
            index, values = item
            recipe = sampling.apply(self.baseline, values)
            tseed = train_seed(self.seed, index)
            cached = self.scorer.cached(recipe, tseed)
            r = self.scorer.train(recipe, tseed)
            run = BenchRun(index=index, batch=min(self.n_batches, (index - 1) // self.batch_size + 1),
                           recipe_sha256=r.recipe_sha256, seed=tseed, values=values, dev=r.dev,
                           chosen_step=r.chosen_step, failure=r.failure, cached=cached)
            if private:
                run.private = self.score(run, "private")
            dev = "failed: " + (r.failure or "") if r.dev is None else f"dev {r.dev:.3f}"
            if run.private is not None:
                dev += f", private {run.private:.3f}"
            self.say(f"{self.method} s{self.seed} run {index}/{total}: {dev}{' (cached)' if cached else ''}")
            return run

        with ThreadPoolExecutor(max_workers=max(1, self.settings.parallel)) as pool:
            return list(pool.map(one, planned))

    def score(self, run: BenchRun, half: str) -> float | None:
        recipe = sampling.apply(self.baseline, run.values)
        return self.scorer.score(recipe, run.seed, half, f"bench-{self.method}-s{self.seed}-run{run.index}")


def _dev_key(run: BenchRun) -> tuple[float, int]:
    return (run.dev if run.dev is not None else float("-inf"), -run.index)


def submit_by_batch(runner: _Runner, runs: list[BenchRun], per_batch: int) -> tuple[int, list[CurvePoint]]:
    """Each batch submits its top `per_batch` runs by dev; after each batch the method's choice is the
    best public so far (ties to the earlier run). Returns (submissions, curve)."""
    submissions, curve = 0, []
    best: BenchRun | None = None
    for b in sorted({r.batch for r in runs}):
        batch = [r for r in runs if r.batch == b and r.dev is not None]
        for run in sorted(batch, key=_dev_key, reverse=True)[:per_batch]:
            run.public = runner.score(run, "public")
            run.private = runner.score(run, "private")  # the curve's outcome; never used to choose
            run.submitted = True
            submissions += 1
            if run.public is not None and (best is None or run.public > (best.public or 0.0)
                                           or (run.public == best.public and run.index < best.index)):
                best = run
        upto = max(r.index for r in runs if r.batch == b)
        curve.append(CurvePoint(runs=upto, chosen=f"run {best.index}" if best else None,
                                private=best.private if best else None))
    return submissions, curve


def _finish(outcome: MethodOutcome, runs: list[BenchRun]) -> MethodOutcome:
    last = outcome.curve[-1] if outcome.curve else None
    chosen = next((r for r in runs if last is not None and f"run {r.index}" == last.chosen), None)
    outcome.chosen = last.chosen if last else None
    outcome.chosen_private = last.private if last else None
    outcome.chosen_public = chosen.public if chosen else None
    outcome.runs = runs
    return outcome


def ofat_runs(runner: _Runner, axes: list[Axis], budget: int) -> list[BenchRun]:
    """The greedy one-factor-at-a-time sequence (rule in the module docstring)."""
    runs = runner.run([(1, {})], budget)
    incumbent: dict[str, RecipeValue] = {}
    inc_dev = runs[0].dev if runs[0].dev is not None else float("-inf")
    while len(runs) < budget:
        tried = 0
        for axis in axes:
            current = get_path(sampling.apply(runner.baseline, incumbent), axis.key)
            values = sampling.grid(axis, current)[: budget - len(runs)]
            if not values:
                continue
            planned = [(len(runs) + k + 1, {**incumbent, axis.key: v}) for k, v in enumerate(values)]
            batch = runner.run(planned, budget)
            runs += batch
            tried += len(batch)
            top = max(batch, key=_dev_key)
            if top.dev is not None and top.dev > inc_dev:
                incumbent, inc_dev = dict(top.values), top.dev
            if len(runs) >= budget:
                break
        if tried == 0:  # no axis has a value left to try
            break
    return runs


def runs_to_90(curve: list[CurvePoint], oracle: float | None) -> int | None:
    if oracle is None:
        return None
    return next((p.runs for p in curve if p.private is not None and p.private >= 0.9 * oracle), None)


def run_efficiency(s: BenchSettings, seeds: list[int], rounds: int, workers: int, say: Say,
                   baselines: tuple[Method, ...] = BASELINES, reuse: list[Path] | None = None) -> EfficiencyReport:
    started = time.time()
    methods: list[Method] = [m for m in METHODS if m == "campaign" or m in baselines]
    scorer = RunScorer(s.substrate, s.bench_dir, s.split_items)
    rules = constitution.load(resolve_under(s.root, s.constitution, "--constitution")).rules
    per_batch = rules.submission_budget_per_round
    budget_runs = rounds * workers
    baseline, axes = sampling.substrate_space(s.substrate, s.overrides)
    reused = [r for path in reuse or [] for r in reusable_runs(path, s.substrate, baseline, s.split_items)]
    if reuse:
        say(f"reuse: {scorer.reuse(reused)} of {len(reused)} runs added to the cache from {len(reuse)} report(s)")
    report = EfficiencyReport(
        substrate=str(s.substrate), seeds=seeds, rounds=rounds, workers=workers, runs_per_method=budget_runs,
        oracle_runs=ORACLE_FACTOR * budget_runs, submissions_per_batch=per_batch,
        submission_budget=per_batch * rounds, recipe_overrides=dict(s.overrides),
        substrate_fingerprint=substrate_fingerprint(s.substrate), split_items=s.split_items, methods=methods)
    for seed in seeds:
        outcomes = _one_seed(s, scorer, seed, rounds, workers, per_batch, baseline, axes, say, methods)
        for o in outcomes:
            if o.method == "campaign" and o.training_runs != budget_runs:
                report.notes.append(f"seed {seed}: the campaign spent {o.training_runs} training runs (not R·N = "
                                    f"{budget_runs}); random and ofat were given as many")
        report.outcomes += outcomes
    summarise_report(report)
    report.wall_s = time.time() - started
    return report


def summarise_report(report: EfficiencyReport) -> None:
    """Fills, from the outcomes: each seed's oracle, runs to 90 % of it, the summary (per method) and the
    campaign's paired differences. One place for a single run and a merge of reports run apart."""
    report.oracle = {str(seed): next((o.chosen_private for o in report.outcomes
                                      if o.seed == seed and o.method == "oracle"), None) for seed in report.seeds}
    for o in report.outcomes:
        o.runs_to_90 = runs_to_90(o.curve, report.oracle[str(o.seed)])
    report.summary = [summarise(m, [o for o in report.outcomes if o.method == m]) for m in report.methods]
    camp = {o.seed: o.chosen_private for o in report.outcomes if o.method == "campaign"}
    report.campaign_minus = []
    for m in report.methods[1:]:
        diffs = [c - o.chosen_private for o in report.outcomes if o.method == m
                 if (c := camp.get(o.seed)) is not None and o.chosen_private is not None]
        mean, low, high = mean_ci95(diffs)
        report.campaign_minus.append(CampaignDifference(method=m, n=len(diffs), mean=mean, ci95_low=low,
                                                        ci95_high=high))


def summarise(method: Method, outcomes: list[MethodOutcome]) -> MethodSummary:
    values = [o.chosen_private for o in outcomes if o.chosen_private is not None]
    mean, low, high = mean_ci95(values)
    return MethodSummary(method=method, n=len(values), mean=mean, ci95_low=low, ci95_high=high,
                         runs_to_90=[o.runs_to_90 for o in outcomes],
                         reached_90=sum(o.runs_to_90 is not None for o in outcomes))


def _one_seed(s: BenchSettings, scorer: RunScorer, seed: int, rounds: int, workers: int, per_batch: int,
              baseline: RecipeValues, axes: list[Axis], say: Say, methods: list[Method]) -> list[MethodOutcome]:
    shape = ["efficiency", rounds, workers, s.overrides, s.split_items]
    name = campaign_name("eff", seed, scorer.folder.name, shape)
    summary = run_or_resume(s.root, bench_config(s, name, rounds, workers, seed), say)
    private: Callable[[str], float | None] = private_scorer(s.root, name)
    runs, subs, curve = campaign_curve(CampaignPaths(s.root, name), private)
    best = summary.best
    camp = MethodOutcome(method="campaign", seed=seed, training_runs=runs, submissions=subs,
                         submission_budget=per_batch * rounds, chosen=best.candidate if best else None,
                         chosen_public=best.public if best else None, chosen_private=best.private if best else None,
                         curve=curve, campaign=name, worker_seeds="paired")

    budget = runs if runs > 0 else rounds * workers  # the baselines spend what the campaign spent
    batch = math.ceil(budget / rounds)

    def runner(method: Method) -> _Runner:
        return _Runner(scorer, s, say, method, seed, baseline, batch, rounds)

    draws = [(i + 1, sampling.draw(baseline, axes, seed, i)) for i in range(ORACLE_FACTOR * budget)]
    outcomes = [camp]
    if "random" in methods:
        rnd = runner("random")
        outcomes.append(_submitted(rnd, rnd.run(draws[:budget], budget), per_batch, rounds))
    if "ofat" in methods:
        ofat = runner("ofat")
        outcomes.append(_submitted(ofat, ofat_runs(ofat, axes, budget), per_batch, rounds))
    if "oracle" in methods:
        orc = runner("oracle")
        orc.batch_size, orc.n_batches = batch, ORACLE_FACTOR * rounds
        outcomes.append(_oracle(orc, draws, seed, say))
    return outcomes


def _submitted(runner: _Runner, runs: list[BenchRun], per_batch: int, rounds: int) -> MethodOutcome:
    """Random search's or OFAT's outcome: its runs, submitted by batch, and its final choice."""
    subs, curve = submit_by_batch(runner, runs, per_batch)
    return _finish(MethodOutcome(method=runner.method, seed=runner.seed, training_runs=len(runs), submissions=subs,
                                 submission_budget=per_batch * rounds, curve=curve), runs)


def _oracle(orc: _Runner, draws: list[tuple[int, dict[str, RecipeValue]]], seed: int, say: Say) -> MethodOutcome:
    o_all = orc.run(draws, len(draws), private=True)
    oracle_curve, top = [], None
    for run in o_all:
        if run.private is not None and (top is None or run.private > (top.private or 0.0)):
            top = run
        oracle_curve.append(CurvePoint(runs=run.index, chosen=f"run {top.index}" if top else None,
                                       private=top.private if top else None))
    say(f"oracle s{seed}: best private {'n/a' if top is None else f'{top.private:.3f} (run {top.index})'} "
        f"of {len(o_all)} runs")
    return MethodOutcome(method="oracle", seed=seed, training_runs=len(o_all), submissions=0, submission_budget=0,
                         chosen=oracle_curve[-1].chosen if oracle_curve else None,
                         chosen_private=top.private if top else None, curve=oracle_curve, runs=o_all,
                         note="the best PRIVATE-half score of its sweep: a ceiling, not a submission rule")


def default_out(root: Path, name: str) -> Path:
    return root / "bench" / f"{name}.json"
