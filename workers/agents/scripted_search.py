"""The scripted agent's search strategy, as pure functions (documented in docs/WORKERS.md).

One move along the assigned axis from the standing value:
- log range: multiply/divide by 2 (then by sqrt 2 if both full steps are blocked);
- linear range: add/subtract 25% of the range width (then 12.5%);
- int range: double/halve when the range is positive (rounded, at least +-1), else +-25% of the width;
- choice range: the unused choices in listed order, starting at an offset set by the seed.
The first direction of a numeric axis uses what the brief knows (issue #13: the seed's parity sent
the learning rate the wrong way): the direction of the latest promotion of this key if there is one
(momentum: that way paid off), else towards the middle of the range (geometric for log ranges and
positive int ranges; an untuned value sits off-centre, and the researcher's range brackets the
useful values), increasing at the exact middle. The brief's `axis_visit` flips it: the second worker
on an axis in a round explores the other side. A direction is skipped when the dead-end registry
blocks it, when the step would leave the range (clipped to the same value) or when it lands on a
value the registry lists as `set`, the value a promotion moved this key away from, or a value an
earlier visit of this round proposes. No legal move → None.
A back-off after a crash/NaN goes halfway back to the standing value (geometric for log ranges).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace

from evotrain.schemas.common import RecipeValue, RecipeValues, Scalar, get_path
from evotrain.schemas.policy import Axis, DeadEnd, FlatMove, Lead, Promotion

FULL_STEP, HALF_STEP = 1.0, 0.5
LINEAR_FRACTION = 0.25


@dataclass(frozen=True)
class Proposal:
    key: str
    old: RecipeValue
    new: RecipeValue
    direction: str  # "increase" | "decrease" | "set"
    reason: str


def as_number(value: object) -> float | None:
    """Numbers, and numeric strings such as YAML's `1e-4` (which PyYAML reads as a string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def same_value(a: object, b: object) -> bool:
    x, y = as_number(a), as_number(b)
    if x is not None and y is not None:
        return math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-12)
    return a == b


def _concerns(dead: DeadEnd, axis: Axis) -> bool:
    return dead.key in (axis.key, axis.name)


def blocked_directions(axis: Axis, dead_ends: list[DeadEnd]) -> set[str]:
    return {d.direction for d in dead_ends if _concerns(d, axis) and d.direction != "set"}


def blocked_values(axis: Axis, dead_ends: list[DeadEnd]) -> list[RecipeValue]:
    return [d.value for d in dead_ends if _concerns(d, axis) and d.direction == "set"]


def _offset(seed: int, axis: Axis) -> int:
    """Seed + a stable (process-independent) hash of the axis name."""
    return seed + int(hashlib.sha256(axis.name.encode()).hexdigest()[:8], 16)


def _step(axis: Axis, current: float, sign: int, scale: float) -> float:
    r = axis.range
    low, high = float(r.low), float(r.high)  # type: ignore[arg-type]  # numeric ranges have bounds
    if r.kind == "log":
        value = current * 2.0 ** (sign * scale)
    elif r.kind == "linear":
        value = current + sign * scale * LINEAR_FRACTION * (high - low)
    elif low >= 1:  # positive int ranges (ranks, batch sizes) move geometrically
        value = float(round(current * 2.0 ** (sign * scale)))
        if value == current:
            value = current + sign
    else:
        value = current + sign * max(1, round(scale * LINEAR_FRACTION * (high - low)))
    value = min(max(value, low), high)
    return float(round(value)) if r.kind == "int" else value


def _typed(axis: Axis, value: float) -> RecipeValue:
    return round(value) if axis.range.kind == "int" else float(f"{value:.6g}")


def step_values(axis: Axis, current: float) -> list[RecipeValue]:
    """The distinct values a full or half step either way reaches from `current` (the candidates of
    `_propose` before dead ends and earlier visits are skipped): how many workers one numeric axis
    can take in a round without repeating a move."""
    out: list[RecipeValue] = []
    for scale in (FULL_STEP, HALF_STEP):
        for sign in (1, -1):
            new = _typed(axis, _step(axis, current, sign, scale))
            if not same_value(new, current) and not any(same_value(new, v) for v in out):
                out.append(new)
    return out


def _geometric(axis: Axis) -> bool:
    """Ranges whose steps are ratios: log, and positive int ranges (ranks, batch sizes)."""
    return axis.range.kind == "log" or (axis.range.kind == "int" and float(axis.range.low or 0) >= 1)


def _start_value(axis: Axis) -> float:
    low, high = float(axis.range.low), float(axis.range.high)  # type: ignore[arg-type]
    return math.sqrt(low * high) if axis.range.kind == "log" else (low + high) / 2


def first_direction(axis: Axis, current: float, promotions: list[Promotion]) -> tuple[int, str]:
    """+1/-1 and why: the latest promotion's direction on this key, else towards the range's middle."""
    for p in reversed(promotions):
        old, new = as_number(p.old), as_number(p.new)
        if p.key == axis.key and old is not None and new is not None and not same_value(old, new):
            sign = 1 if new > old else -1
            return sign, f"round {p.round} promoted {old:g} -> {new:g} ({p.leaderboard_gain:+.3f}); keep going"
    low, high = float(axis.range.low), float(axis.range.high)  # type: ignore[arg-type]
    middle = math.sqrt(low * high) if _geometric(axis) else (low + high) / 2
    sign = -1 if current > middle and not same_value(current, middle) else 1
    return sign, f"towards the range's middle {middle:.3g}"


def _list_item(part: str) -> Scalar:
    """An integer part is the integer: "50,100" is [50, 100], the standing save_steps, not a new
    value (issue #13, twelfth session: a worker trained ['50', '100'] as a change of [50, 100])."""
    try:
        return int(part)
    except ValueError:
        return part


def as_recipe_value(choice: Scalar, old: RecipeValue) -> RecipeValue:
    """A choice for a list-valued key may be written "q_proj,v_proj" or "50,100": that is the list."""
    if isinstance(old, list) and isinstance(choice, str):
        return [_list_item(part.strip()) for part in choice.split(",") if part.strip()]
    return choice


def _propose_choice(axis: Axis, old: RecipeValue, dead_ends: list[DeadEnd], seed: int,
                    avoid: list[RecipeValue] | None = None) -> Proposal | None:
    directions = blocked_directions(axis, dead_ends)
    banned = [as_recipe_value(b, old) if isinstance(b, str) else b for b in blocked_values(axis, dead_ends)]
    banned += avoid or []
    options: list[RecipeValue] = []
    for raw in axis.range.choices or []:
        choice = as_recipe_value(raw, old)
        if same_value(choice, old) or any(same_value(choice, b) for b in banned):
            continue
        x, y = as_number(choice), as_number(old)
        if x is not None and y is not None and (("increase" if x > y else "decrease") in directions):
            continue
        options.append(choice)
    if not options:
        return None
    new = options[_offset(seed, axis) % len(options)]
    return Proposal(axis.key, old, new, "set", f"try unused choice {new!r} (of {len(options)} unblocked)")


def _lead_move(axis: Axis, old: RecipeValue, dead_ends: list[DeadEnd], leads: list[Lead]) -> Proposal | None:
    """Re-test the best lead (a change that beat the anchor last round but was not promoted) on top of
    the standing recipe, unless the registry has since blocked it."""
    for lead in sorted(leads, key=lambda lead: -lead.leaderboard_gain):
        if lead.key != axis.key or same_value(lead.new, old):
            continue
        x, y = as_number(lead.new), as_number(old)
        direction = "set" if x is None or y is None else ("increase" if x > y else "decrease")
        if direction in blocked_directions(axis, dead_ends) or any(same_value(lead.new, b) for b in
                                                                   blocked_values(axis, dead_ends)):
            continue
        return Proposal(axis.key, old, lead.new, direction,
                        f"round {lead.round} {lead.worker_id}: {lead.new!r} beat the anchor by "
                        f"{lead.leaderboard_gain:+.3f} but another change was promoted; re-test it on top")
    return None


def propose_change(axis: Axis, standing: RecipeValues, dead_ends: list[DeadEnd], seed: int,
                   promotions: list[Promotion] | None = None, visit: int = 0,
                   leads: list[Lead] | None = None, flat: list[FlatMove] | None = None) -> Proposal | None:
    """The one recipe change a worker tests (leads: re-test first; seed: choice offset; promotions and
    visit: numeric direction; flat: values already measured flat on this recipe, tried only when no
    other legal move is left), or None if every legal move is blocked."""
    old = get_path(standing, axis.key)
    if leads and (move := _lead_move(axis, old, dead_ends, leads)) is not None:
        return move
    avoid = [m.new for m in flat or [] if m.key == axis.key]
    if avoid:
        fresh = _propose(axis, standing, dead_ends, seed, promotions, visit, avoid, flat)
        if fresh is not None:
            return replace(fresh, reason=f"{fresh.reason}; skipped {len(avoid)} value(s) already measured flat "
                                         "on this recipe")
    return _propose(axis, standing, dead_ends, seed, promotions, visit, [], flat)


def _propose(axis: Axis, standing: RecipeValues, dead_ends: list[DeadEnd], seed: int,
             promotions: list[Promotion] | None, visit: int, avoid: list[RecipeValue],
             flat: list[FlatMove] | None) -> Proposal | None:
    old = get_path(standing, axis.key)
    if axis.range.kind == "choice":  # not what the round's earlier visits of this axis propose
        earlier = [p.new for v in range(visit)
                   if (p := propose_change(axis, standing, dead_ends, seed - visit + v, promotions, v, flat=flat))]
        move = _propose_choice(axis, old, dead_ends, seed, [*avoid, *earlier])
        # no other choice left: repeat one under this worker's own seed (a replicate) rather than idle
        return move if move is not None or not earlier else _propose_choice(axis, old, dead_ends, seed, avoid)
    current = as_number(old)
    banned = blocked_values(axis, dead_ends)
    if current is None:  # key absent from the standing recipe: start mid-range
        new = _typed(axis, _start_value(axis))
        if any(same_value(new, b) for b in banned):
            return None
        return Proposal(axis.key, old, new, "set", "key not in standing recipe; start mid-range")
    # Not worth a run: the value this key was promoted away from (measured worse), and what the
    # round's earlier workers on this axis propose (their visits are known, so no duplicate runs)
    banned += [p.old for p in promotions or [] if p.key == axis.key] + avoid
    banned += [p.new for v in range(visit)
               if (p := propose_change(axis, standing, dead_ends, seed, promotions, v, flat=flat))]
    first, why = first_direction(axis, current, promotions or [])
    if visit % 2 == 1:
        first, why = -first, f"visit {visit}: the side visit 0 does not take ({why})"
    directions = blocked_directions(axis, dead_ends)
    for scale in (FULL_STEP, HALF_STEP):
        for sign in (first, -first):
            name = "increase" if sign > 0 else "decrease"
            if name in directions:
                continue
            value = _step(axis, current, sign, scale)
            new = _typed(axis, value)
            if same_value(new, current) or any(same_value(new, b) for b in banned):
                continue  # at the range edge, or a registered dead end
            size = "full" if scale == FULL_STEP else "half"
            reason = f"{size} {axis.range.kind} step ({name}) from {old!r}"
            return Proposal(axis.key, old, new, name, reason + (f"; {why}" if sign == first else ""))
    return None


def back_off(axis: Axis, proposal: Proposal, dead_ends: list[DeadEnd]) -> Proposal | None:
    """Halfway back to the standing value after a crash/NaN, or None if there is no middle ground."""
    old, new = as_number(proposal.old), as_number(proposal.new)
    if axis.range.kind == "choice" or old is None or new is None:
        return None
    geometric = axis.range.kind == "log" and old > 0 and new > 0
    middle = math.sqrt(old * new) if geometric else (old + new) / 2
    value = _typed(axis, middle)
    if axis.range.kind == "int" and (same_value(value, new) or same_value(value, old)):
        return None
    if same_value(value, old) or any(same_value(value, b) for b in blocked_values(axis, dead_ends)):
        return None
    return Proposal(axis.key, proposal.old, value, proposal.direction,
                    f"back-off halfway from {proposal.new!r} towards the standing {proposal.old!r}")
