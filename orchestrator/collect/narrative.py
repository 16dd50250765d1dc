"""Narrative fields of the round report: scripted (derived from the numbers) or LLM-written.

Numbers are never written by a narrative writer: it receives the computed facts and returns prose
only, in a schema-constrained `Narratives` object that the collector checks before using.
"""

from __future__ import annotations

import json
from typing import Protocol

from pydantic import Field, ValidationError

from evotrain.errors import EvotrainError
from evotrain.schemas.common import Artifact
from evotrain.schemas.report import Calibration, CandidateSummary, Pattern, Surprise
from llm.base import AgentBackend, AgentError, BudgetExceeded


class RoundFacts(Artifact):
    """Everything a narrative writer may read: the computed sections without prose."""

    round: int
    objective: str
    candidates: list[CandidateSummary]
    calibration: Calibration
    rationales: dict[str, str] = Field(default_factory=dict)  # worker id -> stated design rationale
    consistent: dict[str, bool] = Field(default_factory=dict)  # worker id -> outcome supports it


class Narratives(Artifact):
    candidate_summaries: dict[str, str]  # worker id -> one-sentence summary
    patterns: list[Pattern]
    surprises: list[Surprise]
    audit_notes: dict[str, str] = Field(default_factory=dict)  # worker id -> audit note
    calibration: str


class NarrativeWriter(Protocol):
    name: str

    def write(self, facts: RoundFacts) -> Narratives: ...


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _signed(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.3f}"


class ScriptedNarrativeWriter:
    """Deterministic prose derived only from the numbers (offline default)."""

    name = "scripted"

    def write(self, facts: RoundFacts) -> Narratives:
        cal = facts.calibration
        band, dev_band = cal.noise_band, cal.dev_band or cal.noise_band
        summaries: dict[str, str] = {}
        for c in facts.candidates:
            if c.failure:
                summaries[c.worker_id] = f"{c.axis}: failed ({c.failure})."
                continue
            keys = ", ".join([*(k.key for k in c.changes), *(f"code: {f}" for f in c.code_changes)]) or (
                "no recipe change")
            lb = f"leaderboard {_fmt(c.leaderboard)} ({_signed(c.leaderboard_gain)})" if c.submitted else (
                "not submitted"
            )
            lead = " (re-test of last round's lead, submitted first)" if c.lead_retest else ""
            summaries[c.worker_id] = f"{c.axis} [{keys}]{lead}: dev {_fmt(c.dev)} ({_signed(c.dev_gain)}), {lb}."
        patterns = self._patterns(facts, band)
        surprises: list[Surprise] = []
        for c in facts.candidates:
            if c.dev_gain is None or c.leaderboard_gain is None or c.is_baseline:
                continue
            if c.dev_gain > dev_band and c.leaderboard_gain <= band:
                surprises.append(Surprise(worker_id=c.worker_id, statement=(
                    f"{c.axis} raised dev by {c.dev_gain:+.3f} (band {dev_band:.3f}) but the leaderboard "
                    f"moved {c.leaderboard_gain:+.3f} (band {band:.3f})."
                )))
            elif c.dev_gain <= 0 < c.leaderboard_gain - band:
                surprises.append(Surprise(worker_id=c.worker_id, statement=(
                    f"{c.axis} lowered dev ({c.dev_gain:+.3f}) yet gained {c.leaderboard_gain:+.3f} on the leaderboard."
                )))
        notes = {
            wid: ("outcome supports the stated rationale" if ok else "outcome does not support the stated rationale")
            for wid, ok in facts.consistent.items()
        }
        rho = "n/a" if cal.rank_correlation is None else f"{cal.rank_correlation:+.2f}"
        text = (
            f"Rank correlation dev vs leaderboard {rho} over {len(cal.rows)} submitted candidates; mean gap "
            f"{_fmt(cal.mean_gap)}; noise band {band:.3f} (dev {dev_band:.3f})."
        )
        rep = cal.replication
        if rep is not None and rep.winners_curse is not None:
            text += (f" The anchor re-ran the recipe promoted from r{rep.promoted_round:03d} {rep.promoted_worker}: "
                     f"its leaderboard gain {rep.promoted_gain:+.3f} replicated as {rep.replicated_gain:+.3f} "
                     f"(winner's curse {rep.winners_curse:+.3f}).")
        if cal.drift_flag:
            text += f" Proxy drift: {cal.drift_evidence}"
        return Narratives(
            candidate_summaries=summaries, patterns=patterns, surprises=surprises, audit_notes=notes,
            calibration=text,
        )

    @staticmethod
    def _patterns(facts: RoundFacts, band: float) -> list[Pattern]:
        by_category: dict[str, list[CandidateSummary]] = {}
        for c in facts.candidates:
            if not c.is_baseline:
                by_category.setdefault(c.axis_category, []).append(c)
        patterns: list[Pattern] = []
        for category, members in sorted(by_category.items()):
            gains = [c.dev_gain for c in members if c.dev_gain is not None]
            if not gains:
                continue
            mean = sum(gains) / len(gains)
            above = [c.worker_id for c in members if c.dev_gain is not None and c.dev_gain > band]
            patterns.append(Pattern(
                statement=f"category {category}: mean dev gain {mean:+.3f} over {len(gains)} candidates, "
                f"{len(above)} beyond the band",
                evidence=[f"{c.worker_id}={_signed(c.dev_gain)}" for c in members],
            ))
        failed = [c.worker_id for c in facts.candidates if c.failure]
        if failed:
            patterns.append(Pattern(statement=f"{len(failed)} candidate(s) failed", evidence=failed))
        return patterns


class LLMNarrativeWriter:
    """Prose from an agent backend, constrained to `Narratives` and checked against the facts."""

    name = "llm"

    def __init__(self, backend: AgentBackend, max_attempts: int = 3) -> None:
        self.backend = backend
        self.max_attempts = max_attempts

    def write(self, facts: RoundFacts) -> Narratives:
        system = (
            "You write the narrative fields of a fixed-schema round report. The numbers are computed "
            "and correct; describe them, never invent new numbers. Return only the JSON object."
        )
        expected = {c.worker_id for c in facts.candidates}
        problem = ""
        for _ in range(self.max_attempts):
            user = json.dumps({"facts": facts.model_dump(mode="json"), "previous_problem": problem})
            try:
                out = self.backend.complete_json(system, user, Narratives)
            except BudgetExceeded as exc:  # the campaign budget is spent: scripted prose, no retry
                raise EvotrainError(f"narrative writer: {exc}") from None
            except (AgentError, ValidationError) as exc:
                problem = f"invalid output: {str(exc).splitlines()[0]}"
                continue
            if set(out.candidate_summaries) != expected:
                problem = f"candidate_summaries must have exactly the keys {sorted(expected)}"
                continue
            if not set(out.audit_notes) <= expected:
                problem = "audit_notes has unknown worker ids"
                continue
            return out
        raise EvotrainError(f"narrative writer: no valid Narratives after {self.max_attempts} attempts: {problem}")
