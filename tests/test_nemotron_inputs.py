"""substrate/nemotron's train.csv as an explicit, user-given input (substrate.yaml `inputs`, campaign config
`inputs`): checked at campaign start, the worker-visible part written by the substrate's frozen
prepare_data.py, bound read-only into jobs; a job cannot read the held-out (leaderboard) rows."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from evotrain.errors import EvotrainError
from evotrain.secrets import job_environment
from orchestrator.campaign.data_inputs import resolve_inputs, worker_views
from orchestrator.config import CampaignConfig
from workers.isolation import INPUTS_ROOT, JOB_HOME, bwrap_problem, input_env, isolate, sandbox_isolation
from workers.substrate_contract import load_spec

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TRAIN_CSV = SHARED / "data" / "nemotron-reasoning" / "train.csv"
NEMOTRON = REPO / "substrate" / "nemotron"
needs_data = pytest.mark.skipif(not TRAIN_CSV.is_file(), reason=f"{TRAIN_CSV} not present")
needs_bwrap = pytest.mark.skipif(bwrap_problem() is not None, reason=f"no bwrap: {bwrap_problem()}")

sys.path.insert(0, str(NEMOTRON))
from nemotron_task.splits import split_of  # noqa: E402


def _ids(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [row["id"] for row in csv.DictReader(fh)]


def test_substrate_declares_train_csv_with_a_worker_view() -> None:
    spec = load_spec(NEMOTRON)
    assert set(spec.inputs) == {"train_csv"}
    assert "prepare_data.py" in spec.inputs["train_csv"].worker_view_command


def test_resolve_inputs_names_the_config_field(tmp_path: Path) -> None:
    spec = load_spec(NEMOTRON)
    with pytest.raises(EvotrainError, match=r"config field 'inputs.train_csv': missing: substrate 'nemotron'"):
        resolve_inputs(tmp_path, CampaignConfig(name="x"), spec)
    with pytest.raises(EvotrainError, match=r"config field 'inputs.train_csv': path not found: .*nope.csv"):
        resolve_inputs(tmp_path, CampaignConfig(name="x", inputs={"train_csv": "nope.csv"}), spec)
    with pytest.raises(EvotrainError, match=r"config field 'inputs.extra': substrate 'nemotron' declares no such"):
        resolve_inputs(tmp_path, CampaignConfig(name="x", inputs={"train_csv": "a", "extra": "b"}), spec)
    (tmp_path / "t.csv").write_text("id,prompt,answer\n")
    got = resolve_inputs(tmp_path, CampaignConfig(name="x", inputs={"train_csv": "t.csv"}), spec)
    assert got == {"train_csv": (tmp_path / "t.csv").resolve()}


def test_campaign_start_without_the_input_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "substrate").symlink_to(REPO / "substrate")
    (tmp_path / "constitution").symlink_to(REPO / "constitution")
    for body, expected in [
        ("name: nemo\nsubstrate: substrate/nemotron\n", "config field 'inputs.train_csv': missing"),
        ("name: nemo\nsubstrate: substrate/nemotron\ninputs: {train_csv: data/train.csv}\n",
         "config field 'inputs.train_csv': path not found"),
    ]:
        (tmp_path / "c.yaml").write_text(body)
        proc = subprocess.run([sys.executable, "-m", "orchestrator.cli", "campaign", "start", "c.yaml", "--quiet"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert proc.returncode == 2, proc.stderr
        assert len(lines) == 1 and expected in lines[0], proc.stderr
        assert not (tmp_path / "campaigns").exists()


@needs_data
def test_worker_view_drops_exactly_the_leaderboard_rows(tmp_path: Path) -> None:
    spec = load_spec(NEMOTRON)
    isolated = bwrap_problem() is None
    views = worker_views(spec, NEMOTRON, {"train_csv": TRAIN_CSV}, tmp_path / "inputs", isolated=isolated)
    view = Path(views["train_csv"])
    assert view.parent == tmp_path / "inputs" / "train_csv"
    full_ids, view_ids = _ids(TRAIN_CSV), _ids(view)
    held_out = [i for i in full_ids if split_of(i) == "leaderboard"]
    assert len(full_ids) == 9500 and 800 < len(held_out) < 1100  # ~10 % by hash of the id
    assert view_ids == [i for i in full_ids if split_of(i) != "leaderboard"]
    # written once per input content: a second call reuses it
    mtime = view.stat().st_mtime_ns
    assert worker_views(spec, NEMOTRON, {"train_csv": TRAIN_CSV}, tmp_path / "inputs", isolated=isolated) == views
    assert view.stat().st_mtime_ns == mtime


PROBE = """
import csv, os, sys
path = os.environ["EVOTRAIN_INPUT_TRAIN_CSV"]
with open(path, newline="", encoding="utf-8") as fh:
    ids = [r["id"] for r in csv.DictReader(fh)]
print("path", path)
print("rows", len(ids))
print("ids", ",".join(ids))
for probe in sys.argv[1:]:
    try:
        open(probe, "rb").read(1)
        print("readable", probe)
    except OSError as exc:
        print("refused", probe, type(exc).__name__)
try:
    open(path, "a").write("x")
    print("input writable")
except OSError:
    print("input read-only")
"""


@needs_data
@needs_bwrap
def test_a_job_reads_only_the_worker_view_never_the_held_out_rows(tmp_path: Path) -> None:
    spec = load_spec(NEMOTRON)
    views = worker_views(spec, NEMOTRON, {"train_csv": TRAIN_CSV}, tmp_path / "inputs", isolated=True)
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    (sandbox / "probe.py").write_text(PROBE)
    iso = sandbox_isolation(sandbox, [], "bwrap", inputs=views)
    env = job_environment(input_env(iso), home=JOB_HOME)
    assert env["EVOTRAIN_INPUT_TRAIN_CSV"] == f"{INPUTS_ROOT}/train_csv"
    # the whole CSV, the shared data folder and the campaign's inputs folder stay invisible
    probes = [str(TRAIN_CSV), str(TRAIN_CSV.parent), views["train_csv"]]
    proc = subprocess.run(isolate([sys.executable, "probe.py", *probes], iso, str(sandbox)), cwd=sandbox, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    out = dict(line.split(" ", 1) for line in proc.stdout.splitlines())
    seen = out["ids"].split(",")
    assert int(out["rows"]) == len(seen) == len(_ids(Path(views["train_csv"])))
    assert not [i for i in seen if split_of(i) == "leaderboard"]
    assert {split_of(i) for i in seen} == {"train", "dev"}
    assert [ln for ln in proc.stdout.splitlines() if ln.startswith("readable")] == []
    assert sum(ln.startswith("refused") for ln in proc.stdout.splitlines()) == 3
    assert "input read-only" in proc.stdout


def test_unisolated_jobs_get_the_host_path() -> None:
    iso = sandbox_isolation(REPO / "substrate" / "nemotron", [], "none", inputs={"train_csv": "/data/view.csv"})
    assert input_env(iso) == {"EVOTRAIN_INPUT_TRAIN_CSV": "/data/view.csv"}
    assert input_env(None) == {}
    with pytest.raises(EvotrainError, match=r"brief field 'inputs': bad input name '\.\./etc'"):
        sandbox_isolation(REPO / "substrate" / "nemotron", [], "bwrap", inputs={"../etc": "/data/view.csv"})


@needs_data
def test_run_without_a_bound_input_names_it(tmp_path: Path) -> None:
    """A sandbox copy does not search parent folders: a missing CSV is one line naming the env var."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO),
           "EVOTRAIN_INPUT_TRAIN_CSV": str(tmp_path / "absent.csv")}
    proc = subprocess.run([sys.executable, str(NEMOTRON / "run.py"), "--recipe", str(NEMOTRON / "recipe.tiny.yaml"),
                           "--out", str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: EVOTRAIN_INPUT_TRAIN_CSV={tmp_path / 'absent.csv'}: not found "
        "(bring the Kaggle train.csv: campaign config inputs.train_csv)"]


def test_executor_run_leaderboard_evaluation_gets_the_whole_input(tmp_path: Path) -> None:
    """Scoring as an executor job (leaderboard.evaluate_on: executor) binds the input like the host path does."""
    from evotrain.schemas.substrate import CommandResources
    from orchestrator.leaderboard.executor_eval import ExecutorEvaluation

    class _NoExecutor:
        def submit(self, spec: object) -> None:  # never called: only the job spec is built
            raise AssertionError

    ev = ExecutorEvaluation(_NoExecutor(), campaign="c", resources=CommandResources(), cpu_threads=1,  # type: ignore[arg-type]
                            isolation="bwrap", inputs={"train_csv": str(TRAIN_CSV)})
    spec = ev._spec("c-lb-1", ["python", "evaluate.py"], tmp_path, tmp_path / "out", [], 1)
    assert spec.isolation is not None and spec.isolation.inputs == {"train_csv": str(TRAIN_CSV)}
    assert spec.env["EVOTRAIN_INPUT_TRAIN_CSV"] == f"{INPUTS_ROOT}/train_csv"
