"""Run the deterministic solvers on a challenge CSV and write id,prediction (empty when unsolved).

    python solve.py --csv train.csv --out pred.csv [--traces traces.jsonl]

Malformed CSV: one line on stderr naming the file/row/field, exit 2, nothing written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from nemotron_task.data import DataError, Prediction, read_rows, write_predictions  # noqa: E402
from nemotron_task.families import parse  # noqa: E402
from nemotron_task.solvers import Solver  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--csv", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--traces", type=Path, default=None, help="also write {id, family, trace} JSONL")
    args = ap.parse_args(argv)
    try:
        rows = read_rows(args.csv)
        puzzles = []
        for row in rows:
            try:
                puzzles.append(parse(row.prompt))
            except ValueError as exc:
                raise DataError(f"{args.csv}: row id {row.id}: {exc}") from None
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    solver = Solver(puzzles)
    preds: list[Prediction] = []
    traces: list[str] = []
    for row, puzzle in zip(rows, puzzles, strict=True):
        sol = solver.solve(puzzle)
        preds.append(Prediction(id=row.id, prediction=sol.answer if sol else ""))
        if sol is not None:
            traces.append(json.dumps({"id": row.id, "family": puzzle.kind, "trace": sol.trace()}))
    write_predictions(args.out, preds)
    if args.traces is not None:
        args.traces.write_text("".join(t + "\n" for t in traces), encoding="utf-8")
    solved = sum(1 for p in preds if p.prediction)
    print(f"[solve] {solved}/{len(preds)} rows answered -> {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
