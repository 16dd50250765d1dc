"""Write the part of train.csv workers may read: every row except the held-out leaderboard split.

    python prepare_data.py --input train.csv --out worker_train.csv

substrate.yaml names this as `inputs.train_csv.worker_view_command`: evotrain runs it (frozen code,
outside every sandbox) once per campaign and binds only its output read-only into workers' jobs, so no
job can read a leaderboard row. The train and dev splits keep their rows (splits are by a hash of the
row id, so they are the same in the copy). Bad input: one line naming the file, exit 2.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from nemotron_task.data import DataError, read_rows  # noqa: E402
from nemotron_task.splits import split_of  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--input", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    try:
        rows = read_rows(args.input)
    except DataError as exc:
        print(f"error: --input: {exc}", file=sys.stderr)
        return 2
    visible = [r for r in rows if split_of(r.id) != "leaderboard"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "prompt", "answer"])
        for r in visible:
            writer.writerow([r.id, r.prompt, r.answer or ""])
    tmp.replace(args.out)
    print(f"wrote {len(visible)} of {len(rows)} rows to {args.out} ({len(rows) - len(visible)} held out)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
