"""Run one noop job: validate the recipe, sleep (train.py), write adapters + results.json.

    python run.py --recipe recipe.yaml --out OUT [--seed N] [--smoke]

Bad recipe: one line on stderr, exit 2, nothing written.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from noop_task.job import parse_args, prepare, run  # noqa: E402
from noop_task.recipe import RecipeError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, __doc__)
    try:
        recipe = prepare(args)
    except RecipeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from train import train  # imported late: it is editable and may be broken; a bad recipe is reported first

    results = run(args, recipe, train)
    best = max(results.checkpoints, key=lambda c: c.overall)
    print(f"[done] {args.out / 'results.json'} best step {best.step} dev overall={best.overall:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
