"""Ray Jobs executor: jobs outlive the orchestrator. Against a real local Ray head (`ray start --head
--block` on 127.0.0.1 with the dashboard, which serves the Jobs API): submit from an orchestrator
process, SIGKILL it while the job runs, resume from a new one: the job is re-attached (never "lost"),
runs exactly once and its result is collected. The head is stopped by killing the process group this
test started (never `ray stop`, which would stop every Ray on the machine).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from workers.executors.base import JobSpec, JobState
from workers.executors.ray_jobs_executor import entrypoint_options

ROOT = Path(__file__).resolve().parents[1]
RAY = Path(sys.executable).parent / "ray"


def test_entrypoint_asks_for_the_jobs_gpus_and_memory() -> None:
    spec = JobSpec(job_id="demo-r001-w01-a1", command=["python", "run.py"], cwd="/ws/sb", gpus=1, cpu_slots=4,
                   memory="2Gi", labels={"campaign": "demo"})
    opts = entrypoint_options(spec, "/opt/venv/bin/python", Path("/ws/jobs/demo-r001-w01-a1"),
                              {"env_vars": {"HF_HOME": "/models"}}, "demo-r001-w01-a1-0a1b2c3d")
    assert opts["submission_id"] == "demo-r001-w01-a1-0a1b2c3d"  # idempotent: job id + the table's nonce
    assert (opts["entrypoint_num_gpus"], opts["entrypoint_num_cpus"], opts["entrypoint_memory"]) == (1, 4, 2 << 30)
    assert opts["entrypoint"] == "/opt/venv/bin/python -m workers.executors.job_wrapper /ws/jobs/demo-r001-w01-a1"
    assert opts["runtime_env"]["env_vars"]["HF_HOME"] == "/models"
    assert opts["runtime_env"]["env_vars"]["OMP_NUM_THREADS"] == "4"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(head: subprocess.Popen[bytes]) -> None:
    """Stop the process group this test started (raylet, GCS, dashboard are all in it)."""
    for sig, grace in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(head.pid, sig)
        except ProcessLookupError:
            return
        try:
            head.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _start_head() -> tuple[subprocess.Popen[bytes] | None, str, str]:
    """(head process, Jobs API address, failure text); the process is None when it did not come up."""
    from ray.job_submission import JobSubmissionClient

    temp = tempfile.mkdtemp(prefix="evray", dir="/tmp")  # short: Ray's socket paths must fit in 107 chars
    ports = {name: _free_port() for name in ("port", "dashboard-port", "dashboard-agent-listen-port",
                                             "dashboard-agent-grpc-port", "node-manager-port",
                                             "object-manager-port", "runtime-env-agent-port", "metrics-export-port",
                                             "ray-client-server-port", "min-worker-port")}
    ports["max-worker-port"] = ports["min-worker-port"] + 50
    cmd = [str(RAY), "start", "--head", "--block", "--node-ip-address=127.0.0.1", "--num-cpus=1", "--num-gpus=0",
           "--include-dashboard=true", "--dashboard-host=127.0.0.1", "--disable-usage-stats",
           f"--temp-dir={temp}", "--object-store-memory=100000000",
           *[f"--{k}={v}" for k, v in ports.items()]]
    # no drain on SIGTERM: Ray's default waits up to 30 s for a draining raylet (meant for Serve replicas)
    # before it stops the node, which this head (no Serve) only spends as teardown time
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}
    with open(Path(temp) / "head.log", "wb") as log:
        head = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    address = f"http://127.0.0.1:{ports['dashboard-port']}"
    deadline = time.monotonic() + 150
    while True:  # ready = a probe job is accepted (the job agent starts after the dashboard)
        if head.poll() is not None:
            _stop(head)
            return None, address, (Path(temp) / "head.log").read_text()[-1500:]
        try:
            JobSubmissionClient(address).submit_job(entrypoint="true", submission_id="probe")
            return head, address, ""
        except Exception as exc:
            if time.monotonic() > deadline:
                _stop(head)
                return None, address, f"the Jobs API did not accept a job within 150 s: {exc}"
            time.sleep(1.0)


def _reset_ray_auth() -> None:
    """Make this process's Ray client re-read RAY_AUTH_* (Ray caches the mode and the token)."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


@pytest.fixture(scope="module")
def ray_auth() -> Iterator[None]:
    """Token authentication with a token of our own, for the head, this process and the orchestrator.

    Ray 2.60 turns token auth on for any `ray start --head` once ~/.ray/auth_token exists, and a local
    `ray.init()` (tests/test_executor_ray.py, earlier in the same run) writes that file and switches its
    own process to token mode. Left implicit, the head and the client disagreed depending on what ran
    before (401 "Missing authentication token" in a plain run of this file). Explicit, the test no longer
    depends on ~/.ray, and it exercises what a real token-auth cluster needs (RAY_AUTH_MODE=token and
    RAY_AUTH_TOKEN in the orchestrator's environment; docs/EXECUTORS.md).
    """
    if os.environ.get("EVOTRAIN_TEST_RAY_ADDRESS"):  # your own head: your RAY_AUTH_* environment applies
        yield
        return
    from ray._private.authentication.authentication_token_generator import generate_new_authentication_token

    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")}
    os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
    os.environ.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": generate_new_authentication_token()})
    _reset_ray_auth()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        _reset_ray_auth()


@pytest.fixture(scope="module")
def ray_head(ray_auth: None) -> Iterator[str]:
    pytest.importorskip("ray.dashboard")
    if os.environ.get("EVOTRAIN_TEST_RAY_ADDRESS"):  # a head you started (`ray start --head --include-dashboard`)
        yield os.environ["EVOTRAIN_TEST_RAY_ADDRESS"]
        return
    failures = []
    for _ in range(3):  # on a loaded 2-core box the raylet sometimes gives up waiting for its dashboard agent
        head, address, failure = _start_head()
        if head is not None:
            break
        failures.append(failure)
    else:
        pytest.fail("ray start --head failed 3 times; last: " + failures[-1])
    try:
        yield address
    finally:
        _stop(head)


ORCHESTRATOR = textwrap.dedent("""
    import sys, time
    from workers.executors.factory import make_executor
    from workers.executors.base import JobSpec
    state, cwd, address = sys.argv[1:4]
    ex = make_executor("ray", state, address=address)
    spec = JobSpec(job_id="demo-r001-w01-a1", cwd=cwd, timeout_s=300, command=["sh", "-c",
        "echo run >> runs.txt; while [ ! -f release ]; do sleep 0.2; done; echo trained > result.txt; echo done"])
    ex.submit(spec)
    print("submitted", flush=True)
    while True:
        time.sleep(1)
        ex.status(spec.job_id)
""")


@pytest.mark.slow
def test_job_survives_an_orchestrator_kill_and_runs_once(ray_head: str, tmp_path: Path) -> None:
    from workers.executors.factory import make_executor

    state, work = tmp_path / "jobs", tmp_path / "sandbox"
    work.mkdir()
    orch = subprocess.Popen([sys.executable, "-c", ORCHESTRATOR, str(state), str(work), ray_head], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (work / "runs.txt").exists():  # the job's command is running on the cluster
            assert orch.poll() is None, orch.stdout.read().decode() if orch.stdout else ""
            assert time.monotonic() < deadline, "the Ray job did not start within 120 s"
            time.sleep(0.5)
        os.kill(orch.pid, signal.SIGKILL)  # the orchestrator dies; the Ray job must not
        orch.wait(10)
    finally:
        if orch.poll() is None:
            os.kill(orch.pid, signal.SIGKILL)
    ex = make_executor("ray", state, address=ray_head)  # the resumed orchestrator
    attached = ex.attach("demo-r001-w01-a1")
    assert attached is not None and attached.state == JobState.RUNNING, attached
    spec = JobSpec.model_validate_json((state / "demo-r001-w01-a1" / "spec.json").read_text())
    assert ex.submit(spec).state == JobState.RUNNING  # resubmitting the same id re-attaches
    (work / "release").write_text("go")
    done = ex.wait("demo-r001-w01-a1", poll_s=0.5, timeout_s=120)
    assert done.state == JobState.SUCCEEDED and done.exit_code == 0, done
    assert (work / "runs.txt").read_text() == "run\n"  # ran exactly once
    assert (work / "result.txt").read_text() == "trained\n"
    assert ex.logs("demo-r001-w01-a1", tail=1) == "done\n"
    submissions = [j.submission_id for j in ex.client.list_jobs()]  # type: ignore[attr-defined]
    assert submissions.count(ex.submission_id("demo-r001-w01-a1")) == 1  # type: ignore[attr-defined]
    # a new campaign reusing the name (a fresh job table) gets its own submission ids
    assert make_executor("ray", tmp_path / "other", address=ray_head).submission_id("demo-r001-w01-a1") \
        != ex.submission_id("demo-r001-w01-a1")  # type: ignore[attr-defined]
