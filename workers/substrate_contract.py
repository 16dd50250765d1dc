"""The worker's view of a substrate: its `substrate.yaml`, its recipe file, its path globs.

A substrate is a program driven by commands with placeholders ({python} {recipe} {out} {seed}
...). Rendering is strict: an unknown placeholder is a one-line error, never a silently broken job.
"""

from __future__ import annotations

import re
import string
import sys
from functools import lru_cache
from pathlib import Path

import yaml

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.schemas.common import RecipeValues
from evotrain.schemas.substrate import SubstrateSpec

SPEC_FILE = "substrate.yaml"


class _RecipeLoader(yaml.SafeLoader):
    """SafeLoader that also reads YAML 1.2 floats without a dot (`3e-3`), as pydantic would."""


_RecipeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_spec(substrate_dir: Path | str) -> SubstrateSpec:
    """Read `<dir>/substrate.yaml` as a SubstrateSpec (one-line error naming the field)."""
    return read_model(Path(substrate_dir) / SPEC_FILE, SubstrateSpec)


# Placeholders a caller may leave unset: an argument naming one is then left out of the command
# (`--train-data={train_data}` vanishes for a campaign, which trains on the recipe's own data).
OPTIONAL_PLACEHOLDERS = frozenset({"train_data", "dev_items"})  # dev_items: the judge's, the frozen value


def render_command(template: list[str], **values: str | int | float | None) -> list[str]:
    """Fill {placeholders} in each argument; {python} defaults to this interpreter. An argument that
    names an unset optional placeholder ({train_data}) is dropped; any other unknown one is an error."""
    filled: dict[str, str] = {"python": sys.executable}
    filled.update({k: str(v) for k, v in values.items() if v is not None})
    out: list[str] = []
    for arg in template:
        names = [name for _, name, _, _ in string.Formatter().parse(arg) if name is not None]
        missing = [n for n in names if n not in filled]
        if missing and set(missing) <= OPTIONAL_PLACEHOLDERS:
            continue
        if missing:
            raise EvotrainError(f"substrate.yaml: command argument {arg!r}: unknown placeholder {{{missing[0]}}}")
        out.append(arg.format(**filled))
    return out


def parse_recipe_text(text: str, source: str) -> RecipeValues:
    """Parse recipe YAML into a flat key->value mapping (top level must be a mapping)."""
    try:
        data = yaml.load(text, Loader=_RecipeLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        raise EvotrainError(f"{source}: cannot parse: {first}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise EvotrainError(f"{source}: recipe must be a mapping of keys to values")
    return {str(k): v for k, v in data.items()}


def load_recipe(path: Path) -> RecipeValues:
    if not path.is_file():
        raise EvotrainError(f"{path}: recipe file not found")
    return parse_recipe_text(path.read_text(encoding="utf-8"), str(path))


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Translate a path glob to a regex: `**` spans directories, `*`/`?` stay inside one segment."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            parts.append(".*")
            i += 2
        elif pattern[i] == "*":
            parts.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            parts.append("[^/]")
            i += 1
        else:
            parts.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(parts) + r"\Z")


def matches_any(rel_path: str, patterns: list[str]) -> bool:
    """True if the POSIX relative path matches a glob, or lies under a directory a glob names."""
    for pattern in patterns:
        pattern = pattern.strip().removeprefix("./")
        if not pattern:
            continue
        regex = _glob_regex(pattern.rstrip("/"))
        if regex.match(rel_path):
            return True
        # "eval/" or "eval" also covers everything below it
        head = rel_path
        while "/" in head:
            head = head.rsplit("/", 1)[0]
            if regex.match(head):
                return True
    return False


def check_recipe_values(substrate_dir: Path, values: RecipeValues, source: str) -> None:
    """Run the substrate's validate command on `values` (written to a temp file outside the substrate):
    a recipe the substrate would refuse fails here, with its one-line message, before anything runs."""
    import subprocess
    import tempfile

    from evotrain.secrets import job_environment

    spec = load_spec(substrate_dir)
    with tempfile.TemporaryDirectory(prefix="evotrain-recipe-") as tmp:
        recipe = Path(tmp) / Path(spec.recipe_file).name
        recipe.write_text(yaml.safe_dump(values, sort_keys=False), encoding="utf-8")
        command = render_command(spec.validate_command, recipe=str(recipe), out=tmp, seed=0)
        env = job_environment({"OMP_NUM_THREADS": "1"}, home=tmp)  # frozen code, but still no secrets
        proc = subprocess.run(command, cwd=substrate_dir, env=env, capture_output=True, text=True, timeout=120,
                              check=False)
    if proc.returncode != 0:
        lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines() or [f"exit {proc.returncode}"]
        message = lines[-1].removeprefix("error: ").replace(str(recipe), spec.recipe_file)
        raise EvotrainError(f"{source}: the substrate refuses the recipe: {message}")
