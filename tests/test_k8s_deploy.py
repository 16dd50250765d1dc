"""deploy/kubernetes validates offline; rendered job pods are what a cluster admin accepts; and the job
lifecycle on a (kmock) cluster: GPU request, deadline counted from the container's start (not from
Pending), cancel, re-attach after an orchestrator restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("kmock")
pytest.importorskip("kubernetes_validate")

from test_executor_kubernetes import MOUNT, NS, FakeJobController, MockCluster

from workers.executors.base import JobSpec, JobState
from workers.executors.k8s_manifest import K8sJobOptions, build_job_manifest, validate_manifest
from workers.executors.kubernetes_executor import KubernetesExecutor

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "kubernetes"
K8S_VERSIONS = ("1.28", "1.30", "1.33")


def deploy_docs() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") != "Kustomization"]
    return docs


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in deploy_docs() if d["kind"] == kind]


# -- deploy/kubernetes (offline) --------------------------------------------------------------------

def test_every_deploy_manifest_validates() -> None:
    docs = deploy_docs()
    assert {d["kind"] for d in docs} >= {"Namespace", "ServiceAccount", "Role", "RoleBinding",
                                        "PersistentVolumeClaim", "NetworkPolicy", "Job"}
    for doc in docs:
        for version in K8S_VERSIONS:
            validate_manifest(doc, version)
    kustomize = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert sorted(kustomize["resources"]) == sorted(p.name for p in DEPLOY.glob("*.yaml")
                                                    if p.name != "kustomization.yaml")


def test_rbac_grants_what_the_executor_calls_and_no_more() -> None:
    (role,) = by_kind("Role")
    rights = {(r["apiGroups"][0], res): set(r["verbs"]) for r in role["rules"] for res in r["resources"]}
    assert rights[("batch", "jobs")] == {"create", "get", "list", "watch", "delete"}
    assert rights[("", "pods")] == {"get", "list", "watch"} and rights[("", "pods/log")] == {"get"}
    assert not any("secrets" in res for _, res in rights)  # the orchestrator never reads Secrets
    (binding,) = by_kind("RoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    (orch,) = by_kind("Job")
    assert orch["spec"]["template"]["spec"]["serviceAccountName"] == binding["subjects"][0]["name"]


def test_storage_and_network_policy() -> None:
    pvcs = {p["metadata"]["name"]: p for p in by_kind("PersistentVolumeClaim")}
    assert pvcs["evotrain-workspace"]["spec"]["accessModes"] == ["ReadWriteMany"]
    assert "evotrain-models" in pvcs
    (policy,) = by_kind("NetworkPolicy")
    assert policy["spec"]["podSelector"] == {"matchLabels": {"evotrain/role": "job"}}
    assert "Egress" in policy["spec"]["policyTypes"] and policy["spec"]["egress"] == []


def cluster_options(**kw: Any) -> K8sJobOptions:
    """The executor options a real campaign on the deploy/ manifests uses (docs/EXECUTORS.md)."""
    return K8sJobOptions.model_validate({
        "namespace": "evotrain", "image": "registry.example.com/evotrain-cuda:0.1.0", "pvc_name": "evotrain-workspace",
        "weights_pvc": "evotrain-models", "service_account": "evotrain-job", "python": "/opt/venv/bin/python",
        "node_selector": {"nvidia.com/gpu.present": "true"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "image_pull_secrets": ["regcred"], "secret_env": {"HF_TOKEN": {"name": "hf-token", "key": "token"}}, **kw})


def test_rendered_job_pod_is_hardened_and_matches_the_deploy_manifests() -> None:
    spec = JobSpec(job_id="demo-r001-w01-a1", command=["/opt/venv/bin/python", "run.py"], gpus=1, cpu_slots=8,
                   memory="64Gi", shm="16Gi", cwd="/workspace/sandboxes/demo/r001/w01", timeout_s=7200,
                   labels={"campaign": "demo", "round": "1", "worker": "w01"})
    m = build_job_manifest(spec, cluster_options())
    for version in K8S_VERSIONS:
        validate_manifest(m, version)
    pod = m["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    (policy,) = by_kind("NetworkPolicy")
    labels = m["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in policy["spec"]["podSelector"]["matchLabels"].items())
    assert pod["automountServiceAccountToken"] is False and pod["serviceAccountName"] == "evotrain-job"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 1000
    assert c["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert c["resources"]["limits"] == {"memory": "64Gi", "nvidia.com/gpu": "1"}
    hf = next(e for e in c["env"] if e["name"] == "HF_TOKEN")
    assert hf == {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "token"}}}
    writable = [v for v in c["volumeMounts"] if not v.get("readOnly")]
    assert [(v["name"], v["mountPath"]) for v in writable] == [
        ("workspace", "/workspace/sandboxes/demo/r001/w01"), ("tmp", "/tmp"), ("dshm", "/dev/shm")]
    assert {"name": "weights", "mountPath": "/models", "readOnly": True} in c["volumeMounts"]
    pvcs = {v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
    assert pvcs == {p["metadata"]["name"] for p in by_kind("PersistentVolumeClaim")}


# -- lifecycle on the kmock cluster ------------------------------------------------------------------

@pytest.fixture()
def cluster() -> Iterator[MockCluster]:
    with MockCluster() as c:
        yield c


def executor(tmp_path: Path, cluster: MockCluster) -> KubernetesExecutor:
    return KubernetesExecutor(tmp_path / "jobs", host=cluster.host, namespace=NS, mount_path=MOUNT,
                              image="img:1", pvc_name="evo-pvc", watch_window_s=1.0)


def gpu_spec(job_id: str, timeout_s: float = 1.0) -> JobSpec:
    return JobSpec(job_id=job_id, command=["python", "run.py"], cwd=f"{MOUNT}/sandboxes/demo/r001/w01", gpus=1,
                   timeout_s=timeout_s, labels={"campaign": "demo", "round": "1", "worker": "w01"})


def test_lifecycle_gpu_pending_past_timeout_then_container_timeout(tmp_path: Path, cluster: MockCluster) -> None:
    ex = executor(tmp_path, cluster)
    ex.submit(gpu_spec("gpu-1"))
    created = cluster.km.objects[cluster.km.resource("batch/v1/jobs"), NS, "gpu-1"]
    c = created["spec"]["template"]["spec"]["containers"][0]
    assert c["resources"]["limits"]["nvidia.com/gpu"] == "1" and c["command"][:4][-1] == "1s"
    time.sleep(1.5)  # waiting for a GPU node for longer than the job's 1 s timeout is not a timeout
    assert ex.wait("gpu-1", poll_s=0.1, timeout_s=1.0).state == JobState.PENDING
    ctl = FakeJobController(cluster)
    ctl.start_pod("gpu-1", exit_code=124)  # the container ran, and `timeout` stopped it at 1 s
    assert ex.status("gpu-1").state == JobState.RUNNING
    ctl.finish("gpu-1", "Failed", "BackoffLimitExceeded")
    st = ex.wait("gpu-1", poll_s=0.1, timeout_s=10)
    assert st.state == JobState.TIMEOUT and st.exit_code == 124 and "container's start" in st.message


def test_lifecycle_cancel_while_pending_and_reattach_after_restart(tmp_path: Path, cluster: MockCluster) -> None:
    ex = executor(tmp_path, cluster)
    ex.submit(gpu_spec("queued-1", timeout_s=600))
    assert ex.cancel("queued-1").state == JobState.CANCELLED  # never got a GPU: deleted, not left queued
    assert len([r for r in cluster.requests("DELETE") if r.url.path.endswith("/jobs/queued-1")]) == 1
    ex.submit(gpu_spec("long-1", timeout_s=600))
    FakeJobController(cluster).start_pod("long-1")
    del ex  # the orchestrator restarts
    again = executor(tmp_path, cluster)
    st = again.attach("long-1")
    assert st is not None and st.state == JobState.RUNNING
    assert again.submit(gpu_spec("long-1", timeout_s=600)).state == JobState.RUNNING  # no second Job
    assert len([r for r in cluster.requests("POST") if r.url.path.endswith("/jobs")]) == 2
    FakeJobController(cluster).finish("long-1", "Complete")
    assert again.wait("long-1", poll_s=0.1, timeout_s=10).state == JobState.SUCCEEDED
