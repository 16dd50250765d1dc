"""Validate a recipe without training: exit 0, or exit 2 with one line naming the key or path.

    python validate.py --recipe recipe.yaml
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from nemotron_task.recipe import RecipeError, check_paths, load_recipe  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--recipe", type=Path, default=HERE / "recipe.yaml")
    args = ap.parse_args(argv)
    try:
        recipe = load_recipe(args.recipe)
        check_paths(recipe, HERE, data=False)  # the data is an input evotrain checks and binds
    except RecipeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"ok: {args.recipe}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
