"""Substrate resources reach every executor: GPUs, CPUs, memory, /dev/shm, timeouts, image (no GPU needed)."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.schemas.substrate import SubstrateSpec, quantity_bytes
from workers.executors.base import JobSpec, JobState
from workers.executors.local import LocalExecutor
from workers.job_tools import SMOKE_TIMEOUT_S, JobTools
from workers.substrate_contract import load_spec

ROOT = Path(__file__).resolve().parents[1]
GPU_RESOURCES = {
    "validate": {"timeout_s": 30},
    "smoke": {"gpus": 1, "cpus": 4, "memory": "32Gi", "shm": "8Gi", "timeout_s": 1800},
    "train": {"gpus": 1, "cpus": 8, "memory": "64Gi", "shm": "16Gi", "timeout_s": 36000,
              "image": "registry.example/evotrain-cuda:1"},
    "evaluate": {"gpus": 1, "timeout_s": 3600},
}


def gpu_spec(tmp_path: Path) -> SubstrateSpec:
    data = yaml.safe_load((ROOT / "substrate/default/substrate.yaml").read_text())
    data["resources"] = GPU_RESOURCES
    (tmp_path / "substrate.yaml").write_text(yaml.safe_dump(data))
    return load_spec(tmp_path)


def test_default_substrate_still_loads_with_default_resources() -> None:
    spec = load_spec(ROOT / "substrate/default")
    assert spec.axes_file == "axes.yaml" and spec.recipe_file == "recipe.yaml"
    assert spec.resources.train.gpus == 0 and spec.resources.smoke.timeout_s is None


def test_resources_parse_and_bad_quantities_are_named(tmp_path: Path) -> None:
    spec = gpu_spec(tmp_path)
    assert spec.resources.validate_.timeout_s == 30
    assert spec.resources.train.image == "registry.example/evotrain-cuda:1"
    assert quantity_bytes("16Gi") == 16 * 2**30 and quantity_bytes("2G") == 2 * 10**9
    data = yaml.safe_load((tmp_path / "substrate.yaml").read_text())
    data["resources"]["train"]["memory"] = "lots"
    (tmp_path / "substrate.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(EvotrainError, match=r"resources\.train\.memory") as err:
        read_model(tmp_path / "substrate.yaml", SubstrateSpec)
    assert "\n" not in str(err.value)


class _Exec:
    python = "/opt/venv/bin/python"  # a remote executor's interpreter


def _tools(tmp_path: Path, spec: SubstrateSpec, job_timeout_s: float) -> JobTools:
    tools = JobTools.__new__(JobTools)  # only the spec-building half; no trace or state needed
    brief = SimpleNamespace(budget=SimpleNamespace(job_timeout_s=job_timeout_s), campaign="demo", round=1,
                            worker_id="w01", seed=0)
    tools.ctx = SimpleNamespace(spec=spec, brief=brief, sandbox=tmp_path, executor=_Exec(),
                                isolation=None)  # type: ignore[assignment]
    return tools


def test_job_specs_carry_the_substrates_resources(tmp_path: Path) -> None:
    tools = _tools(tmp_path, gpu_spec(tmp_path), job_timeout_s=20000)
    train = tools._job_spec("demo-r001-w01-a1", "train", tmp_path / "runs/a1", ["x"], tools._timeout("train"))
    assert (train.gpus, train.cpu_slots, train.memory, train.shm) == (1, 8, "64Gi", "16Gi")
    assert train.image == "registry.example/evotrain-cuda:1"
    assert train.timeout_s == 20000  # the substrate's 36000 s capped by the campaign's job budget
    assert train.env["OMP_NUM_THREADS"] == "8"
    smoke = tools._job_spec("demo-r001-w01-s1", "smoke", tmp_path / "runs/s1", ["x"], tools._timeout("smoke"))
    assert (smoke.gpus, smoke.cpu_slots, smoke.timeout_s, smoke.image) == (1, 4, 1800, None)
    command = tools._render(["{python}", "run.py", "--out", "{out}"], tmp_path / "o", job=True)
    assert command[0] == "/opt/venv/bin/python"  # {python} = the interpreter where the job runs
    default = _tools(tmp_path, load_spec(ROOT / "substrate/default"), job_timeout_s=600)
    assert default._timeout("smoke") == SMOKE_TIMEOUT_S and default._timeout("train") == 600
    assert default._job_spec("j", "train", tmp_path, ["x"], 600).gpus == 0


def test_kubernetes_job_requests_gpus_memory_and_shm(tmp_path: Path) -> None:
    pytest.importorskip("kubernetes_validate")
    from workers.executors.k8s_manifest import K8sJobOptions, build_job_manifest, validate_manifest

    spec = JobSpec(job_id="demo-r001-w01-a1", command=["python", "run.py"], cwd="/workspace/sandboxes/w01",
                   gpus=1, cpu_slots=8, memory="64Gi", shm="16Gi", image="img:cuda", timeout_s=3600)
    m = build_job_manifest(spec, K8sJobOptions(image="img:cpu"))
    validate_manifest(m, "1.30")
    c = m["spec"]["template"]["spec"]["containers"][0]
    assert c["resources"] == {"requests": {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "1"},
                              "limits": {"memory": "64Gi", "nvidia.com/gpu": "1"}}
    assert c["image"] == "img:cuda"
    shm = next(v for v in m["spec"]["template"]["spec"]["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": "16Gi"}
    assert {"name": "dshm", "mountPath": "/dev/shm"} in c["volumeMounts"]


def test_ray_task_resources() -> None:
    from workers.executors.ray_executor import task_resources

    spec = JobSpec(job_id="j", command=["x"], cwd="/", gpus=1, cpu_slots=2, memory="1Gi")
    assert task_resources(spec) == {"num_cpus": 2, "num_gpus": 1, "memory": 2**30}


def test_local_executor_assigns_gpu_ids_to_slots(tmp_path: Path) -> None:
    ex = LocalExecutor(tmp_path / "jobs", total_slots=2, total_gpus=2)
    hold = tmp_path / "release"
    script = f'echo "$CUDA_VISIBLE_DEVICES" > "$PWD/$JOB.gpu"; while [ ! -f {hold} ]; do sleep 0.05; done'
    for job in ("g1", "g2", "g3"):
        ex.submit(JobSpec(job_id=job, command=["sh", "-c", script], cwd=str(tmp_path), gpus=1, env={"JOB": job}))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all((tmp_path / f"{j}.gpu").exists() for j in ("g1", "g2")):
        time.sleep(0.05)
        ex.status("g1")
    seen = {(tmp_path / f"{j}.gpu").read_text().strip() for j in ("g1", "g2")}
    assert seen == {"0", "1"}  # one GPU each, never the same one
    assert ex.status("g3").state == JobState.PENDING  # both GPUs are held: the third waits
    hold.write_text("go")
    assert ex.wait("g3", poll_s=0.05, timeout_s=20).state == JobState.SUCCEEDED
    assert (tmp_path / "g3.gpu").read_text().strip() in {"0", "1"}
    ex.submit(JobSpec(job_id="cpu", command=["sh", "-c", script], cwd=str(tmp_path), env={"JOB": "cpu"}))
    assert ex.wait("cpu", poll_s=0.05, timeout_s=20).state == JobState.SUCCEEDED
    assert (tmp_path / "cpu.gpu").read_text() == "\n"  # a CPU job sees no GPU
    with pytest.raises(EvotrainError, match="field 'gpus'"):
        ex.submit(JobSpec(job_id="g9", command=["true"], cwd=str(tmp_path), gpus=3))
