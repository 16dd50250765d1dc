"""The substrate contract's optional {train_data}: campaigns render the run command without it, the
cycle with it, and substrate/default's run.py trains on the records of the file (puzzles and plain pairs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.schemas.results import RunResults
from evotrain.schemas.substrate import SubstrateSpec, TrainDataRecord
from orchestrator.campaign.substrate_check import _command_problems
from workers.substrate_contract import load_spec, render_command

ROOT = Path(__file__).resolve().parents[1]
SUBSTRATE = ROOT / "substrate" / "default"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "EVOTRAIN_THREADS": "1"}


def test_unset_train_data_drops_its_argument_and_a_set_one_is_filled() -> None:
    template = ["{python}", "run.py", "--out", "{out}", "--train-data={train_data}"]
    assert render_command(template, out="/o", python="py") == ["py", "run.py", "--out", "/o"]
    assert render_command(template, out="/o", python="py", train_data=None) == ["py", "run.py", "--out", "/o"]
    assert render_command(template, out="/o", python="py", train_data="/d.jsonl")[-1] == "--train-data=/d.jsonl"
    with pytest.raises(EvotrainError, match=r"unknown placeholder \{out\}"):  # only {train_data} is optional
        render_command(template, python="py")


def test_default_substrate_names_train_data_and_a_campaign_command_is_unchanged() -> None:
    spec = load_spec(SUBSTRATE)
    assert "--train-data={train_data}" in spec.run_command
    assert render_command(spec.run_command, recipe="r.yaml", out="o", seed=3, python="py") == \
        ["py", "run.py", "--recipe", "r.yaml", "--out", "o", "--seed", "3"]


def test_substrate_check_wants_the_flag_and_train_data_in_one_argument(tmp_path: Path) -> None:
    (tmp_path / "run.py").write_text("")
    base = {"name": "x", "validate_command": ["true"], "evaluate_command": ["true"], "generate_command": ["true"],
            "families": ["a"]}
    bare = SubstrateSpec.model_validate({**base, "run_command": ["{python}", "run.py", "--train-data", "{train_data}"]})
    assert _command_problems(tmp_path, bare) == [
        "substrate.yaml: field 'run_command': write {train_data} with its flag in one argument "
        "(e.g. --train-data={train_data}); it is left out when not given"]
    joined = SubstrateSpec.model_validate({**base, "run_command": ["{python}", "run.py", "--train-data={train_data}"]})
    assert _command_problems(tmp_path, joined) == []
    elsewhere = SubstrateSpec.model_validate({**base, "run_command": ["{python}", "run.py"],
                                              "evaluate_command": ["x", "--d={train_data}"]})
    assert "unknown placeholder {train_data}" in _command_problems(tmp_path, elsewhere)[0]


def test_encode_plain_truncates_to_the_context_and_learns_only_the_response() -> None:
    sys.path.insert(0, str(SUBSTRATE))
    try:
        from minitask.tokenizer import CharTokenizer
        from pipeline.train_data import MAX_TARGET, MAX_TOKENS, encode_plain
    finally:
        sys.path.remove(str(SUBSTRATE))
    tok = CharTokenizer.load(SUBSTRATE / "base")
    ids, labels = encode_plain(tok, "p" * 1000, "r" * 1000)
    assert len(ids) == len(labels) <= MAX_TOKENS
    learned = [t for t in labels if t != -100]
    assert len(learned) == MAX_TARGET + 1 and learned[-1] == tok.eos_id  # response head + EOS
    short_ids, short_labels = encode_plain(tok, "ab", "cd")
    assert short_labels[:3] == [-100, -100, -100] and len(short_ids) == 1 + 2 + 2 + 1


def _records(path: Path) -> None:
    sys.path.insert(0, str(SUBSTRATE))
    try:
        from minitask.generate import generate_items
    finally:
        sys.path.remove(str(SUBSTRATE))
    puzzles = generate_items(2, {"numeral_system": 1.0}, 5, 1)
    lines = [TrainDataRecord(prompt=p.prompt, response=p.answer, item=p.to_json(), source="s", category=p.family)
             for p in puzzles]
    lines.append(TrainDataRecord(prompt="def f(x): ...", response="f returns x", source="python-ast", category="code"))
    path.write_text("".join(r.model_dump_json() + "\n" for r in lines), encoding="utf-8")


@pytest.mark.slow
def test_run_py_trains_on_the_train_data_file(tmp_path: Path) -> None:
    recipe = yaml.safe_load((SUBSTRATE / "recipe.yaml").read_text())
    recipe.update({"max_steps": 2, "save_steps": [2], "warmup_steps": 1, "batch_size": 2})
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    data = tmp_path / "data.jsonl"
    _records(data)
    command = render_command(load_spec(SUBSTRATE).run_command, recipe=str(tmp_path / "recipe.yaml"),
                             out=str(tmp_path / "out"), seed=1, train_data=str(data))
    proc = subprocess.run(command, cwd=SUBSTRATE, env=ENV, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert f"[data] 3 examples from {data}" in proc.stdout
    results = read_model(tmp_path / "out" / "results.json", RunResults)
    assert results.steps == 2 and [s.step for s in results.saved] == [2]


def test_run_py_refuses_a_bad_record_with_one_line_naming_file_and_line(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps({"prompt": "a", "response": "b"}) + "\n" + json.dumps({"prompt": "a"}) + "\n")
    proc = subprocess.run([sys.executable, "run.py", "--out", str(tmp_path / "o"), f"--train-data={data}"],
                          cwd=SUBSTRATE, env=ENV, capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: --train-data: {data}:2: response"
    assert not (tmp_path / "o").exists()
