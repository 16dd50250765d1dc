"""The rolling search policy: the only artifact that carries memory across rounds."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from evotrain.schemas.common import Artifact, RecipeValue, RecipeValues, Scalar

# dormant: in the axis library but not yet searched (activated when its category rotates in)
AxisStatus = Literal["active", "promoted", "retired", "dormant"]
Objective = Literal["raise_dev", "proxy_aware"]


class AxisRange(Artifact):
    """Where along one recipe key an axis may move.

    kind=choice: pick from `choices`; log/linear: a float in [low, high]; int: an integer in [low, high].
    """

    kind: Literal["choice", "log", "linear", "int"]
    choices: list[Scalar] | None = None
    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _check(self) -> AxisRange:
        if self.kind == "choice":
            if not self.choices:
                raise ValueError("choice range needs non-empty 'choices'")
        elif self.low is None or self.high is None or self.low > self.high:
            raise ValueError(f"{self.kind} range needs low <= high")
        if self.kind == "log" and self.low is not None and self.low <= 0:
            raise ValueError("log range needs low > 0")
        return self


class Axis(Artifact):
    """One direction of search, e.g. `learning_rate` in category `optimizer`."""

    name: str
    category: str
    description: str = ""
    key: str  # dotted recipe key the axis moves
    range: AxisRange
    status: AxisStatus = "active"
    since_round: int = 0


class DeadEnd(Artifact):
    """An entry of "Don't waste budget on": append-only, tagged with the round that found it."""

    what: str
    key: str
    direction: Literal["increase", "decrease", "set"]
    value: RecipeValue = None  # for direction=set: the value not to try again
    why: str
    evidence: str
    round: int


class Replicate(Artifact):
    """One run of a recipe (by hash) that another run of the same recipe, with another seed, replicates.

    anchor: the baseline anchor re-running the standing recipe in `round`. promoted: the candidate of
    `round` whose recipe the meta agent promoted; the next round's anchor runs that recipe again.
    """

    round: int
    recipe_sha256: str
    dev: float | None = None
    leaderboard: float | None = None
    source: Literal["anchor", "promoted"] = "anchor"
    worker_id: str | None = None


class NoiseRule(Artifact):
    """The promotion threshold and how it was computed (revisable each round)."""

    statistic: str = "2 x sd of baseline-anchor leaderboard replicates (floor 0.01)"
    threshold: float = Field(ge=0.0, le=1.0, default=0.03)
    n_samples: int = 0
    samples: list[float] = Field(default_factory=list)
    dev_threshold: float = Field(ge=0.0, le=1.0, default=0.03)  # same statistic on dev replicates
    replicates: list[Replicate] = Field(default_factory=list)  # every anchor so far, append-only


class RoundPoint(Artifact):
    """One row of the trajectory (paper Table 2), appended by the meta agent's code each round."""

    round: int
    search_mode: str
    objective: str
    best_dev: float | None = None
    best_leaderboard: float | None = None
    baseline_dev: float | None = None
    baseline_leaderboard: float | None = None
    leaderboard_improvement: float | None = None  # best LB minus best LB of all earlier rounds
    plateau: bool = False
    dev_only_rise: bool = False  # dev gain beyond the band while the leaderboard gain is not
    categories: list[str] = Field(default_factory=list)  # active axis categories that round
    learned: str = ""  # the policy rationale written after this round


class Promotion(Artifact):
    round: int
    key: str
    old: RecipeValue = None
    new: RecipeValue = None
    leaderboard_gain: float
    evidence: str


class Lead(Artifact):
    """A change that beat its round's anchor beyond the decision band (an eligible promotion).

    Code lists every one of the last round's; the meta agent promotes the best. The planner gives each
    one not promoted (another change won) an explorer in the next round, which re-tests exactly that
    change on top of the new standing recipe: compatible gains stack one measured step at a time and
    every standing recipe is still one that the next anchor replicates.
    """

    round: int
    key: str
    old: RecipeValue = None
    new: RecipeValue = None
    leaderboard_gain: float
    worker_id: str


class FlatMove(Artifact):
    """A one-key change an explorer measured on the current standing recipe that showed no signal:
    dev gain within the dev band and leaderboard gain (if submitted) within the noise band, or a
    failed run.

    Code-derived and kept only while the standing recipe it was measured on stands (a promotion
    changes the context, so the list empties). Workers on that key try another value first: a
    memory-free worker would otherwise re-run the same move every round the recipe does not change
    (issue #13's bench: learning rate 0.005 -> 0.01 four rounds in a row)."""

    round: int
    key: str
    new: RecipeValue = None
    worker_id: str
    recipe_sha256: str  # the standing recipe it was measured on
    dev_gain: float | None = None
    leaderboard_gain: float | None = None


class Policy(Artifact):
    """Rolling search policy for `round` (the round it governs)."""

    schema_version: int = 1
    campaign: str
    round: int = Field(ge=1)
    search_mode: str = "Recipe stabilisation"
    objective: Objective = "raise_dev"
    standing_recipe: RecipeValues
    axes: list[Axis]
    dead_ends: list[DeadEnd] = Field(default_factory=list, title="Don't waste budget on")
    noise: NoiseRule = Field(default_factory=NoiseRule)
    promotions: list[Promotion] = Field(default_factory=list)
    leads: list[Lead] = Field(default_factory=list)  # code-derived: last round's eligible changes, best first
    flat_moves: list[FlatMove] = Field(default_factory=list)  # code-derived: no-signal moves on this recipe
    rules: list[str] = Field(default_factory=list)  # empirical rules learned from data
    rationale: str = ""  # what the loop learned from the previous round (trajectory table)
    # code-derived memory (the meta agent may not edit it): trajectory and plateau bookkeeping
    history: list[RoundPoint] = Field(default_factory=list)
    plateau_count: int = Field(default=0, ge=0)  # consecutive plateau rounds of the active category

    def active_axes(self) -> list[Axis]:
        return [a for a in self.axes if a.status == "active"]
