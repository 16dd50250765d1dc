"""make_executor: backend by name, options checked up front with one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from evotrain.errors import EvotrainError
from workers.executors.base import JobSpec, JobState
from workers.executors.factory import make_executor
from workers.executors.local import LocalExecutor


def test_local_is_built_and_runs_a_job(tmp_path: Path) -> None:
    ex = make_executor("local", tmp_path / "jobs", total_slots=1)
    assert isinstance(ex, LocalExecutor) and ex.total_slots == 1 and ex.name == "local"
    ex.submit(JobSpec(job_id="f-1", command=["sh", "-c", "echo made"], cwd=str(tmp_path)))
    assert ex.wait("f-1", poll_s=0.05, timeout_s=30).state == JobState.SUCCEEDED
    assert ex.logs("f-1") == "made\n"


def test_default_slots_are_the_cpu_count(tmp_path: Path) -> None:
    import os

    assert make_executor("local", tmp_path / "jobs").total_slots == (os.cpu_count() or 1)


def test_kubernetes_is_built_with_job_options(tmp_path: Path) -> None:
    pytest.importorskip("kubernetes")
    ex = make_executor("kubernetes", tmp_path / "jobs", host="http://127.0.0.1:9", namespace="evo", image="i:1")
    assert ex.name == "kubernetes"
    assert ex.options.namespace == "evo" and ex.options.image == "i:1"  # type: ignore[attr-defined]


def test_bad_kind_and_options_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(EvotrainError, match="field 'kind': 'slurm'"):
        make_executor("slurm", tmp_path)
    with pytest.raises(EvotrainError, match="field 'total_slot': not an option of the local executor"):
        make_executor("local", tmp_path, total_slot=2)
    with pytest.raises(EvotrainError, match="field 'total_slots': must be >= 1"):
        make_executor("local", tmp_path, total_slots=0)
