"""The meta agent's LLM answer: an edit of the fields it may change; code assembles the full Policy.

The model never writes campaign, round, history, plateau bookkeeping, noise replicates or earlier
entries of the append-only registries: `assemble` takes them from the old policy and `derive`, so a
slip in code-owned fields is impossible and the constitution checks judge only the model's choices.
"""

from __future__ import annotations

from pydantic import Field

from evotrain.schemas.common import Artifact, RecipeValue, get_path, set_path
from evotrain.schemas.constitution import ConstitutionRules
from evotrain.schemas.policy import AxisStatus, DeadEnd, Objective, Policy, Promotion
from evotrain.schemas.report import RoundReport
from orchestrator.meta.derive import derive, on_recipe


class EditError(ValueError):
    """The edit names something that does not exist (an unknown axis): sent back to the model."""


class NewPromotion(Artifact):
    key: str = Field(description="dotted recipe key of a change a submitted candidate made")
    new: RecipeValue = Field(description="the value that candidate used")
    leaderboard_gain: float = Field(description="that candidate's leaderboard gain over the anchor, from the report")
    evidence: str


class AxisStatusChange(Artifact):
    name: str = Field(description="an existing axis name")
    status: AxisStatus


class NewDeadEnd(Artifact):
    what: str
    key: str
    direction: str = Field(pattern="^(increase|decrease|set)$")
    value: RecipeValue = None
    why: str
    evidence: str


class PolicyEdit(Artifact):
    """What the meta agent may change for the next round; everything else is carried over by code."""

    promotions: list[NewPromotion] = Field(default_factory=list, description="changes promoted into the recipe")
    axis_status: list[AxisStatusChange] = Field(default_factory=list, description="axes whose status changes")
    dead_ends_added: list[NewDeadEnd] = Field(default_factory=list, description="new 'Don't waste budget on' entries")
    rules: list[str] | None = Field(default=None, description="the full list of empirical rules; null keeps them")
    noise_threshold: float | None = Field(default=None, ge=0, le=1, description="null: the computed noise band")
    objective: Objective | None = Field(default=None, description="null keeps the current objective")
    search_mode: str | None = Field(default=None, description="a constitution search-mode label; null keeps it")
    rationale: str = Field(min_length=1, description="what the loop learned this round (one or two sentences)")


def assemble(old: Policy, edit: PolicyEdit, report: RoundReport, rules: ConstitutionRules) -> Policy:
    """The full next Policy: the edit applied to `old`, code-owned fields derived from the report."""
    d = derive(old, report, rules, learned=edit.rationale)
    nxt = old.round + 1
    recipe = dict(old.standing_recipe)
    promotions = list(old.promotions)
    for p in edit.promotions:
        promotions.append(Promotion(round=report.round, key=p.key, old=get_path(recipe, p.key), new=p.new,
                                    leaderboard_gain=p.leaderboard_gain, evidence=p.evidence))
        recipe = set_path(recipe, p.key, p.new)
    axes = [a.model_copy() for a in old.axes]
    by_name = {a.name: a for a in axes}
    for change in edit.axis_status:
        axis = by_name.get(change.name)
        if axis is None:
            raise EditError(f"axis_status: no axis named '{change.name}' (axes: {', '.join(sorted(by_name))})")
        if change.status == "active" and axis.status != "active":
            axis.since_round = nxt
        axis.status = change.status
    dead_ends = [*old.dead_ends, *(DeadEnd(round=report.round, **e.model_dump()) for e in edit.dead_ends_added)]
    noise = d.noise if edit.noise_threshold is None else d.noise.model_copy(update={"threshold": edit.noise_threshold})
    return Policy(
        schema_version=old.schema_version, campaign=old.campaign, round=nxt,
        search_mode=edit.search_mode or old.search_mode, objective=edit.objective or old.objective,
        standing_recipe=recipe, axes=axes, dead_ends=dead_ends, noise=noise, promotions=promotions, leads=d.leads,
        flat_moves=on_recipe(d.flat_moves, recipe),
        rules=list(old.rules) if edit.rules is None else list(edit.rules), rationale=edit.rationale,
        history=d.history, plateau_count=0 if d.rotation_due else d.plateau_count,
    )


def edit_from(old: Policy, new: Policy) -> PolicyEdit:
    """The edit that turns `old` into `new` (the scripted draft shown to the model as a suggestion)."""
    old_status = {a.name: a.status for a in old.axes}
    return PolicyEdit(
        promotions=[NewPromotion(key=p.key, new=p.new, leaderboard_gain=p.leaderboard_gain, evidence=p.evidence)
                    for p in new.promotions[len(old.promotions):]],
        axis_status=[AxisStatusChange(name=a.name, status=a.status) for a in new.axes
                     if old_status.get(a.name) != a.status],
        dead_ends_added=[NewDeadEnd(what=e.what, key=e.key, direction=e.direction, value=e.value, why=e.why,
                                    evidence=e.evidence) for e in new.dead_ends[len(old.dead_ends):]],
        rules=list(new.rules), noise_threshold=new.noise.threshold, objective=new.objective,
        search_mode=new.search_mode, rationale=new.rationale or "no change",
    )
