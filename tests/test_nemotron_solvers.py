"""The nemotron substrate's deterministic solvers on real train.csv rows, scored with the challenge metric.

Fixed samples (every 5th row of each kind, at most 120) keep this fast; floors sit a little under
the accuracy measured on exactly these samples (benchmarks/solvers.py reports the full set).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SUBSTRATE = REPO / "substrate" / "nemotron"
sys.path.insert(0, str(SUBSTRATE))

from nemotron_task.data import read_rows  # noqa: E402
from nemotron_task.families import parse  # noqa: E402
from nemotron_task.metric import extract_answer, is_correct  # noqa: E402
from nemotron_task.solvers import Solver  # noqa: E402

SHARED = Path(os.environ.get("EVOTRAIN_SHARED_DIR", REPO.parent / "shared"))
TRAIN_CSV = SHARED / "data" / "nemotron-reasoning" / "train.csv"
pytestmark = pytest.mark.skipif(not TRAIN_CSV.exists(), reason=f"real data not found at {TRAIN_CSV}")
# kind -> accuracy floor on the fixed sample (measured there: bit 0.975, equations_numeric 0.833,
# cryptarithm 0.067, others 1.0)
FLOORS = {
    "numeral_system": 1.0,
    "unit_conversion": 1.0,
    "gravity": 1.0,
    "text_cipher": 0.97,
    "bit_manipulation": 0.95,
    "equations_numeric": 0.8,
    "equations_cryptarithm": 0.06,  # only concatenations are recognised (8/120 on this sample)
}


@pytest.fixture(scope="module")
def corpus():
    rows = read_rows(TRAIN_CSV)
    puzzles = [parse(r.prompt) for r in rows]
    by_kind: dict[str, list[tuple]] = {}
    for row, puzzle in zip(rows, puzzles, strict=True):
        by_kind.setdefault(puzzle.kind, []).append((row, puzzle))
    samples = {kind: items[::5][:120] for kind, items in by_kind.items()}
    return Solver(puzzles), samples, Counter(p.kind for p in puzzles)


def test_every_row_parses_into_a_known_kind(corpus):
    _, _, kinds = corpus
    assert sum(kinds.values()) == 9500
    # the data README's family counts; equations split into numeric and cryptarithm
    assert kinds["bit_manipulation"] == 1602
    assert kinds["gravity"] == 1597
    assert kinds["equations_numeric"] + kinds["equations_cryptarithm"] == 1555


@pytest.mark.parametrize("kind", sorted(FLOORS))
def test_solver_accuracy_floor_on_real_rows(corpus, kind):
    solver, samples, _ = corpus
    items = samples[kind]
    assert len(items) == 120
    correct = 0
    for row, puzzle in items:
        sol = solver.solve(puzzle)
        if sol is None:
            continue
        trace = sol.trace()
        assert trace.rstrip().endswith("\\boxed{" + sol.answer + "}")
        correct += is_correct(extract_answer(trace), row.answer)
    assert correct / len(items) >= FLOORS[kind], f"{kind}: {correct}/{len(items)}"


def test_hand_checked_equations_rows(corpus):
    solver, _, _ = corpus
    rows = {r.id: r for r in read_rows(TRAIN_CSV)}
    # worked by hand: operands read backwards, result written backwards.
    # 01cd504a: '-' = add (46+56=102 -> 201), '/' = mul; 85/77 -> 58*77=4466 -> 6644
    # 026106f5: '{' = difference, '*' = add; 75*97 -> 57+79=136 -> 631
    for row_id, gold in (("01cd504a", "6644"), ("026106f5", "631")):
        row = rows[row_id]
        assert row.answer == gold
        sol = solver.solve(parse(row.prompt))
        assert sol is not None and sol.answer == gold, (row_id, sol)
        assert sol.rule.startswith("reversed:")


def test_solve_cli_writes_a_prediction_per_row(tmp_path):
    rows = list(csv.DictReader(TRAIN_CSV.open(newline="", encoding="utf-8")))[:40]
    small = tmp_path / "small.csv"
    with small.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "prompt", "answer"])
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "pred.csv"
    proc = subprocess.run([sys.executable, str(SUBSTRATE / "solve.py"), "--csv", str(small), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    preds = list(csv.DictReader(out.open(newline="", encoding="utf-8")))
    assert [p["id"] for p in preds] == [r["id"] for r in rows]
    hits = sum(is_correct(p["prediction"], r["answer"]) for p, r in zip(preds, rows, strict=True) if p["prediction"])
    assert hits >= 30


def test_solve_cli_rejects_a_csv_without_prompt_column(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,question\n1,hello\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, str(SUBSTRATE / "solve.py"), "--csv", str(bad), "--out",
                           str(tmp_path / "p.csv")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "prompt" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "p.csv").exists()
