"""Recipe validation: bad input is one line naming the key/path, exit 2, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SUBSTRATE = ROOT / "substrate" / "default"
sys.path.insert(0, str(SUBSTRATE))

from minitask.recipe import Recipe, RecipeError, load_recipe  # noqa: E402


def write_recipe(tmp_path: Path, **changes: object) -> Path:
    data = yaml.safe_load((SUBSTRATE / "recipe.yaml").read_text())
    data.update(changes)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def run_script(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SUBSTRATE / script), *args], capture_output=True, text=True, check=False
    )


def test_default_recipe_is_valid() -> None:
    recipe = load_recipe(SUBSTRATE / "recipe.yaml")
    assert recipe.max_steps in recipe.save_steps
    assert abs(sum(recipe.mixture().values()) - 1.0) < 1e-9


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"learning_rat": 0.001}, "learning_rat"),
        ({"learning_rate": -0.001}, "learning_rate"),
        ({"lora_r": 64}, "lora_r"),
        ({"lr_scheduler": "step"}, "lr_scheduler"),
        ({"batch_size": "big"}, "batch_size"),
        ({"mixture_weights": {"geometry": 1.0}}, "mixture_weights"),
        ({"lora_target_modules": ["qkv"]}, "lora_target_modules"),
        ({"save_steps": [10_000]}, "<root>"),
        ({"train_difficulty": 9}, "train_difficulty"),
    ],
)
def test_bad_key_names_the_key(tmp_path: Path, changes: dict[str, object], key: str) -> None:
    with pytest.raises(RecipeError) as info:
        load_recipe(write_recipe(tmp_path, **changes))
    message = str(info.value)
    assert "\n" not in message
    assert f"'{key}" in message


def test_validate_exit_2_one_line(tmp_path: Path) -> None:
    proc = run_script("validate.py", "--recipe", str(write_recipe(tmp_path, learning_rate=-1.0)))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "learning_rate" in proc.stderr


def test_validate_ok() -> None:
    proc = run_script("validate.py", "--recipe", str(SUBSTRATE / "recipe.yaml"))
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"warmup_stepz": 3}, "warmup_stepz"),
        ({"learning_rate": -3e-3}, "learning_rate"),
        ({"base_checkpoint": "/nonexistent/base"}, "/nonexistent/base"),
    ],
)
def test_run_bad_input_writes_nothing(tmp_path: Path, changes: dict[str, object], needle: str) -> None:
    out = tmp_path / "out"
    proc = run_script("run.py", "--recipe", str(write_recipe(tmp_path, **changes)), "--out", str(out))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert needle in lines[0]
    assert not out.exists()


def test_cli_bad_recipe_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "substrate", "run", "--recipe",
         str(write_recipe(tmp_path, lora_dropout=1.5)), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert "lora_dropout" in proc.stderr
    assert not out.exists()


def test_recipe_json_schema_lists_every_key() -> None:
    schema = Recipe.model_json_schema()
    assert schema["additionalProperties"] is False
    assert {"learning_rate", "mixture_weights", "trace_style", "save_steps"} <= set(schema["properties"])
