"""Kubernetes executor: manifests validated offline; the real `kubernetes` client driven over HTTP
against a kmock KubernetesEmulator on 127.0.0.1 (no cluster). A tiny fake Job controller, using its
own client, plays the cluster's part: it creates the pod and moves the Job's status along.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

kmock = pytest.importorskip("kmock")
k8s = pytest.importorskip("kubernetes")
pytest.importorskip("kubernetes_validate")

from kubernetes import client  # noqa: E402

from evotrain.errors import EvotrainError  # noqa: E402
from workers.executors.base import JobSpec, JobState  # noqa: E402
from workers.executors.k8s_manifest import (  # noqa: E402
    DNS1123_LABEL,
    K8sJobOptions,
    build_job_manifest,
    job_name,
    validate_manifest,
)
from workers.executors.kubernetes_executor import KubernetesExecutor  # noqa: E402

NS = "evo"
MOUNT = "/workspace"
POD_LOG = "step 1 loss 2.0\nstep 2 loss 1.5\ndone\n"


class MockCluster:
    """A KubernetesEmulator served on loopback from a background event loop."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.km: Any = None
        self.port = 0
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        async with kmock.KubernetesEmulator() as km, kmock.Server(km, host="127.0.0.1") as srv:
            km.resources["batch/v1/jobs"] = {}
            km.resources["v1/pods"] = {}
            km[kmock.subresource("log")] << kmock.text(POD_LOG)
            self.km, self.port = km, srv.port
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> MockCluster:
        self._thread.start()
        assert self._ready.wait(10), "mock server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self) -> client.ApiClient:
        cfg = client.Configuration()
        cfg.host = self.host
        return client.ApiClient(cfg)

    def requests(self, method: str) -> list[Any]:
        return [r for r in list(self.km) if str(r.method.value).upper() == method]


class FakeJobController:
    """Does what the cluster's Job controller and kubelet would: a pod, then status changes."""

    def __init__(self, cluster: MockCluster) -> None:
        api = cluster.api()
        self.batch, self.core = client.BatchV1Api(api), client.CoreV1Api(api)

    def start_pod(self, job: str, exit_code: int | None = None) -> None:
        state = {"terminated": {"exitCode": exit_code}} if exit_code is not None else {"running": {}}
        self.core.create_namespaced_pod(NS, {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{job}-x1", "namespace": NS, "labels": {"job-name": job},
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "job", "image": "x"}]},
            "status": {"containerStatuses": [{"name": "job", "image": "x", "imageID": "", "ready": False,
                                              "restartCount": 0, "state": state}]},
        })
        self.batch.patch_namespaced_job_status(job, NS, {"status": {"active": 1, "startTime": "2026-01-01T00:00:01Z"}})

    def finish(self, job: str, cond: str, reason: str = "") -> None:
        c = {"type": cond, "status": "True", "lastTransitionTime": "2026-01-01T00:00:09Z"}
        if reason:
            c["reason"] = reason
        self.batch.patch_namespaced_job_status(job, NS, {"status": {"active": 0, "conditions": [c]}})


@pytest.fixture()
def cluster() -> Iterator[MockCluster]:
    with MockCluster() as c:
        yield c


def make_spec(job_id: str, **kw: Any) -> JobSpec:
    return JobSpec(job_id=job_id, command=["python", "train.py"], cwd=f"{MOUNT}/sandboxes/demo/r001/w01",
                   labels={"campaign": "demo", "round": "1", "worker": "w01"}, timeout_s=900, **kw)


def make_executor(tmp_path: Path, cluster: MockCluster, watch_window_s: float = 2.0) -> KubernetesExecutor:
    return KubernetesExecutor(tmp_path / "jobs", host=cluster.host, namespace=NS, mount_path=MOUNT,
                              image="registry.local/evotrain:1", pvc_name="evo-pvc", watch_window_s=watch_window_s)


# -- manifests (offline) ---------------------------------------------------------------------------

def test_manifest_has_the_required_shape_and_validates() -> None:
    opts = K8sJobOptions(namespace=NS, pvc_name="evo-pvc", mount_path=MOUNT, image="img:1")
    m = build_job_manifest(make_spec("demo-r001-w01-a1", gpus=2, cpu_slots=4), opts)
    assert validate_manifest(m, "1.30") == "1.30"
    js, pod = m["spec"], m["spec"]["template"]["spec"]
    c = pod["containers"][0]
    # the deadline is `timeout` in the container (counted from its start); activeDeadlineSeconds is a
    # backstop that also allows the default 6 h of Pending for a GPU node
    assert c["command"][:4] == ["timeout", "--signal=TERM", "--kill-after=5", "900s"]
    assert c["command"][4:] == ["python", "train.py"]
    assert (js["backoffLimit"], js["activeDeadlineSeconds"], js["ttlSecondsAfterFinished"]) == (0, 900 + 65 + 21600,
                                                                                                3600)
    assert m["metadata"]["labels"] == {"evotrain/campaign": "demo", "evotrain/round": "1", "evotrain/worker": "w01"}
    assert c["resources"]["requests"] == {"cpu": "4", "nvidia.com/gpu": "2"}
    assert c["resources"]["limits"] == {"nvidia.com/gpu": "2"}
    assert c["workingDir"] == "/workspace/sandboxes/demo/r001/w01"
    assert c["volumeMounts"][:2] == [
        {"name": "workspace", "mountPath": MOUNT, "readOnly": True},
        {"name": "workspace", "mountPath": "/workspace/sandboxes/demo/r001/w01", "subPath": "sandboxes/demo/r001/w01"}]
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "evo-pvc"
    assert {"name": "OMP_NUM_THREADS", "value": "4"} in c["env"]
    cpu_only = build_job_manifest(make_spec("cpu-only"), opts)
    assert "limits" not in cpu_only["spec"]["template"]["spec"]["containers"][0]["resources"]
    for version in ("1.28", "1.33"):
        validate_manifest(cpu_only, version)


@pytest.mark.parametrize("job_id", ["demo-r001-w01-a1", "Demo_R001.W01", "x" * 200, "a..b", "9-lives"])
def test_job_names_are_dns1123(job_id: str) -> None:
    name = job_name(job_id)
    assert DNS1123_LABEL.fullmatch(name) and len(name) <= 63
    assert job_name(job_id) == name  # deterministic


def test_lossy_names_do_not_collide() -> None:
    assert len({job_name("a_b"), job_name("a.b"), job_name("A-b"), job_name("a-b")}) == 4


def test_invalid_manifest_is_a_one_line_error() -> None:
    m = build_job_manifest(make_spec("bad-1"), K8sJobOptions(mount_path=MOUNT))
    m["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = {"nested": 1}
    with pytest.raises(EvotrainError, match=r"field 'spec\.template\.spec\.containers\.0\.resources") as err:
        validate_manifest(m, "1.30")
    assert "\n" not in str(err.value)
    m2 = build_job_manifest(make_spec("bad-2"), K8sJobOptions(mount_path=MOUNT))
    m2["spec"]["unknownField"] = 1
    with pytest.raises(EvotrainError, match="unknownField"):
        validate_manifest(m2, "1.30")
    with pytest.raises(EvotrainError, match="field 'cwd'"):
        build_job_manifest(make_spec("bad-3"), K8sJobOptions(mount_path="/elsewhere"))
    with pytest.raises(EvotrainError, match=r"field 'labels\.Bad Key'"):
        bad_label = make_spec("bad-4").model_copy(update={"labels": {"Bad Key": "x"}})
        build_job_manifest(bad_label, K8sJobOptions(mount_path=MOUNT))


# -- the flow through the real client against the loopback mock -----------------------------------

def test_submit_watch_logs_success(tmp_path: Path, cluster: MockCluster) -> None:
    ex = make_executor(tmp_path, cluster, watch_window_s=30.0)  # only a watch event can end wait early
    ctl = FakeJobController(cluster)
    ctl.core.create_namespaced_pod(NS, {  # another job's pod: its logs must never be returned for ours
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "other-pod", "namespace": NS, "labels": {"job-name": "other"}},
        "spec": {"containers": [{"name": "job", "image": "x"}]}})
    st = ex.submit(make_spec("ok-1"))
    assert st.state == JobState.PENDING
    created = cluster.km.objects[cluster.km.resource("batch/v1/jobs"), NS, "ok-1"]
    assert created["metadata"]["labels"]["evotrain/worker"] == "w01"
    assert created["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.local/evotrain:1"

    def controller() -> None:
        time.sleep(0.3)
        ctl.start_pod("ok-1", exit_code=0)
        time.sleep(0.3)
        ctl.finish("ok-1", "Complete")

    t = threading.Thread(target=controller)
    t.start()
    t0 = time.monotonic()
    done = ex.wait("ok-1", poll_s=0.1, timeout_s=20)
    t.join()
    assert done.state == JobState.SUCCEEDED and done.exit_code == 0
    assert time.monotonic() - t0 < 8  # woken by the watch event, not by the 30 s watch window
    assert any(r.params.get("watch") == "true" for r in cluster.requests("GET"))
    assert ex.logs("ok-1") == POD_LOG
    assert ex.logs("ok-1", tail=1) == "done\n"
    assert (tmp_path / "jobs" / "ok-1" / "job.log").read_text() == POD_LOG  # kept past the Job's TTL


@pytest.mark.parametrize(("cond", "reason", "state", "exit_code"), [
    ("Failed", "DeadlineExceeded", JobState.TIMEOUT, 137),
    ("Failed", "BackoffLimitExceeded", JobState.FAILED, 3),
])
def test_failed_conditions_map_to_states(tmp_path: Path, cluster: MockCluster, cond: str, reason: str,
                                         state: JobState, exit_code: int) -> None:
    ex = make_executor(tmp_path, cluster)
    ctl = FakeJobController(cluster)
    ex.submit(make_spec("bad-1"))
    ctl.start_pod("bad-1", exit_code=exit_code)
    assert ex.status("bad-1").state == JobState.RUNNING
    ctl.finish("bad-1", cond, reason)
    st = ex.wait("bad-1", poll_s=0.1, timeout_s=10)
    assert st.state == state and st.exit_code == exit_code and reason in st.message


def test_idempotent_submit_and_reattach(tmp_path: Path, cluster: MockCluster) -> None:
    ex = make_executor(tmp_path, cluster)
    ex.submit(make_spec("idem-1"))
    ex.submit(make_spec("idem-1"))
    again = make_executor(tmp_path, cluster)  # a restarted orchestrator
    assert again.submit(make_spec("idem-1")).state == JobState.PENDING
    posts = [r for r in cluster.requests("POST") if r.url.path.endswith("/jobs")]
    assert len(posts) == 1
    # died between creating the Job and recording it: the 409 on re-create means "re-attach"
    (tmp_path / "jobs" / "idem-1" / "k8s.json").unlink()
    assert again.submit(make_spec("idem-1")).state == JobState.PENDING
    FakeJobController(cluster).start_pod("idem-1")
    attached = make_executor(tmp_path, cluster).attach("idem-1")
    assert attached is not None and attached.state == JobState.RUNNING
    t0 = time.monotonic()  # an idle watch ends at its timeout and wait returns the live status
    assert ex.wait("idem-1", poll_s=0.1, timeout_s=1.5).state == JobState.RUNNING
    assert 1.4 <= time.monotonic() - t0 < 8
    assert ex.attach("never") is None
    with pytest.raises(EvotrainError, match="different spec"):
        ex.submit(make_spec("idem-1", cpu_slots=2))


def test_job_recorded_while_the_api_was_down_is_created_later(tmp_path: Path, cluster: MockCluster) -> None:
    down = KubernetesExecutor(tmp_path / "jobs", host="http://127.0.0.1:9", namespace=NS, mount_path=MOUNT)
    down.api_client.configuration.retries = 0
    with pytest.raises(EvotrainError, match="create Job late-1"):
        down.submit(make_spec("late-1"))
    assert make_executor(tmp_path, cluster).status("late-1").state == JobState.PENDING
    assert cluster.km.objects[cluster.km.resource("batch/v1/jobs"), NS, "late-1"]["metadata"]["name"] == "late-1"


def test_cancel_deletes_with_propagation(tmp_path: Path, cluster: MockCluster) -> None:
    ex = make_executor(tmp_path, cluster)
    ex.submit(make_spec("stop-1"))
    FakeJobController(cluster).start_pod("stop-1")
    assert ex.logs("stop-1") == POD_LOG  # live logs from the pod found by its job-name label
    st = ex.cancel("stop-1")
    assert st.state == JobState.CANCELLED
    deletes = cluster.requests("DELETE")
    assert len(deletes) == 1 and re.search(r"/namespaces/evo/jobs/stop-1$", deletes[0].url.path)
    assert (deletes[0].params.get("propagationPolicy") or (deletes[0].data or {}).get("propagationPolicy")) \
        == "Foreground"
    with pytest.raises(client.ApiException) as gone:
        client.BatchV1Api(cluster.api()).read_namespaced_job("stop-1", NS)
    assert gone.value.status == 404
    assert ex.status("stop-1").state == JobState.CANCELLED  # stays cancelled, not "vanished"


def test_unreachable_cluster_is_a_one_line_error(tmp_path: Path) -> None:
    ex = KubernetesExecutor(tmp_path / "jobs", host="http://127.0.0.1:9", namespace=NS, mount_path=MOUNT)
    ex.api_client.configuration.retries = 0
    with pytest.raises(EvotrainError, match=r"kubernetes: create Job down-1 at http://127\.0\.0\.1:9") as err:
        ex.submit(make_spec("down-1"))
    assert "\n" not in str(err.value)
    assert not (tmp_path / "jobs" / "down-1" / "k8s.json").exists()  # a retry will create it


def test_bad_options_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(EvotrainError, match="executor options: field 'ttl_seconds_after_finished'"):
        KubernetesExecutor(tmp_path / "jobs", host="http://127.0.0.1:9", ttl_seconds_after_finished=-1)
    with pytest.raises(EvotrainError, match="executor options: field 'nmespace'"):
        KubernetesExecutor(tmp_path / "jobs", host="http://127.0.0.1:9", nmespace="typo")
