"""Terminal tables for the cycle CLI: quality gate, per-category benchmark, decision, status, history."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from evotrain.io import read_model
from orchestrator.cycle.models import (
    BenchmarkOutput,
    ChampionPointer,
    CycleState,
    GateOutput,
    GenerateOutput,
    QualityOutput,
    TrainOutput,
)
from orchestrator.cycle.quality import RULES


def _load(path: Path, model: type):
    return read_model(path, model) if path.is_file() else None


def generate_table(out: GenerateOutput) -> Table:
    table = Table(title="Generators", title_justify="left")
    for col in ("source", "kind", "examples", "status"):
        table.add_column(col, justify="right" if col == "examples" else "left")
    for r in out.reports:
        table.add_row(r.source, r.kind, str(r.n_examples), "ok" if r.ok else f"FAILED: {r.error}")
    return table


def quality_table(out: QualityOutput) -> Table:
    pct = 100.0 * out.n_kept / out.n_input if out.n_input else 0.0
    table = Table(title=f"Quality gate: {out.n_input:,} -> {out.n_kept:,} kept ({pct:.1f}%)", title_justify="left")
    table.add_column("source")
    table.add_column("input", justify="right")
    table.add_column("stripped", justify="right")
    for rule in RULES:
        table.add_column(f"-{rule}", justify="right")
    table.add_column("kept", justify="right")
    totals = {rule: 0 for rule in RULES}
    for row in out.by_source:
        table.add_row(row.source, str(row.input), str(row.noise_stripped),
                      *(str(row.dropped.get(rule, 0)) for rule in RULES), str(row.kept))
        for rule in RULES:
            totals[rule] += row.dropped.get(rule, 0)
    table.add_row("total", str(out.n_input), str(sum(r.noise_stripped for r in out.by_source)),
                  *(str(totals[rule]) for rule in RULES), str(out.n_kept), style="bold")
    return table


def benchmark_table(bench: BenchmarkOutput, gate: GateOutput | None, minimums: dict[str, float],
                    champion: dict[str, float] | None) -> Table:
    table = Table(title=f"Benchmark per category (held-out, {bench.n_items} items)", title_justify="left")
    for col in ("category", "n", "challenger", "champion", "minimum", ""):
        table.add_column(col, justify="left" if col in ("category", "") else "right")
    regressed = set(gate.regressed) if gate else set()
    for category, score in sorted(bench.by_category.items()):
        before = champion.get(category) if champion else None
        table.add_row(category, str(bench.n_by_category.get(category, "")), f"{score:.3f}",
                      "-" if before is None else f"{before:.3f}", f"{minimums.get(category, 0.0):.2f}",
                      "regressed" if category in regressed else "")
    champ_overall = gate.champion_overall if gate else None
    table.add_row("overall", str(bench.n_items), f"{bench.overall:.3f}",
                  "-" if champ_overall is None else f"{champ_overall:.3f}", "", "", style="bold")
    return table


def decision_line(cycle_id: str, gate: GateOutput) -> str:
    if gate.promote:
        before = f" (replaces {gate.champion_before})" if gate.champion_before else " (first champion)"
        return f"decision: PROMOTE {cycle_id}{before}"
    keep = gate.champion_before or "none"
    line = f"decision: KEEP champion {keep}; {cycle_id} rejected: " + "; ".join(gate.reasons)
    if gate.weak_categories:
        line += f"\nnext cycle raises: {', '.join(gate.weak_categories)}"
    return line


def _stage_summary(state: CycleState) -> str:
    if state.finished:
        return "complete"
    stage = state.next_stage() or "?"
    record = state.stages.get(stage)
    status = record.status if record else "pending"
    return f"interrupted at {stage} ({status})" if status != "pending" else f"pending {stage}"


def history_table(states: list[CycleState], root: Path) -> Table:
    table = Table(title="Cycle history", title_justify="left")
    for col in ("cycle", "started", "state", "examples", "kept", "steps", "overall", "per category", "decision"):
        table.add_column(col)
    for state in states:
        folder = root / "cycles" / state.id
        gen = _load(folder / "generate.json", GenerateOutput)
        qual = _load(folder / "quality.json", QualityOutput)
        train = _load(folder / "train.json", TrainOutput)
        bench = _load(folder / "benchmark.json", BenchmarkOutput)
        gate = _load(folder / "gate.json", GateOutput)
        cats = " ".join(f"{c[:4]}={s:.2f}" for c, s in sorted(bench.by_category.items())) if bench else ""
        decision = "" if gate is None else ("promoted" if gate.promote else "kept " + (gate.champion_before or "none"))
        table.add_row(state.id, state.created.replace("+00:00", "Z"), _stage_summary(state),
                      str(gen.n_examples) if gen else "", str(qual.n_kept) if qual else "",
                      str(train.steps) if train else "", f"{bench.overall:.3f}" if bench else "", cats, decision)
    return table


def pointer_lines(pointer: ChampionPointer) -> list[str]:
    lines = [f"champion: {pointer.champion or 'none'}" + (f" (since {pointer.since})" if pointer.champion else "")]
    if pointer.previous:
        lines.append(f"earlier champions: {', '.join(pointer.previous)}")
    for event in pointer.history[-5:]:
        lines.append(f"  {event.get('at', '')} {event.get('action', '')} -> {event.get('champion', '')}"
                     f" (by {event.get('by', '')})")
    return lines
