"""`evotrain bench merge-efficiency`: one efficiency report from several run apart.

The acceptance shape (5 seeds x 4 rounds x 8 workers = 800 training runs) is hours of 2-core
training; seeds can run on different machines or days (`--first-seed`, `--seeds 1`) and be merged
here. Reports merge only if they ran the same bench: the same substrate (its fingerprint), shape,
recipe overrides, split size and submission budget, and no seed twice. The summary is recomputed
from the per-seed outcomes, exactly as a single run computes it.
"""

from __future__ import annotations

from pathlib import Path

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from orchestrator.bench.efficiency import METHODS, summarise
from orchestrator.bench.models import EfficiencyReport

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
    seen: dict[int, str] = {}
    for report, name in zip(reports, names, strict=True):
        for seed in report.seeds:
            if seed in seen:
                raise EvotrainError(f"{name}: seed {seed} is also in {seen[seed]}")
            seen[seed] = name
    merged = first.model_copy(deep=True)
    merged.seeds = sorted(seen)
    merged.oracle = {str(k): v for k, v in sorted(((int(k), v) for r in reports for k, v in r.oracle.items()))}
    merged.outcomes = sorted((o for r in reports for o in r.outcomes),
                             key=lambda o: (merged.seeds.index(o.seed), METHODS.index(o.method)))
    merged.notes = [n for r in reports for n in r.notes] + [f"merged from {', '.join(names)}"]
    merged.wall_s = sum(r.wall_s for r in reports)
    merged.summary = [summarise(m, [o for o in merged.outcomes if o.method == m]) for m in METHODS]
    return merged
