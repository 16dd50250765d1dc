"""Write an items file (JSONL) from the held-out leaderboard split of train.csv: the substrate's
generate command, run by the leaderboard outside any sandbox.

    python generate_items.py --n 200 --seed 5 --mix '{"gravity": 1}' --difficulty 0 --out items.jsonl [--csv CSV]

Rows are real challenge rows, so --difficulty is accepted for the contract and ignored. The CSV is
--csv, else the one evotrain binds (EVOTRAIN_INPUT_TRAIN_CSV: the whole user-given file; the leaderboard
runs this outside every sandbox), else the tiny recipe's train_csv.
Bad arguments: one line naming the argument, exit 2, nothing written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from nemotron_task.data import DataError, read_rows  # noqa: E402
from nemotron_task.families import FAMILIES  # noqa: E402
from nemotron_task.items import item_of, save_items  # noqa: E402
from nemotron_task.recipe import RecipeError, load_recipe  # noqa: E402
from nemotron_task.splits import rows_of, sample_balanced  # noqa: E402


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def default_csv() -> Path:
    return load_recipe(HERE / "recipe.tiny.yaml").csv_path(HERE)  # EVOTRAIN_INPUT_TRAIN_CSV when set


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--mix", default=json.dumps(dict.fromkeys(FAMILIES, 1.0)))
    ap.add_argument("--difficulty", default="0")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--csv", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.n < 1:
        return fail(f"--n: must be >= 1, got {args.n}")
    try:
        mix = json.loads(args.mix)
        json.loads(args.difficulty)
    except json.JSONDecodeError as exc:
        return fail(f"--mix/--difficulty: not JSON: {exc}")
    if not isinstance(mix, dict) or not all(isinstance(v, int | float) and v >= 0 for v in mix.values()):
        return fail("--mix: expected a JSON object family -> non-negative weight")
    for family in mix:
        if family not in FAMILIES:
            return fail(f"--mix: unknown family '{family}'")
    try:
        rows = read_rows(args.csv or default_csv())
    except (DataError, RecipeError) as exc:
        return fail(f"--csv: {exc}")
    held_out = rows_of(rows, "leaderboard")
    items = [item_of(r) for r in sample_balanced(held_out, args.n, args.seed, mix)]
    if not items:
        return fail("--n/--mix: no rows selected")
    save_items(args.out, items)
    print(f"wrote {len(items)} items to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
