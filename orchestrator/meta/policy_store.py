"""Policy versions: one immutable JSON file per round under policies/<campaign>/, Markdown beside it.

The initial policy comes from the substrate's recipe.yaml (the standing recipe) and axes.yaml (a
YAML list of Axis): the first category's axes start active, the others dormant until rotation.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from pydantic import TypeAdapter, ValidationError

from evotrain.errors import EvotrainError, first_validation_error
from evotrain.io import atomic_write_text, read_model
from evotrain.schemas.common import RecipeValues
from evotrain.schemas.constitution import ConstitutionRules
from evotrain.schemas.policy import Axis, NoiseRule, Policy

_ROUND_FILE = re.compile(r"^round-(\d{3,})\.json$")


def _load_yaml(path: Path) -> object:
    if not path.is_file():
        raise EvotrainError(f"{path}: file not found")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise EvotrainError(f"{path}: cannot parse: {str(exc).splitlines()[0]}") from exc


def load_axes(path: Path | str) -> list[Axis]:
    path = Path(path)
    data = _load_yaml(path)
    if not isinstance(data, list) or not data:
        raise EvotrainError(f"{path}: must be a non-empty YAML list of axes")
    try:
        axes = TypeAdapter(list[Axis]).validate_python(data)
    except ValidationError as exc:
        raise EvotrainError(first_validation_error(exc, str(path))) from exc
    names = [a.name for a in axes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise EvotrainError(f"{path}: duplicate axis name(s) {dupes}")
    return axes


def load_recipe(path: Path | str) -> RecipeValues:
    path = Path(path)
    data = _load_yaml(path)
    if not isinstance(data, dict):
        raise EvotrainError(f"{path}: must be a YAML mapping of recipe keys")
    try:
        return TypeAdapter(RecipeValues).validate_python(data)
    except ValidationError as exc:
        raise EvotrainError(first_validation_error(exc, str(path))) from exc


def initial_policy(campaign: str, recipe_path: Path | str, axes_path: Path | str,
                   rules: ConstitutionRules, overrides: RecipeValues | None = None, min_active: int = 1) -> Policy:
    """Round 1's policy; `overrides` (campaign config) are applied on top of recipe.yaml, in memory.

    Categories are activated in axes.yaml order until at least `min_active` axes are active (one per
    exploring worker, so round 1 does not spend two workers on one axis); the rest start dormant and
    rotate in when the leaderboard plateaus."""
    recipe = {**load_recipe(recipe_path), **(overrides or {})}
    axes = load_axes(axes_path)
    for a in axes:
        if a.key.split(".")[0] not in recipe:
            raise EvotrainError(f"{axes_path}: axis '{a.name}' moves key '{a.key}' absent from {recipe_path}")
    active: set[str] = set()
    for a in axes:
        if a.category not in active and sum(b.category in active for b in axes) >= max(1, min_active):
            break
        active.add(a.category)
    for a in axes:
        a.status, a.since_round = ("active", 1) if a.category in active else ("dormant", 0)
    return Policy(
        campaign=campaign, round=1, search_mode=rules.search_modes.stabilisation, objective="raise_dev",
        standing_recipe=recipe, axes=axes,
        noise=NoiseRule(statistic=f"prior {rules.noise.prior:g} (no anchor replicate yet)",
                        threshold=max(rules.noise.prior, rules.noise.floor),
                        dev_threshold=max(rules.noise.prior, rules.noise.floor)),
        rationale="Fixed human-authored substrate; every round forks from it.",
    )


def policy_file(directory: Path | str, round_no: int) -> Path:
    return Path(directory) / f"round-{round_no:03d}.json"


def save(directory: Path | str, policy: Policy) -> Path:
    """Write round-NNN.json (+ .md) once; re-saving identical content is a no-op, different is refused."""
    path = policy_file(directory, policy.round)
    text = policy.model_dump_json(indent=2) + "\n"
    if path.exists():
        if path.read_text(encoding="utf-8") == text:
            return path
        raise EvotrainError(f"{path}: policy for round {policy.round} already exists with different content")
    from orchestrator.collect.render import render_policy  # jinja2: only when writing, not for readers

    atomic_write_text(path.with_suffix(".md"), render_policy(policy))
    atomic_write_text(path, text)  # the JSON last: its presence marks the version as complete
    return path


def load(path: Path | str) -> Policy:
    return read_model(path, Policy)


def list_rounds(directory: Path | str) -> list[int]:
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(int(m.group(1)) for p in directory.iterdir() if (m := _ROUND_FILE.match(p.name)))


def latest(directory: Path | str) -> Policy:
    rounds = list_rounds(directory)
    if not rounds:
        raise EvotrainError(f"{directory}: no policy versions")
    return load(policy_file(directory, rounds[-1]))


def record_rejection(directory: Path | str, round_no: int, proposal: object, reasons: list[str]) -> Path:
    """policies/<campaign>/rejected/round-NNN-<k>.json: the proposal as received + why it was refused."""
    folder = Path(directory) / "rejected"
    k = 1
    while (folder / f"round-{round_no:03d}-{k}.json").exists():
        k += 1
    body = {"round": round_no, "reasons": reasons, "proposal": proposal}
    return atomic_write_text(folder / f"round-{round_no:03d}-{k}.json", json.dumps(body, indent=2) + "\n")
