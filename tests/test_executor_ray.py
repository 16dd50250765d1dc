"""Ray executor on a local Ray (num_cpus=2), checked against the local executor. Ray takes ~15 s to
start on 2 shared cores, so these are slow tests; one Ray instance serves the whole module."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

ray = pytest.importorskip("ray")

from evotrain.errors import EvotrainError  # noqa: E402
from evotrain.io import write_model  # noqa: E402
from workers.executors.base import JobSpec, JobState, JobStatus  # noqa: E402
from workers.executors.job_files import ProcessRef, is_alive, job_files  # noqa: E402
from workers.executors.local import LocalExecutor  # noqa: E402
from workers.executors.ray_executor import RayExecutor, RayTaskRecord  # noqa: E402

pytestmark = pytest.mark.slow

POLL = 0.1
# Deterministic, seeded work that writes a result file in its cwd (no torch: 8 jobs on 2 cores).
SCRIPT = """
import hashlib, json, os, random, sys
seed = int(sys.argv[1])
rng = random.Random(seed)
xs = [rng.random() for _ in range(100000)]
inside = sum(1 for a, b in zip(xs[::2], xs[1::2]) if a * a + b * b <= 1.0)
out = {"seed": seed, "pi": 4 * inside / len(xs[::2]),
       "digest": hashlib.sha256(repr(xs).encode()).hexdigest(), "threads": os.environ["OMP_NUM_THREADS"]}
open("result.json", "w").write(json.dumps(out, sort_keys=True))
print("pi", out["pi"])
"""


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=100 * 1024 * 1024)
    yield
    ray.shutdown()


def seeded_spec(job_id: str, cwd: Path, seed: int) -> JobSpec:
    cwd.mkdir(parents=True, exist_ok=True)
    return JobSpec(job_id=job_id, command=[sys.executable, "-c", SCRIPT, str(seed)], cwd=str(cwd), timeout_s=120)


def test_ray_results_equal_local_results(tmp_path: Path, ray_session: None) -> None:
    seeds = [11, 22, 33, 44]
    local = LocalExecutor(tmp_path / "local-jobs", total_slots=2)
    rayx = RayExecutor(tmp_path / "ray-jobs", num_cpus=2)
    for backend, ex in (("local", local), ("ray", rayx)):
        for s in seeds:
            ex.submit(seeded_spec(f"seed-{s}", tmp_path / backend / f"w{s}", s))
    for backend, ex in (("local", local), ("ray", rayx)):
        for s in seeds:
            st = ex.wait(f"seed-{s}", poll_s=POLL, timeout_s=120)
            assert st.state == JobState.SUCCEEDED and st.exit_code == 0, (backend, st)
    results = {}
    for s in seeds:
        a = (tmp_path / "local" / f"w{s}" / "result.json").read_bytes()
        b = (tmp_path / "ray" / f"w{s}" / "result.json").read_bytes()
        assert a == b
        assert local.logs(f"seed-{s}") == rayx.logs(f"seed-{s}") != ""
        results[s] = json.loads(a)
    assert len({r["digest"] for r in results.values()}) == 4  # the seeds really differ
    # and the Ray jobs really ran in Ray worker processes, not in this driver
    ray_pid = job_files(tmp_path / "ray-jobs", "seed-11").read_optional(
        job_files(tmp_path / "ray-jobs", "seed-11").pid, ProcessRef)
    assert isinstance(ray_pid, ProcessRef) and ray_pid.pid != os.getpid()
    assert ray_pid.pid in {w.pid for w in psutil.Process(os.getpid()).children(recursive=True)} or \
        "ray" in " ".join(psutil.Process(ray_pid.pid).cmdline())
    assert all(r["threads"] == "1" for r in results.values())
    assert all(abs(r["pi"] - 3.14159) < 0.05 for r in results.values())


def test_ray_cpu_slots_are_resources(tmp_path: Path, ray_session: None) -> None:
    ex = RayExecutor(tmp_path / "jobs")
    script = "s=$(date +%s.%N); sleep 0.4; e=$(date +%s.%N); echo $s $e > {name}.t"
    ids = [f"wide-{i}" for i in range(3)]
    for job_id in ids:  # each job takes both CPUs of the Ray instance: they must run one at a time
        ex.submit(JobSpec(job_id=job_id, command=["sh", "-c", script.format(name=job_id)], cwd=str(tmp_path),
                          cpu_slots=2))
    for job_id in ids:
        assert ex.wait(job_id, poll_s=POLL, timeout_s=60).state == JobState.SUCCEEDED
    spans = sorted(tuple(float(x) for x in (tmp_path / f"{j}.t").read_text().split()) for j in ids)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, f"jobs overlapped: {spans}"
    with pytest.raises(EvotrainError, match="field 'cpu_slots'"):
        ex.submit(JobSpec(job_id="too-wide", command=["true"], cwd=str(tmp_path), cpu_slots=3))
    with pytest.raises(EvotrainError, match="field 'gpus'"):
        ex.submit(JobSpec(job_id="gpu-job", command=["true"], cwd=str(tmp_path), gpus=1))


def test_ray_failure_timeout_cancel_and_reattach(tmp_path: Path, ray_session: None) -> None:
    ex = RayExecutor(tmp_path / "jobs", kill_grace_s=3.0)

    def sh(job_id: str, script: str, **kw: object) -> JobSpec:
        return JobSpec(job_id=job_id, command=["sh", "-c", script], cwd=str(tmp_path), **kw)

    ex.submit(sh("fail", "echo nope; exit 5"))
    ex.submit(sh("hang", "sleep 60", timeout_s=1.0))
    once = sh("once", "echo x >> counter.txt; sleep 0.5")
    ex.submit(once)
    ex.submit(once)
    failed = ex.wait("fail", poll_s=POLL, timeout_s=60)
    assert failed.state == JobState.FAILED and failed.exit_code == 5 and ex.logs("fail") == "nope\n"
    assert ex.wait("hang", poll_s=POLL, timeout_s=60).state == JobState.TIMEOUT
    assert ex.wait("once", poll_s=POLL, timeout_s=60).state == JobState.SUCCEEDED
    assert ex.submit(once).state == JobState.SUCCEEDED
    assert (tmp_path / "counter.txt").read_text() == "x\n"

    ex.submit(sh("stop", "echo up > up.txt; sleep 60"))
    deadline = time.monotonic() + 30
    while not (tmp_path / "up.txt").exists() and time.monotonic() < deadline:
        time.sleep(POLL)
    fresh = RayExecutor(tmp_path / "jobs")  # another executor in this driver re-attaches
    attached = fresh.attach("stop")
    assert attached is not None and attached.state == JobState.RUNNING
    assert fresh.attach("once") == ex.status("once")
    assert fresh.cancel("stop").state == JobState.CANCELLED
    files = job_files(tmp_path / "jobs", "stop")
    child = files.read_optional(files.child, ProcessRef)
    assert isinstance(child, ProcessRef) and not is_alive(child)
    assert fresh.attach("never") is None


def test_job_of_a_dead_driver_is_lost_not_restarted(tmp_path: Path, ray_session: None) -> None:
    ex = RayExecutor(tmp_path / "jobs")
    dead = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    driver = ProcessRef(pid=dead.pid, create_time=psutil.Process(dead.pid).create_time())
    dead.wait()
    files = job_files(tmp_path / "jobs", "orphan")
    files.dir.mkdir(parents=True)
    write_model(files.spec, JobSpec(job_id="orphan", command=["touch", "ran.txt"], cwd=str(tmp_path)))
    files.write_status(JobStatus(job_id="orphan", state=JobState.PENDING, submitted_at=time.time()))
    write_model(files.dir / "ray.json", RayTaskRecord(driver=driver, submitted_at=time.time()))
    st = ex.submit(JobSpec(job_id="orphan", command=["touch", "ran.txt"], cwd=str(tmp_path)))
    assert st.state == JobState.FAILED and st.message.startswith("lost")
    time.sleep(0.5)
    assert not (tmp_path / "ran.txt").exists()
