"""`evotrain bench efficiency|aa|drift`: does the loop do research? (docs/BENCH.md)

Each sub-command prints one line per finished run or campaign, then a table, and writes a JSON file
(a pydantic model of orchestrator/bench/models.py) under the workspace's bench/ folder by default.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.table import Table

from evotrain.errors import EvotrainError
from evotrain.io import write_model
from evotrain.schemas.common import Artifact, RecipeValue
from orchestrator.bench.models import METHODS, EfficiencyReport, Method

bench_app = typer.Typer(no_args_is_help=True)
console = Console()

SeedsOpt = Annotated[int, typer.Option("--seeds", help="Seeds 0..K-1 (from --first-seed).")]
FirstSeedOpt = Annotated[int, typer.Option("--first-seed", help="The first seed.")]
RoundsOpt = Annotated[int, typer.Option("--rounds", help="Rounds per campaign (R).")]
WorkersOpt = Annotated[int, typer.Option("--workers", help="Workers per round incl. the anchor (N).")]
SubstrateOpt = Annotated[Path, typer.Option("--substrate", help="Substrate folder.")]
RootOpt = Annotated[Path, typer.Option("--root", help="Workspace root (campaigns/, bench/, ...).")]
ConstOpt = Annotated[str, typer.Option("--constitution", help="Constitution folder (relative to --root).")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="JSON output (default: <root>/bench/<command>.json).")]
OverridesOpt = Annotated[str, typer.Option(
    "--recipe-overrides", help='YAML/JSON mapping applied on top of the substrate recipe, e.g. \'{max_steps: 20}\'.')]
ParallelOpt = Annotated[int, typer.Option("--parallel", help="Training jobs at once (campaigns and baselines).")]
SplitOpt = Annotated[int, typer.Option("--split-items", help="Items per hidden-split half (campaign default 300).")]


def _settings(root: Path, substrate: Path, constitution: str, overrides: str, parallel: int, split_items: int):
    from orchestrator.bench.campaigns import BenchSettings

    root = root.resolve()
    if not root.is_dir():
        raise EvotrainError(f"--root: not a folder: {root}")
    sub = substrate if substrate.is_absolute() else root / substrate
    if not (sub / "substrate.yaml").is_file():
        raise EvotrainError(f"--substrate: no substrate.yaml in {sub}")
    const = Path(constitution) if Path(constitution).is_absolute() else root / constitution
    if not const.is_dir():
        raise EvotrainError(f"--constitution: not a folder: {const}")
    try:
        values = yaml.safe_load(overrides) if overrides.strip() else {}
    except yaml.YAMLError as exc:
        raise EvotrainError(f"--recipe-overrides: not YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(values, dict):
        raise EvotrainError("--recipe-overrides: must be a mapping of recipe keys, e.g. '{max_steps: 20}'")
    if parallel < 1:
        raise EvotrainError(f"--parallel: must be >= 1, got {parallel}")
    if split_items < 10:
        raise EvotrainError(f"--split-items: must be >= 10, got {split_items}")
    from orchestrator.bench.sampling import substrate_space
    from workers.substrate_contract import check_recipe_values

    recipe, _ = substrate_space(sub.resolve(), values)
    check_recipe_values(sub.resolve(), recipe, "--recipe-overrides")
    return BenchSettings(root=root, substrate=sub.resolve(), constitution=str(const.resolve()),
                         bench_dir=root / "bench", overrides=values, parallel=parallel, split_items=split_items)


def _check_shape(seeds: int, rounds: int, workers: int | None = None) -> None:
    if seeds < 1:
        raise EvotrainError(f"--seeds: must be >= 1, got {seeds}")
    if rounds < 1:
        raise EvotrainError(f"--rounds: must be >= 1, got {rounds}")
    if workers is not None and workers < 2:
        raise EvotrainError(f"--workers: must be >= 2 (one anchor + one explorer), got {workers}")


def _baselines(methods: str) -> tuple[Method, ...]:
    from orchestrator.bench.efficiency import BASELINES

    names = [m.strip() for m in methods.split(",") if m.strip()]
    unknown = [m for m in names if m not in BASELINES and m != "campaign"]
    if unknown:
        raise EvotrainError(f"--methods: unknown {', '.join(unknown)} (choose from {', '.join(BASELINES)})")
    return tuple(m for m in BASELINES if m in names)


def _say(line: str) -> None:
    console.print(line, highlight=False, soft_wrap=True)


def _write(model: Artifact, out: Path | None, root: Path, name: str) -> None:
    path = out if out is not None else root.resolve() / "bench" / f"{name}.json"
    write_model(path, model)
    console.print(f"wrote {path}", highlight=False, soft_wrap=True)


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


@bench_app.command("efficiency")
def efficiency(seeds: SeedsOpt = 3, rounds: RoundsOpt = 4, workers: WorkersOpt = 8, first_seed: FirstSeedOpt = 0,
               substrate: SubstrateOpt = Path("substrate/default"), root: RootOpt = Path("."),
               constitution: ConstOpt = "constitution", out: OutOpt = None, recipe_overrides: OverridesOpt = "",
               parallel: ParallelOpt = 2, split_items: SplitOpt = 300,
               methods: Annotated[str, typer.Option(
                   "--methods", help="Baselines to run, comma-separated (the campaign always runs: it sets "
                                     "their budget); merge reports of the same seeds with merge-efficiency.")]
               = "random,ofat,oracle",
               reuse: Annotated[list[Path] | None, typer.Option(
                   "--reuse", help="An earlier efficiency report of this bench (repeatable): its baseline runs' "
                                   "scores are reused instead of retraining them.")] = None) -> None:
    """Campaign vs random search vs one-factor-at-a-time at equal runs and submissions, and an oracle."""
    from orchestrator.bench.efficiency import run_efficiency

    _check_shape(seeds, rounds, workers)
    baselines = _baselines(methods)
    s = _settings(root, substrate, constitution, recipe_overrides, parallel, split_items)
    for path in reuse or []:
        if not path.is_file():
            raise EvotrainError(f"--reuse: not a file: {path}")
    report = run_efficiency(s, list(range(first_seed, first_seed + seeds)), rounds, workers, _say, baselines,
                            reuse)
    _print_efficiency(report)
    _write(report, out, root, "efficiency")


@bench_app.command("merge-efficiency")
def merge_efficiency(
    reports: Annotated[list[Path], typer.Argument(help="efficiency.json files of the same bench, other seeds.")],
    out: Annotated[Path, typer.Option("--out", help="The merged report (JSON).")],
) -> None:
    """One efficiency report from several run apart (other machines or days): same bench, other seeds."""
    from orchestrator.bench.merge import load_reports
    from orchestrator.bench.merge import merge_efficiency as merge

    merged = merge(load_reports(reports), [str(p) for p in reports])
    _print_efficiency(merged)
    write_model(out, merged)
    console.print(f"wrote {out}", highlight=False, soft_wrap=True)


def _print_efficiency(report: EfficiencyReport) -> None:
    rounds, workers = report.rounds, report.workers
    t = Table(title=f"efficiency: {rounds} rounds x {workers} workers = {report.runs_per_method} runs, "
                    f"{report.submission_budget} submissions, {len(report.seeds)} seed(s)")
    for col in ("method", "private score (mean)", "95% interval", "per seed", "reached 90% of oracle",
                "runs to 90% per seed"):
        t.add_column(col)
    has_oracle = {o.seed for o in report.outcomes if o.method == "oracle"}
    for m in report.summary:
        ci = "n/a" if m.ci95_low is None else f"[{m.ci95_low:.3f}, {m.ci95_high:.3f}]"
        mine = [o for o in report.outcomes if o.method == m.method]
        per_seed = ", ".join(f"s{o.seed} {_f(o.chosen_private)}" for o in mine)
        # n/a: that seed's oracle was not run (--methods), so there is no 90 % mark to reach
        runs = ", ".join("n/a" if o.seed not in has_oracle else "never" if o.runs_to_90 is None
                         else str(o.runs_to_90) for o in mine)
        reached = f"{m.reached_90}/{sum(o.seed in has_oracle for o in mine)}"
        t.add_row(m.method, _f(m.mean), ci, per_seed, reached, runs)
    missing = [m for m in METHODS if m not in report.methods]
    t.caption = ((f"not run: {', '.join(missing)}; " if missing else "")
                 + f"oracle = best private score of a {report.oracle_runs}-run random sweep (a ceiling); "
                 f"wall {report.wall_s:.0f} s" + ("; " + "; ".join(report.notes) if report.notes else ""))
    console.print(t)
    for d in report.campaign_minus:
        ci = "" if d.ci95_low is None else f", 95% interval [{d.ci95_low:+.3f}, {d.ci95_high:+.3f}]"
        console.print(f"campaign - {d.method}, paired by seed (n={d.n}): "
                      f"{'n/a' if d.mean is None else f'{d.mean:+.3f}'}{ci}", highlight=False, soft_wrap=True)


@bench_app.command("aa")
def aa(seeds: SeedsOpt = 5, rounds: RoundsOpt = 3, workers: WorkersOpt = 4, first_seed: FirstSeedOpt = 0,
       substrate: SubstrateOpt = Path("substrate/default"), root: RootOpt = Path("."),
       constitution: ConstOpt = "constitution", out: OutOpt = None, recipe_overrides: OverridesOpt = "",
       parallel: ParallelOpt = 2, split_items: SplitOpt = 300,
       placebo_key: Annotated[str | None, typer.Option(
           "--placebo-key", help="Recipe key of the inert change (default: sleep_s on noop, "
                                 "lora_target_modules reordered on the default substrate).")] = None,
       placebo_value: Annotated[str | None, typer.Option("--placebo-value", help="Its value (YAML).")] = None) -> None:
    """A/A: explorers run the standing recipe (+ an inert placebo change), per-worker seeds; count false discoveries."""
    from orchestrator.bench.aa import run_aa

    _check_shape(seeds, rounds, workers)
    s = _settings(root, substrate, constitution, recipe_overrides, parallel, split_items)
    value: RecipeValue = None if placebo_value is None else yaml.safe_load(placebo_value)
    report = run_aa(s, list(range(first_seed, first_seed + seeds)), rounds, workers, _say, placebo_key, value)
    t = Table(title=f"A/A: {len(report.seeds)} seed(s) x {rounds} rounds x {workers} workers, placebo "
                    f"{report.placebo_key} -> {json.dumps(report.placebo_value)}, per-worker seeds")
    for col in ("seed", "rounds run", "promotions (rounds)", "explorers beating the band (rounds)", "dead ends",
                "drift flags", "noise band by round"):
        t.add_column(col)
    for r in report.per_seed:
        t.add_row(str(r.seed), str(r.rounds_run), f"{r.promotions} ({r.rounds_with_promotion})",
                  f"{r.eligible_gains} ({r.rounds_with_eligible_gain})", str(r.dead_ends), str(r.drift_flags),
                  " ".join(f"{b:.3f}" for b in r.noise_bands))
    t.caption = (f"false promotions: {_f(report.false_promotion_rate)} of {report.rounds_total} rounds; rounds with "
                 f"an explorer beating the band: {_f(report.eligible_gain_rate)}; dead ends {report.dead_ends_total}; "
                 f"drift flags {report.drift_flags_total}" + ("; " + "; ".join(report.notes) if report.notes else ""))
    console.print(t)
    _write(report, out, root, "aa")


@bench_app.command("drift")
def drift(seeds: SeedsOpt = 10, rounds: RoundsOpt = 3, workers: WorkersOpt = 2, first_seed: FirstSeedOpt = 0,
          substrate: SubstrateOpt = Path("substrate/default"), root: RootOpt = Path("."),
          constitution: ConstOpt = "constitution", out: OutOpt = None, recipe_overrides: OverridesOpt = "",
          parallel: ParallelOpt = 2, split_items: SplitOpt = 300,
          axis_key: Annotated[str, typer.Option("--axis-key", help="The planted axis' recipe key.")] = (
              "mixture_weights.equations"),
          axis_kind: Annotated[str, typer.Option("--axis-kind", help="linear | log | int.")] = "linear",
          axis_low: Annotated[float, typer.Option("--axis-low", help="Range low.")] = 0.25,
          axis_high: Annotated[float, typer.Option("--axis-high", help="Range high.")] = 12.25,
          axis_start: Annotated[str, typer.Option(
              "--axis-start", help="The planted key's value in the standing recipe, or 'substrate' for the "
                                   "substrate's own (default 0.25: see docs/BENCH.md).")] = "0.25",
          axis_category: Annotated[str, typer.Option("--axis-category", help="Its category.")] = "data_mix",
          with_axis: Annotated[list[str] | None, typer.Option(
              "--with-axis", help="Also search this axis of the substrate (repeatable).")] = None) -> None:
    """A planted axis that raises dev without moving the leaderboard: is drift flagged, the objective switched?"""
    from orchestrator.bench.drift import run_drift, with_axis_start

    _check_shape(seeds, rounds, workers)
    if axis_kind not in ("linear", "log", "int"):
        raise EvotrainError(f"--axis-kind: must be linear, log or int, got {axis_kind!r}")
    try:
        start = None if axis_start == "substrate" else float(axis_start)
    except ValueError:
        raise EvotrainError(f"--axis-start: a number or 'substrate', got {axis_start!r}") from None
    s = with_axis_start(_settings(root, substrate, constitution, recipe_overrides, parallel, split_items),
                        axis_key, start)
    rng: dict[str, RecipeValue] = {"kind": axis_kind, "low": axis_low, "high": axis_high}
    report = run_drift(s, list(range(first_seed, first_seed + seeds)), rounds, workers, _say, axis_key, rng,
                       axis_category, list(with_axis or []))
    t = Table(title=f"planted drift on {axis_key} [{axis_low:g}, {axis_high:g}]: {len(report.seeds)} seed(s) x "
                    f"{rounds} rounds x {workers} workers")
    for col in ("seed", "rounds run", "first dev-only rise", "drift flagged", "objective switched (policy round)",
                "axis on dead-end registry", "flagged within 2"):
        t.add_column(col)
    for r in report.per_seed:
        t.add_row(str(r.seed), str(r.rounds_run), _n(r.first_dev_only_rise), _n(r.flagged_round),
                  _n(r.objective_switched_round), "yes" if r.axis_dead_end else "no",
                  "yes" if r.flagged_within_2 else "no")
    t.caption = (f"flagged within 2 rounds of the first dev-only rise in {report.flagged_within_2} of "
                 f"{len(report.seeds)} seeds; a dev-only rise in {report.with_dev_only_rise}; objective switched in "
                 f"{report.objective_switched}; axis a dead end in {report.axis_dead_end}; wall {report.wall_s:.0f} s")
    console.print(t)
    _write(report, out, root, "drift")


def _n(x: int | None) -> str:
    return "-" if x is None else str(x)
