"""Semantic difference between two policy versions (what `evotrain policy diff` prints)."""

from __future__ import annotations

from pydantic import Field

from evotrain.schemas.common import Artifact, KeyChange, diff_values
from evotrain.schemas.policy import DeadEnd, Policy, Promotion


class AxisChange(Artifact):
    name: str
    category: str
    old: str | None  # status in A (None = absent)
    new: str


class PolicyDiff(Artifact):
    round_a: int
    round_b: int
    recipe_changes: list[KeyChange] = Field(default_factory=list)
    axes_added: list[AxisChange] = Field(default_factory=list)
    axes_promoted: list[AxisChange] = Field(default_factory=list)
    axes_retired: list[AxisChange] = Field(default_factory=list)
    axes_activated: list[AxisChange] = Field(default_factory=list)
    dead_ends_added: list[DeadEnd] = Field(default_factory=list)
    dead_ends_removed: list[DeadEnd] = Field(default_factory=list)  # never allowed; shown if present
    promotions_added: list[Promotion] = Field(default_factory=list)
    rules_added: list[str] = Field(default_factory=list)
    threshold: tuple[float, float] | None = None
    objective: tuple[str, str] | None = None
    search_mode: tuple[str, str] | None = None

    @property
    def empty(self) -> bool:
        return self == PolicyDiff(round_a=self.round_a, round_b=self.round_b)


def diff_policies(a: Policy, b: Policy) -> PolicyDiff:
    out = PolicyDiff(round_a=a.round, round_b=b.round, recipe_changes=diff_values(a.standing_recipe, b.standing_recipe))
    old_axes = {x.name: x for x in a.axes}
    for x in b.axes:
        before = old_axes.get(x.name)
        change = AxisChange(name=x.name, category=x.category, old=before.status if before else None, new=x.status)
        if before is None:
            out.axes_added.append(change)
        elif before.status != x.status:
            bucket = {"promoted": out.axes_promoted, "retired": out.axes_retired, "active": out.axes_activated}
            bucket.get(x.status, out.axes_retired).append(change)
    out.dead_ends_added = [d for d in b.dead_ends if d not in a.dead_ends]
    out.dead_ends_removed = [d for d in a.dead_ends if d not in b.dead_ends]
    out.promotions_added = [p for p in b.promotions if p not in a.promotions]
    out.rules_added = [r for r in b.rules if r not in a.rules]
    if a.noise.threshold != b.noise.threshold:
        out.threshold = (a.noise.threshold, b.noise.threshold)
    if a.objective != b.objective:
        out.objective = (a.objective, b.objective)
    if a.search_mode != b.search_mode:
        out.search_mode = (a.search_mode, b.search_mode)
    return out


def render_diff(d: PolicyDiff) -> str:
    lines = [f"policy round {d.round_a} -> round {d.round_b}"]
    if d.search_mode:
        lines.append(f"search mode: {d.search_mode[0]} -> {d.search_mode[1]}")
    if d.objective:
        lines.append(f"objective: {d.objective[0]} -> {d.objective[1]}")
    if d.threshold:
        lines.append(f"promotion threshold: {d.threshold[0]:.4f} -> {d.threshold[1]:.4f}")
    for c in d.recipe_changes:
        lines.append(f"recipe {c.key}: {c.old!r} -> {c.new!r}")
    for title, items in (("axis added", d.axes_added), ("axis promoted", d.axes_promoted),
                         ("axis retired", d.axes_retired), ("axis activated", d.axes_activated)):
        lines += [f"{title}: {x.name} [{x.category}] ({x.old or '-'} -> {x.new})" for x in items]
    for p in d.promotions_added:
        lines.append(f"promotion (round {p.round}): {p.key} {p.old!r} -> {p.new!r}, LB gain {p.leaderboard_gain:+.4f}")
    for e in d.dead_ends_added:
        lines.append(f"dead-end added (round {e.round}): {e.what} — {e.why}; evidence: {e.evidence}")
    for e in d.dead_ends_removed:
        lines.append(f"DEAD-END REMOVED (constitution violation): {e.what} (round {e.round})")
    lines += [f"rule added: {r}" for r in d.rules_added]
    if d.empty:
        lines.append("no semantic difference")
    return "\n".join(lines)
