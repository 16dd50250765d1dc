"""Kubernetes pods mount a substrate's data inputs read-only, where the job's EVOTRAIN_INPUT_<NAME> points."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evotrain.errors import EvotrainError
from workers.executors.base import JobSpec
from workers.executors.k8s_manifest import K8sJobOptions, build_job_manifest, validate_manifest
from workers.isolation import input_env, sandbox_isolation


@pytest.mark.parametrize("kind", ["bwrap", "none"])
def test_worker_pod_mounts_its_input_copy_read_only_and_nothing_else(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "ws"
    sandbox = root / "sandboxes" / "c" / "r001" / "w01"
    copy = root / "campaigns" / "c" / "inputs" / "train_csv" / "train.csv"  # the worker-visible copy
    iso = sandbox_isolation(sandbox, [], kind, inputs={"train_csv": str(copy)})  # type: ignore[arg-type]
    opts = K8sJobOptions(namespace="evotrain", mount_path=str(root))
    spec = JobSpec(job_id="c-r001-w01-a1", command=["python", "run.py"], cwd=str(sandbox), isolation=iso,
                   env=input_env(iso))
    job = build_job_manifest(spec, opts)
    validate_manifest(job, opts.k8s_version)
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    where = env["EVOTRAIN_INPUT_TRAIN_CSV"]
    assert where == ("/evotrain-inputs/train_csv" if kind == "bwrap" else str(copy))
    mounts = [m for m in container["volumeMounts"] if m["name"] == "workspace"]
    assert {"name": "workspace", "mountPath": where, "subPath": "campaigns/c/inputs/train_csv/train.csv",
            "readOnly": True} in mounts
    assert sorted(m["mountPath"] for m in mounts) == sorted([str(sandbox), where])  # never the campaign folder


def test_an_input_off_the_workspace_volume_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    sandbox = root / "sandboxes" / "w01"
    iso = sandbox_isolation(sandbox, [], "none", inputs={"train_csv": "/data/train.csv"})
    spec = JobSpec(job_id="c-r001-w01-a1", command=["python", "run.py"], cwd=str(sandbox), isolation=iso)
    with pytest.raises(EvotrainError, match=re.escape("field 'inputs.train_csv': /data/train.csv is not on the")):
        build_job_manifest(spec, K8sJobOptions(namespace="evotrain", mount_path=str(root)))
