"""Local leaderboard: budget per round, append-only records, private only when asked.

The fast tests drive a stand-in substrate whose commands are two tiny scripts (the leaderboard
only talks to a substrate through its commands); the slow test scores a real adapter.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from evotrain.errors import EvotrainError
from orchestrator.leaderboard.base import SubmissionBudgetExceeded
from orchestrator.leaderboard.local import HiddenSplitSpec, LocalLeaderboard, adapter_sha256

GENERATE = """
import argparse, json
ap = argparse.ArgumentParser()
for a in ("--n", "--seed", "--mix", "--difficulty", "--out"):
    ap.add_argument(a)
args = ap.parse_args()
with open(args.out, "w") as fh:
    for i in range(int(args.n)):
        fh.write(json.dumps({"seed": int(args.seed), "i": i}) + "\\n")
"""
# score = share of items whose index is below a threshold written in the adapter config, so the
# public and private halves (different sizes) get different, checkable scores
EVALUATE = """
import argparse, json
ap = argparse.ArgumentParser()
for a in ("--adapter", "--items", "--report"):
    ap.add_argument(a)
args = ap.parse_args()
k = json.load(open(args.adapter + "/adapter_config.json"))["k"]
rows = [json.loads(line) for line in open(args.items)]
acc = sum(r["i"] < k for r in rows) / len(rows)
json.dump({"overall": acc, "by_family": {"gravity": acc}, "n_items": len(rows)}, open(args.report, "w"))
"""


def fake_substrate(root: Path) -> Path:
    root.mkdir()
    (root / "gen.py").write_text(GENERATE)
    (root / "ev.py").write_text(EVALUATE)
    spec = {
        "name": "fake",
        "run_command": ["{python}", "-c", "pass"],
        "validate_command": ["{python}", "-c", "pass"],
        "evaluate_command": ["{python}", "ev.py", "--adapter", "{adapter}", "--items", "{items}",
                             "--report", "{report}"],
        "generate_command": ["{python}", "gen.py", "--n", "{n}", "--seed", "{seed}", "--mix", "{mix}",
                             "--difficulty", "{difficulty}", "--out", "{items}"],
        "families": ["gravity"],
    }
    (root / "substrate.yaml").write_text(yaml.safe_dump(spec))
    return root


def fake_adapter(path: Path, k: int) -> Path:
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text(json.dumps({"k": k}))
    (path / "adapter_model.safetensors").write_bytes(b"weights" + bytes([k]))
    return path


@pytest.fixture
def board(tmp_path: Path) -> LocalLeaderboard:
    spec = HiddenSplitSpec(n_public=10, n_private=20)
    return LocalLeaderboard(fake_substrate(tmp_path / "sub"), tmp_path / "lb", budget_per_round=2, spec=spec)


def test_public_score_only_by_default(board: LocalLeaderboard, tmp_path: Path) -> None:
    score = board.submit("r001/w01", 1, fake_adapter(tmp_path / "a", k=5))
    assert score.public == pytest.approx(0.5)
    assert score.private is None
    assert score.n_items == 10


def test_private_when_final(board: LocalLeaderboard, tmp_path: Path) -> None:
    score = board.submit("r001/w01", 1, fake_adapter(tmp_path / "a", k=5), final=True)
    assert score.public == pytest.approx(0.5)
    assert score.private == pytest.approx(0.25)


def test_budget_per_round_and_records(board: LocalLeaderboard, tmp_path: Path) -> None:
    adapter = fake_adapter(tmp_path / "a", k=3)
    board.submit("r001/w01", 1, adapter)
    board.submit("r001/w02", 1, adapter)
    assert board.remaining(1) == 0
    with pytest.raises(SubmissionBudgetExceeded):
        board.submit("r001/w03", 1, adapter)
    assert board.remaining(2) == 2  # a new round has a fresh budget
    board.submit("r002/w01", 2, adapter)
    lines = board.records.read_text().splitlines()
    assert len(lines) == 3  # the refused submission is not recorded
    first = json.loads(lines[0])
    assert first["candidate"] == "r001/w01"
    assert first["adapter_sha256"] == adapter_sha256(adapter)
    assert first["submitted_at"] > 0
    assert [s.submission_id for s in board.history()] == ["r001-00001", "r001-00002", "r002-00003"]


def test_split_is_generated_outside_the_substrate(board: LocalLeaderboard, tmp_path: Path) -> None:
    board.submit("r001/w01", 1, fake_adapter(tmp_path / "a", k=1))
    public = board.split_file("public")
    assert public.is_relative_to(tmp_path / "lb")
    assert len(public.read_text().splitlines()) == 10
    assert not list((tmp_path / "sub").glob("*.jsonl"))


def test_changed_spec_is_refused(board: LocalLeaderboard, tmp_path: Path) -> None:
    board.submit("r001/w01", 1, fake_adapter(tmp_path / "a", k=1))
    other = LocalLeaderboard(board.substrate_dir, board.folder, spec=HiddenSplitSpec(n_public=11))
    with pytest.raises(EvotrainError, match="different spec"):
        other.submit("r001/w02", 1, fake_adapter(tmp_path / "b", k=1))


def test_missing_adapter_file_is_one_line_error(board: LocalLeaderboard, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(EvotrainError, match=r"adapter_config\.json"):
        board.submit("r001/w01", 1, tmp_path / "empty")
    assert not board.records.exists()
