"""End-to-end on the real default substrate: a --smoke run gives valid RunResults and a PEFT
adapter; evaluate.py scores that adapter on a tiny items file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from evotrain.io import read_model
from evotrain.schemas.results import EvalReport, JudgeReport, RunResults

ROOT = Path(__file__).resolve().parents[1]
SUBSTRATE = ROOT / "substrate" / "default"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "EVOTRAIN_THREADS": "1"}
pytestmark = pytest.mark.slow


def run(*args: str, cwd: Path = SUBSTRATE) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=ENV, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def start(command: list[str], cwd: Path, folder: Path) -> subprocess.Popen[bytes]:
    """`command` in the background; its stdout/stderr go to files in `folder` (a pipe nobody reads could fill)."""
    with open(folder / "stdout", "wb") as out, open(folder / "stderr", "wb") as err:
        return subprocess.Popen(command, cwd=cwd, env=ENV, stdout=out, stderr=err)


def finish(proc: subprocess.Popen[bytes], folder: Path) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a background command once it has exited."""
    returncode = proc.wait(timeout=600)
    return returncode, (folder / "stdout").read_text(), (folder / "stderr").read_text()


def leave_none_behind(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:  # its test did not run (deselected or failed early)
        proc.kill()
        proc.wait()


# The slow single-threaded commands whose results only one test reads start in the background as early as
# they can and that test waits for them: on 2 cores they overlap with the module's other commands.

@pytest.fixture(scope="module")
def cli_smoke(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """`evotrain substrate run --smoke`, started before the module's own smoke run."""
    folder = tmp_path_factory.mktemp("cli")
    proc = start([sys.executable, "-m", "orchestrator.cli", "substrate", "run", "--smoke", "--out",
                  str(folder / "cli")], ROOT, folder)
    yield proc, folder
    leave_none_behind(proc)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory,
          cli_smoke: tuple[subprocess.Popen[bytes], Path]) -> Iterator[tuple[Path, subprocess.Popen[bytes], Path]]:
    """(the module's smoke run, the judge at recipe.yaml's dev_items started on it, the judge's folder)."""
    out = tmp_path_factory.mktemp("smoke") / "out"
    run("run.py", "--recipe", str(SUBSTRATE / "recipe.yaml"), "--out", str(out), "--smoke", "--seed", "3")
    folder = tmp_path_factory.mktemp("judge")
    judge = start([sys.executable, "judge.py", "--run", str(out), "--report", str(folder / "judge.json")], SUBSTRATE,
                  folder)
    yield out, judge, folder
    leave_none_behind(judge)


@pytest.fixture(scope="module")
def smoke_out(smoke: tuple[Path, subprocess.Popen[bytes], Path]) -> Path:
    return smoke[0]


def test_smoke_run_results_and_adapter(smoke_out: Path) -> None:
    results = read_model(smoke_out / "results.json", RunResults)
    assert results.seed == 3
    assert 1 <= results.steps <= 5
    assert not results.nan_loss
    assert results.loss_curve and results.final_loss is not None and results.final_loss > 0
    assert results.checkpoints == []  # the run does not score itself: the frozen judge does
    [saved] = results.saved
    assert saved.step == results.steps
    adapter = smoke_out / saved.adapter_dir
    assert (adapter / "adapter_model.safetensors").stat().st_size > 0
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["r"] <= 32


def test_judge_takes_the_campaigns_frozen_dev_items(smoke_out: Path, tmp_path: Path) -> None:
    from workers.substrate_contract import load_spec, render_command

    template = load_spec(SUBSTRATE).judge_command
    report = tmp_path / "judge.json"
    command = render_command(template, python=sys.executable, run=str(smoke_out), report=str(report), dev_items=24)
    assert command[-1] == "--dev-items=24"
    assert "--dev-items" not in " ".join(render_command(template, run="r", report="o"))  # unset: the recipe's
    # the refused call (its own report path) runs alongside the real one: two start-ups overlap on 2 cores
    bad = subprocess.Popen([sys.executable, "judge.py", "--run", str(smoke_out), "--report", str(tmp_path / "bad.json"),
                            "--dev-items=0"], cwd=SUBSTRATE, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    subprocess.run(command, cwd=SUBSTRATE, env=ENV, check=True, capture_output=True)
    [ckpt] = read_model(report, JudgeReport).checkpoints
    assert ckpt.n_items == 24
    _, bad_stderr = bad.communicate(timeout=300)
    assert bad.returncode == 2 and bad_stderr.strip() == "error: --dev-items: must be in [1, 5000], got 0"
    assert not (tmp_path / "bad.json").exists()


def test_judge_ignores_symlinked_and_hardlinked_checkpoints(smoke_out: Path, tmp_path: Path) -> None:
    import shutil

    forged = tmp_path / "run"
    (forged / "checkpoints").mkdir(parents=True)
    (forged / "checkpoints" / "step-00001").symlink_to(smoke_out / "checkpoints" / "step-00005")
    linked = forged / "checkpoints" / "step-00002"
    linked.mkdir()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        shutil.copy(smoke_out / "checkpoints" / "step-00005" / name, linked / name)
    outside = tmp_path / "outside.safetensors"  # e.g. a file the worker should not be able to point at
    (linked / "adapter_model.safetensors").rename(outside)
    (linked / "adapter_model.safetensors").hardlink_to(outside)
    report = tmp_path / "judge.json"
    run("judge.py", "--run", str(forged), "--report", str(report))
    assert read_model(report, JudgeReport).checkpoints == []


def test_evaluate_tiny_items_file(smoke_out: Path, tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    run("generate_items.py", "--n", "12", "--seed", "11", "--mix", '{"numeral_system": 1, "gravity": 1}',
        "--difficulty", "0", "--out", str(items))
    report_path = tmp_path / "report.json"
    adapter = smoke_out / "checkpoints" / "step-00005"
    run("evaluate.py", "--adapter", str(adapter), "--items", str(items), "--report", str(report_path))
    report = read_model(report_path, EvalReport)
    assert report.n_items == 12
    assert report.n_by_family == {"gravity": 6, "numeral_system": 6}
    assert 0.0 <= report.overall <= 1.0


def test_evaluate_missing_adapter_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "evaluate.py", "--adapter", str(tmp_path / "nope"), "--items", "x.jsonl",
         "--report", str(tmp_path / "r.json")],
        cwd=SUBSTRATE, env=ENV, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert "adapter_config.json" in proc.stderr
    assert not (tmp_path / "r.json").exists()


def test_cli_smoke_run_prints_family_table(cli_smoke: tuple[subprocess.Popen[bytes], Path]) -> None:
    proc, folder = cli_smoke
    returncode, stdout, stderr = finish(proc, folder)
    assert returncode == 0, stderr[-2000:]
    assert "numeral_system" in stdout and "overall" in stdout
    assert read_model(folder / "cli" / "results.json", RunResults).steps == 5


def test_real_leaderboard_scores_smoke_adapter(smoke_out: Path, tmp_path: Path) -> None:
    from orchestrator.leaderboard.local import HiddenSplitSpec, LocalLeaderboard

    board = LocalLeaderboard(SUBSTRATE, tmp_path / "lb", budget_per_round=1,
                             spec=HiddenSplitSpec(n_public=12, n_private=6))
    score = board.submit("r001/w00", 1, smoke_out / "checkpoints" / "step-00005", final=True)
    assert score.n_items == 12 and score.private is not None
    assert set(score.public_by_family) == {"bit_manipulation", "text_cipher", "numeral_system",
                                           "unit_conversion", "gravity", "equations"}
    assert board.remaining(1) == 0
    assert not list(SUBSTRATE.glob("**/*.jsonl"))  # the hidden split never lands in the substrate


def test_judge_scores_every_saved_checkpoint(smoke: tuple[Path, subprocess.Popen[bytes], Path]) -> None:
    smoke_out, judge, folder = smoke
    returncode, _, stderr = finish(judge, folder)  # started by the fixture; last in the module so it overlaps
    assert returncode == 0, stderr[-2000:]
    judged = read_model(folder / "judge.json", JudgeReport)
    [ckpt] = judged.checkpoints
    assert ckpt.step == read_model(smoke_out / "results.json", RunResults).saved[0].step
    assert set(ckpt.by_family) == {"bit_manipulation", "text_cipher", "numeral_system", "unit_conversion",
                                   "gravity", "equations"}
    assert ckpt.n_items == 300 and 0.0 <= ckpt.overall <= 1.0  # recipe.yaml's dev_items, not the run's
