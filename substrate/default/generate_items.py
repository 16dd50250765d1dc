"""Generate an items file (JSONL of puzzles): the substrate's generate command.

    python generate_items.py --n 400 --seed 5 --mix '{"gravity": 1}' --difficulty 1 --out items.jsonl

--mix is a JSON object family -> weight; --difficulty an int or a JSON object family -> int.
Bad arguments: one line naming the argument, exit 2, nothing written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from minitask.generate import generate_items, save_items  # noqa: E402
from minitask.puzzle import FAMILIES  # noqa: E402


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--mix", default=json.dumps(dict.fromkeys(FAMILIES, 1.0)))
    ap.add_argument("--difficulty", default="0")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.n < 1:
        return fail(f"--n: must be >= 1, got {args.n}")
    try:
        mix = json.loads(args.mix)
        difficulty = json.loads(args.difficulty)
    except json.JSONDecodeError as exc:
        return fail(f"--mix/--difficulty: not JSON: {exc}")
    if not isinstance(mix, dict) or not all(isinstance(v, int | float) for v in mix.values()):
        return fail("--mix: expected a JSON object family -> weight")
    for family in mix:
        if family not in FAMILIES:
            return fail(f"--mix: unknown family '{family}'")
    if not isinstance(difficulty, int | dict):
        return fail("--difficulty: expected an int or a JSON object family -> int")
    try:
        items = generate_items(args.n, mix, args.seed, difficulty)
    except ValueError as exc:
        return fail(f"--difficulty/--mix: {exc}")
    save_items(args.out, items)
    print(f"wrote {len(items)} items to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
