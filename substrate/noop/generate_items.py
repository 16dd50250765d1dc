"""Generate an items file (JSONL: one {"id", "family", "difficulty"} per line): the generate command.

    python generate_items.py --n 300 --seed 5 --mix '{"gravity": 1}' --difficulty 1 --out items.jsonl

The items carry no puzzle (nothing is solved here); their file's hash seeds the leaderboard jitter.
Bad arguments: one line naming the argument, exit 2, nothing written.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from noop_task import FAMILIES  # noqa: E402


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
        mix, difficulty = json.loads(args.mix), json.loads(args.difficulty)
    except json.JSONDecodeError as exc:
        return fail(f"--mix/--difficulty: not JSON: {exc}")
    if not isinstance(mix, dict) or not mix or not all(isinstance(v, int | float) and v >= 0 for v in mix.values()):
        return fail("--mix: expected a JSON object family -> weight >= 0")
    unknown = [f for f in mix if f not in FAMILIES]
    if unknown:
        return fail(f"--mix: unknown family '{unknown[0]}'")
    if sum(mix.values()) <= 0:
        return fail("--mix: at least one family needs a positive weight")
    if not isinstance(difficulty, int | dict):
        return fail("--difficulty: expected an int or a JSON object family -> int")
    rng = random.Random(args.seed)
    families = rng.choices(list(mix), weights=list(mix.values()), k=args.n)
    lines = []
    for i, family in enumerate(families):
        level = difficulty.get(family, 0) if isinstance(difficulty, dict) else difficulty
        lines.append(json.dumps({"id": f"{args.seed}-{i}", "family": family, "difficulty": level}))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(args.out)
    print(f"wrote {len(lines)} items to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
