"""The nemotron substrate's contract: spec, recipes, splits, the tiny NemotronH, adapter checks, and
(slow) one smoke training run scored end to end. Reads the real train.csv from ../shared."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from evotrain.schemas.policy import Axis
from evotrain.schemas.results import EvalReport, RunResults
from workers.substrate_contract import load_spec, matches_any

REPO = Path(__file__).resolve().parents[1]
SUBSTRATE = REPO / "substrate" / "nemotron"
sys.path.insert(0, str(SUBSTRATE))

from nemotron_task.data import read_rows  # noqa: E402
from nemotron_task.splits import rows_of, split_of  # noqa: E402

SHARED = Path(os.environ.get("EVOTRAIN_SHARED_DIR", REPO.parent / "shared"))
TRAIN_CSV = SHARED / "data" / "nemotron-reasoning" / "train.csv"
pytestmark = pytest.mark.skipif(not TRAIN_CSV.exists(), reason=f"real data not found at {TRAIN_CSV}")
ENV = {**os.environ, "EVOTRAIN_INPUT_TRAIN_CSV": str(TRAIN_CSV), "OMP_NUM_THREADS": "1"}


def _run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=SUBSTRATE, env=ENV, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_spec_globs_cover_every_file_and_axes_validate():
    spec = load_spec(SUBSTRATE)
    assert spec.name == "nemotron" and spec.max_lora_rank == 32
    files = [p.relative_to(SUBSTRATE).as_posix() for p in SUBSTRATE.rglob("*.py") if "__pycache__" not in p.parts]
    for rel in files:
        assert matches_any(rel, spec.editable) != matches_any(rel, spec.frozen), f"{rel}: editable xor frozen"
    for pattern in spec.frozen:
        assert (SUBSTRATE / pattern).is_file(), pattern
    axes = [Axis.model_validate(a) for a in yaml.safe_load((SUBSTRATE / "axes.yaml").read_text())]
    assert {a.key for a in axes} >= {"learning_rate", "lora_r", "trace_style"}


@pytest.mark.parametrize("recipe", ["recipe.yaml", "recipe.tiny.yaml"])
def test_shipped_recipes_validate(recipe):
    proc = _run("validate.py", "--recipe", recipe)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("override", "key"),
    [({"lora_r": 64}, "lora_r"), ({"base_model": "/models/nemotron"}, "base_model"),
     ({"lora_target_modules": ["out_proj"]}, "lora_target_modules"), ({"save_steps": [500]}, "save_steps")],
)
def test_bad_recipe_is_one_line_naming_the_key(tmp_path, override, key):
    values = yaml.safe_load((SUBSTRATE / "recipe.tiny.yaml").read_text())
    values.update(override)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(values))
    proc = _run("validate.py", "--recipe", str(path))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0], proc.stderr


def test_splits_are_disjoint_stable_and_sized():
    rows = read_rows(TRAIN_CSV)
    sizes = {s: len(rows_of(rows, s)) for s in ("train", "dev", "leaderboard")}
    assert sum(sizes.values()) == len(rows) == 9500
    assert 0.08 < sizes["leaderboard"] / 9500 < 0.12
    assert 0.035 < sizes["dev"] / 9500 < 0.065
    assert split_of("00066667") == split_of("00066667")


def test_generate_items_draws_only_held_out_rows(tmp_path):
    out = tmp_path / "items.jsonl"
    proc = _run("generate_items.py", "--n", "30", "--seed", "3", "--mix", '{"gravity": 1, "equations": 2}',
                "--difficulty", "0", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    items = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(items) == 30
    assert {i["family"] for i in items} == {"gravity", "equations"}
    assert sum(i["family"] == "equations" for i in items) == 20
    assert all(split_of(i["id"]) == "leaderboard" for i in items)


def test_tiny_nemotron_h_is_deterministic_and_has_the_real_layer_pattern():
    from nemotron_task.tiny_model import build_tiny

    texts = [r.prompt for r in rows_of(read_rows(TRAIN_CSV), "train")[:120]]
    m1, t1 = build_tiny(texts)
    m2, t2 = build_tiny(list(reversed(texts)))
    assert type(m1).__name__ == "NemotronHForCausalLM"
    assert m1.config.hybrid_override_pattern == "M*E*"  # Mamba-2, attention, MoE, attention
    assert m1.config.n_routed_experts == 4 and m1.config.hidden_size == 64
    assert t1.get_vocab() == t2.get_vocab()
    s1, s2 = m1.state_dict(), m2.state_dict()
    assert s1.keys() == s2.keys() and all((s1[k] == s2[k]).all() for k in s1)
    assert m1.config.name_or_path == "evotrain/nemotron-h-tiny"


def _fake_adapter(folder: Path, **config: object) -> Path:
    folder.mkdir(parents=True)
    base = {"r": 16, "base_model_name_or_path": "evotrain/nemotron-h-tiny", "peft_type": "LORA"}
    (folder / "adapter_config.json").write_text(json.dumps({**base, **config}))
    (folder / "adapter_model.safetensors").write_bytes(b"")
    return folder


@pytest.mark.parametrize(
    ("config", "needle"),
    [({"r": 64}, "rank 64"), ({"base_model_name_or_path": "/tmp/base"}, "not a model id")],
)
def test_evaluate_refuses_adapters_kaggle_would_refuse(tmp_path, config, needle):
    adapter = _fake_adapter(tmp_path / "adapter", **config)
    items = tmp_path / "items.jsonl"
    items.write_text("")
    proc = _run("evaluate.py", "--adapter", str(adapter), "--items", str(items), "--report", str(tmp_path / "r.json"))
    assert proc.returncode == 2
    assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.json").exists()


@pytest.mark.slow
def test_smoke_run_trains_scores_and_exports_a_kaggle_shaped_adapter(tmp_path):
    out = tmp_path / "run"
    proc = _run("run.py", "--recipe", "recipe.tiny.yaml", "--out", str(out), "--smoke", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = RunResults.model_validate_json((out / "results.json").read_text())
    assert results.substrate == "nemotron" and results.steps == 3
    assert results.final_loss is not None and not results.nan_loss
    (ckpt,) = results.checkpoints
    assert ckpt.n_items == 12 and set(ckpt.by_family) == set(load_spec(SUBSTRATE).families)
    adapter = out / ckpt.adapter_dir
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "evotrain/nemotron-h-tiny"
    assert config["r"] <= 32 and (adapter / "adapter_model.safetensors").stat().st_size > 0
    # the same adapter scored by the frozen evaluate command on held-out items
    items = tmp_path / "items.jsonl"
    assert _run("generate_items.py", "--n", "6", "--seed", "1", "--out", str(items)).returncode == 0
    report_path = tmp_path / "report.json"
    proc = _run("evaluate.py", "--adapter", str(adapter), "--items", str(items), "--report", str(report_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = EvalReport.model_validate_json(report_path.read_text())
    assert report.n_items == 6 and 0.0 <= report.overall <= 1.0
