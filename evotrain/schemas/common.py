"""Base class and shared value types for every artifact that crosses a boundary."""

from __future__ import annotations

from fnmatch import fnmatch
from typing import Any

from pydantic import BaseModel, ConfigDict

# A recipe value as it appears in recipe.yaml: scalars, lists of names (e.g. LoRA target
# modules, checkpoint steps) or a name->weight map (per-family mixture weights).
Scalar = str | int | float | bool
RecipeValue = Scalar | list[str] | list[int] | dict[str, float] | None
RecipeValues = dict[str, RecipeValue]


class Artifact(BaseModel):
    """Strict base: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        return cls.model_json_schema()


class KeyChange(Artifact):
    """One structured recipe change: `key` (dotted for nested, e.g. mixture_weights.equation)."""

    key: str
    old: RecipeValue = None
    new: RecipeValue = None


def get_path(values: RecipeValues, key: str) -> RecipeValue:
    """Read a dotted key from recipe values (`mixture_weights.equation`)."""
    head, _, rest = key.partition(".")
    value = values.get(head)
    if not rest:
        return value
    if isinstance(value, dict):
        return value.get(rest)
    return None


def set_path(values: RecipeValues, key: str, new: RecipeValue) -> RecipeValues:
    """Return a copy of `values` with dotted `key` set to `new`."""
    out: RecipeValues = {k: (dict(v) if isinstance(v, dict) else v) for k, v in values.items()}
    head, _, rest = key.partition(".")
    if not rest:
        out[head] = new
        return out
    inner = out.get(head)
    inner = dict(inner) if isinstance(inner, dict) else {}
    inner[rest] = float(new)  # type: ignore[arg-type]  # nested maps are name->weight
    out[head] = inner
    return out


def is_frozen_key(key: str, patterns: list[str]) -> bool:
    """True if a (dotted) recipe key is frozen by one of the constitution's glob patterns."""
    return any(fnmatch(key, pat) or fnmatch(key.split(".")[0], pat) for pat in patterns)


def frozen_key_changes(standing: RecipeValues, recipe: RecipeValues, patterns: list[str]) -> list[KeyChange]:
    """The changes of `recipe` against `standing` that touch a frozen key (empty: allowed)."""
    return [c for c in diff_values(standing, recipe) if is_frozen_key(c.key, patterns)]


def diff_values(old: RecipeValues, new: RecipeValues) -> list[KeyChange]:
    """Structured changes between two recipes, nested maps expanded to dotted keys."""
    changes: list[KeyChange] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) or isinstance(b, dict):
            a_map = a if isinstance(a, dict) else {}
            b_map = b if isinstance(b, dict) else {}
            for sub in sorted(set(a_map) | set(b_map)):
                if a_map.get(sub) != b_map.get(sub):
                    changes.append(KeyChange(key=f"{key}.{sub}", old=a_map.get(sub), new=b_map.get(sub)))
        elif a != b:
            changes.append(KeyChange(key=key, old=a, new=b))
    return changes
