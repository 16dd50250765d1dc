"""Load, hash-check and enforce the constitution.

`record` hashes constitution.md and rules.yaml when a campaign starts; `verify` recomputes the
hashes before every meta step and raises naming the changed file. `enforce` checks one proposed
policy update against the machine-checked rules and returns every violation found.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.schemas.common import diff_values, is_frozen_key
from evotrain.schemas.constitution import ConstitutionRecord, ConstitutionRules
from evotrain.schemas.policy import Policy
from evotrain.schemas.report import RoundReport
from orchestrator.meta.derive import clearing_band, derive, on_an_axis, on_recipe, rotation_survivors

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "constitution"
CONSTITUTION_MD = "constitution.md"
RULES_YAML = "rules.yaml"


@dataclass(frozen=True)
class Constitution:
    directory: Path
    text: str  # verbatim system prompt of the meta agent
    rules: ConstitutionRules


def _sha256(path: Path) -> str:
    if not path.is_file():
        raise EvotrainError(f"{path}: file not found")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(directory: Path | str = DEFAULT_DIR) -> Constitution:
    directory = Path(directory)
    md = directory / CONSTITUTION_MD
    if not md.is_file():
        raise EvotrainError(f"{md}: file not found")
    text = md.read_text(encoding="utf-8")
    if not text.strip():
        raise EvotrainError(f"{md}: constitution is empty")
    return Constitution(directory=directory, text=text, rules=read_model(directory / RULES_YAML, ConstitutionRules))


def record(directory: Path | str = DEFAULT_DIR) -> ConstitutionRecord:
    """Hashes to store in the campaign config when the campaign starts."""
    directory = Path(directory).resolve()
    return ConstitutionRecord(
        directory=str(directory),
        constitution_md_sha256=_sha256(directory / CONSTITUTION_MD),
        rules_yaml_sha256=_sha256(directory / RULES_YAML),
    )


def verify(rec: ConstitutionRecord) -> None:
    """Raise EvotrainError naming the file if the constitution changed since the campaign started."""
    directory = Path(rec.directory)
    for name, expected in ((CONSTITUTION_MD, rec.constitution_md_sha256), (RULES_YAML, rec.rules_yaml_sha256)):
        path = directory / name
        if _sha256(path) != expected:
            raise EvotrainError(f"{path}: constitution changed since the campaign started; campaign stopped")


def check_write_path(path: Path | str, root: Path | str, rules: ConstitutionRules) -> None:
    """The meta agent writes only under an editable path and never under a frozen one."""
    try:
        rel = Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError as exc:
        raise EvotrainError(f"{path}: outside the workspace root {root}") from exc
    if any(rel == p.rstrip("/") or rel.startswith(p.rstrip("/") + "/") for p in rules.frozen_paths):
        raise EvotrainError(f"{path}: frozen by the constitution")
    if not any(rel.startswith(p.rstrip("/") + "/") for p in rules.editable_paths):
        raise EvotrainError(f"{path}: not an editable path of the constitution")


def check_round_shape(n_workers: int, n_anchors: int, rules: ConstitutionRules) -> None:
    """A round must run a worker count within the constitution's bounds, exactly one of them the anchor."""
    if not rules.min_workers_per_round <= n_workers <= rules.max_workers_per_round:
        raise EvotrainError(f"workers_per_round: {n_workers} workers, the constitution allows "
                            f"{rules.min_workers_per_round}..{rules.max_workers_per_round}")
    if n_anchors != rules.baseline_anchors_per_round:
        raise EvotrainError(f"baseline anchors: {n_anchors}, the constitution requires "
                            f"{rules.baseline_anchors_per_round}")


def _frozen_key(key: str, rules: ConstitutionRules) -> bool:
    return is_frozen_key(key, rules.frozen_recipe_keys)


def enforce(old: Policy, new: Policy, report: RoundReport, rules: ConstitutionRules) -> list[str]:
    """Every way `new` breaks the constitution, as one-line messages (empty list = accepted)."""
    v: list[str] = []
    if report.round != old.round:
        return [f"report is for round {report.round} but the policy governs round {old.round}"]
    if new.round != old.round + 1:
        v.append(f"frozen field 'round': must be {old.round + 1}, got {new.round}")
    for field in rules.frozen_policy_fields:
        if getattr(old, field, None) != getattr(new, field, None):
            v.append(f"frozen field '{field}' changed")
    v += _check_derived(old, new, report, rules)
    v += _check_dead_ends(old, new, report)
    v += _check_recipe_and_promotions(old, new, report, rules)
    v += _check_axes(old, new, rules)
    v += _check_objective(old, new, report, rules)
    v += _check_rotation(old, new, report, rules)
    return v


def _check_derived(old: Policy, new: Policy, report: RoundReport, rules: ConstitutionRules) -> list[str]:
    d = derive(old, report, rules, learned=new.rationale)
    v: list[str] = []
    if new.history != d.history:
        v.append("frozen field 'history' differs from the code-derived trajectory")
    if new.noise.replicates != d.noise.replicates or new.noise.samples != d.noise.samples:
        v.append("frozen field 'noise.replicates' differs from the anchor replicates")
    if new.noise.threshold < d.noise.threshold - 1e-12:
        v.append(f"noise.threshold {new.noise.threshold:.4f} below the computed band {d.noise.threshold:.4f}")
    if new.noise.dev_threshold < d.noise.dev_threshold - 1e-12:
        v.append(f"noise.dev_threshold {new.noise.dev_threshold:.4f} below the computed {d.noise.dev_threshold:.4f}")
    if new.leads != d.leads:
        v.append("frozen field 'leads' differs from the round's eligible changes")
    if new.flat_moves != on_recipe(d.flat_moves, new.standing_recipe):
        v.append("frozen field 'flat_moves' differs from the round's no-signal moves")
    expected = 0 if d.rotation_due else d.plateau_count
    if new.plateau_count != expected:
        v.append(f"frozen field 'plateau_count': must be {expected}, got {new.plateau_count}")
    if new.search_mode not in rules.search_modes.model_dump().values():
        v.append(f"search_mode '{new.search_mode}' is not a constitution label")
    return v


def _check_dead_ends(old: Policy, new: Policy, report: RoundReport) -> list[str]:
    v: list[str] = []
    for i, entry in enumerate(old.dead_ends):
        if i >= len(new.dead_ends) or new.dead_ends[i] != entry:
            state = "removed" if entry not in new.dead_ends else "moved"
            if entry not in new.dead_ends and any(d.what == entry.what for d in new.dead_ends):
                state = "edited"
            v.append(f"dead-end '{entry.what}' (round {entry.round}) {state}: the registry only grows")
    for entry in new.dead_ends[len(old.dead_ends):]:
        if entry.round != report.round:
            v.append(f"new dead-end '{entry.what}' must carry round {report.round}, got {entry.round}")
    return v


def _check_recipe_and_promotions(
    old: Policy, new: Policy, report: RoundReport, rules: ConstitutionRules
) -> list[str]:
    v: list[str] = []
    if new.promotions[: len(old.promotions)] != old.promotions:
        v.append("earlier promotions removed or edited")
    added = new.promotions[len(old.promotions):]
    cal = report.calibration
    base_lb = cal.baseline_leaderboard
    for p in added:
        backing = [c for c in report.candidates if not c.is_baseline and c.leaderboard is not None
                   and any(k.key == p.key and k.new == p.new for k in c.changes)]
        # (gain, the band that candidate must clear): a lead's re-test clears the one-comparison band
        gains = [(c.leaderboard - base_lb, clearing_band(c, cal),  # type: ignore[operator]
                  "noise band (a lead's re-test)" if c.lead_retest else "decision band")
                 for c in backing if base_lb is not None]
        if p.round != report.round:
            v.append(f"promotion of '{p.key}' must carry round {report.round}")
        if not on_an_axis(old.axes, p.key, p.new):
            v.append(f"promotion of '{p.key}'={p.new!r}: no axis proposes that value (outside every range)")
        if not gains:
            v.append(f"promotion of '{p.key}'={p.new!r} has no submitted candidate with that change")
        elif all(g <= band for g, band, _ in gains):
            g, band, name = max(gains)
            v.append(f"promotion of '{p.key}' without leaderboard gain above the {name} ({g:+.4f} <= {band:.4f})")
        elif all(abs(g - p.leaderboard_gain) > 1e-9 for g, _, _ in gains):
            v.append(f"promotion of '{p.key}' states gain {p.leaderboard_gain:+.4f}, "
                     f"leaderboard says {max(gains)[0]:+.4f}")
    promoted = {(p.key, repr(p.new)) for p in added}
    for change in diff_values(old.standing_recipe, new.standing_recipe):
        if _frozen_key(change.key, rules):
            v.append(f"frozen recipe key '{change.key}' changed")
        elif (change.key, repr(change.new)) not in promoted:
            v.append(f"standing recipe key '{change.key}' changed without a promotion")
    return v


def _check_axes(old: Policy, new: Policy, rules: ConstitutionRules) -> list[str]:
    v: list[str] = []
    new_by_name = {a.name: a for a in new.axes}
    for a in old.axes:
        b = new_by_name.get(a.name)
        if b is None:
            v.append(f"axis '{a.name}' removed (retire it instead)")
        elif (a.key, a.category, a.range) != (b.key, b.category, b.range):
            v.append(f"axis '{a.name}' definition (key/category/range) changed")
    for b in new.axes:
        if _frozen_key(b.key, rules):
            v.append(f"axis '{b.name}' moves frozen recipe key '{b.key}'")
    return v


def _check_objective(old: Policy, new: Policy, report: RoundReport, rules: ConstitutionRules) -> list[str]:
    v: list[str] = []
    cal = report.calibration
    if old.objective == "proxy_aware" and new.objective != "proxy_aware":
        v.append("objective switched back from proxy_aware")
    if cal.drift_flag and new.objective != "proxy_aware":
        v.append("proxy drift flagged but objective not switched to proxy_aware")
    if old.objective == "raise_dev" and new.objective == "proxy_aware" and not cal.drift_flag:
        v.append("objective switched to proxy_aware without a drift flag in the report")
    if cal.drift_flag and cal.drift_axis:
        axis = next((a for a in old.axes if a.name == cal.drift_axis), None)
        added = new.dead_ends[len(old.dead_ends):]
        hit = [d for d in added if (axis is not None and d.key == axis.key) or cal.drift_axis in d.what]
        already = axis is not None and any(d.key == axis.key for d in old.dead_ends)
        if not hit and not already:
            v.append(f"drift axis '{cal.drift_axis}' missing from the dead-end registry")
    return v


def _check_rotation(old: Policy, new: Policy, report: RoundReport, rules: ConstitutionRules) -> list[str]:
    d = derive(old, report, rules, learned=new.rationale)
    if not d.rotation_due or not d.rotation_possible:
        return []
    plateaued = {a.category for a in old.axes if a.status == "active"}
    kept = rotation_survivors(old, d.leads)  # an axis with an open lead may stay for its re-test
    still = [a.name for a in new.axes if a.status == "active" and a.category in plateaued and a.name not in kept]
    fresh = [a.name for a in new.axes if a.status == "active" and a.category not in plateaued]
    v: list[str] = []
    if still:
        v.append(f"rotation due after {rules.plateau_rounds} plateau rounds but {still} still active")
    if not fresh:
        v.append(f"rotation due after {rules.plateau_rounds} plateau rounds but no other category activated")
    return v
