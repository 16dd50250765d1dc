"""The promotion gate: overall >= T, no category below its minimum, optionally beat the champion.

Pure function of the challenger's benchmark, the gate config and the current champion's scores.
Regressed categories (below their minimum, or below the champion's score by more than the margin)
and weak ones (below `weak_below`) are handed to the next cycle's `targeted` generator.
"""

from __future__ import annotations

from orchestrator.cycle.config import GateConfig
from orchestrator.cycle.models import BenchmarkOutput, ChampionEntry, GateOutput


def decide(bench: BenchmarkOutput, gate: GateConfig, champion: ChampionEntry | None) -> GateOutput:
    reasons: list[str] = []
    regressed: list[str] = []
    if bench.overall < gate.min_overall:
        reasons.append(f"overall {bench.overall:.3f} < {gate.min_overall:.3f}")
    for category, score in sorted(bench.by_category.items()):
        minimum = gate.minimum_for(category)
        if score < minimum:
            reasons.append(f"{category} {score:.3f} < {minimum:.3f}")
            regressed.append(category)
    if champion is not None:
        margin = gate.beat_champion_by or 0.0
        for category, score in sorted(bench.by_category.items()):
            before = champion.by_category.get(category)
            if before is not None and score < before - margin and category not in regressed:
                regressed.append(category)
        # strictly better: a tie with the champion is not worth a swap
        if gate.beat_champion_by is not None and bench.overall <= champion.overall + gate.beat_champion_by:
            reasons.append(
                f"overall {bench.overall:.3f} does not beat champion {champion.id} "
                f"{champion.overall:.3f} + {gate.beat_champion_by:.3f}"
            )
    weak = sorted({c for c, s in bench.by_category.items() if s < gate.weak_below} | set(regressed))
    return GateOutput(
        promote=not reasons,
        reasons=reasons,
        regressed=sorted(regressed),
        weak_categories=weak,
        champion_before=champion.id if champion else None,
        champion_overall=champion.overall if champion else None,
    )
