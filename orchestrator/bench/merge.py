"""`evotrain bench merge-efficiency`: one efficiency report from several run apart.

The acceptance shape (5 seeds x 4 rounds x 8 workers = 800 training runs) is hours of 2-core
training; seeds can run on different machines or days (`--first-seed`, `--seeds 1`), and a seed's
baselines can run apart too (`--methods random`, later `--methods oracle`), and be merged here.
Reports merge only if they ran the same bench: the same substrate (its fingerprint), shape, recipe
overrides, split size and submission budget. Each (seed, baseline) may come from one report only;
a seed's campaign may appear in several, and then must be the same campaign with the same outcome.
The oracle, runs-to-90 % and the summary are recomputed from the per-seed outcomes, exactly as a
single run computes them.
"""

from __future__ import annotations

from pathlib import Path

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from orchestrator.bench.efficiency import summarise_report
from orchestrator.bench.models import METHODS, EfficiencyReport, MethodOutcome

# the fields every merged report must agree on: they define which bench was run
SAME_BENCH = ("substrate_fingerprint", "rounds", "workers", "recipe_overrides", "split_items", "runs_per_method",
              "oracle_runs", "submissions_per_batch", "submission_budget")


def load_reports(paths: list[Path]) -> list[EfficiencyReport]:
    if len(paths) < 2:
        raise EvotrainError("merge-efficiency: give at least two reports")
    return [read_model(p, EfficiencyReport) for p in paths]


def merge_efficiency(reports: list[EfficiencyReport], names: list[str]) -> EfficiencyReport:
    first = reports[0]
    for report, name in zip(reports, names, strict=True):
        if not report.substrate_fingerprint:
            raise EvotrainError(f"{name}: substrate_fingerprint is missing (a report from before merging existed)")
        for field in SAME_BENCH:
            if getattr(report, field) != getattr(first, field):
                raise EvotrainError(f"{name}: {field} is {getattr(report, field)!r}, but {names[0]} has "
                                    f"{getattr(first, field)!r}: not the same bench")
    kept: dict[tuple[int, str], tuple[MethodOutcome, str]] = {}
    for report, name in zip(reports, names, strict=True):
        for o in report.outcomes:
            key = (o.seed, o.method)
            if key not in kept:
                kept[key] = (o, name)
            elif o.method != "campaign":
                raise EvotrainError(f"{name}: seed {o.seed}'s {o.method} is also in {kept[key][1]}")
            elif _campaign_key(o) != _campaign_key(kept[key][0]):
                raise EvotrainError(f"{name}: seed {o.seed}'s campaign differs from the one in {kept[key][1]} "
                                    f"({_campaign_key(o)} vs {_campaign_key(kept[key][0])})")
    merged = first.model_copy(deep=True)
    merged.seeds = sorted({seed for seed, _ in kept})
    merged.methods = [m for m in METHODS if any(method == m for _, method in kept)]
    merged.outcomes = [kept[k][0].model_copy(deep=True) for k in
                       sorted(kept, key=lambda k: (k[0], METHODS.index(k[1])))]  # type: ignore[arg-type]
    merged.notes = [n for r in reports for n in r.notes] + [f"merged from {', '.join(names)}"]
    merged.wall_s = sum(r.wall_s for r in reports)
    summarise_report(merged)  # oracle and runs to 90 % too: a report without a seed's oracle had None
    return merged


def _campaign_key(o: MethodOutcome) -> tuple[str | None, int, str | None, float | None]:
    return (o.campaign, o.training_runs, o.chosen, o.chosen_private)
