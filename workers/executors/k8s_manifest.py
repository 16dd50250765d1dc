"""Build and validate the batch/v1 Job manifest for one evotrain job (no cluster needed).

Validation is offline: `kubernetes-validate` ships the JSON Schemas of each Kubernetes minor
version, so a manifest is checked against the chosen version's strict schema before it is sent.

The pod is what a cluster admin expects of untrusted code: non-root, read-only root filesystem, no
service-account token, all capabilities dropped; the workspace PVC is mounted read-only and only the
job's own sandbox (a subPath of it) is writable, plus /tmp and a memory-backed /dev/shm. Secrets come
by reference (`secretKeyRef`), never as literals. The command runs under coreutils `timeout`, so the
job's deadline counts from when its container starts; `activeDeadlineSeconds` is only a backstop that
also allows `max_pending_s` for waiting on a GPU node and pulling the image.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import PurePosixPath
from typing import Any

from pydantic import Field

from evotrain.errors import EvotrainError
from evotrain.schemas.common import Artifact
from workers.executors.base import JobSpec
from workers.executors.job_files import job_env
from workers.executors.job_wrapper import KILL_AFTER_S
from workers.isolation import INPUTS_ROOT

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
LABEL_PREFIX = "evotrain/"
# Job names stay <= 63 chars: the controller copies them into the pods' `job-name` label.
MAX_JOB_NAME = 63
# Every job pod carries this label: deploy/kubernetes/networkpolicy.yaml denies their egress by it.
ROLE_LABEL = {"evotrain/role": "job"}
# coreutils `timeout` exits 124 when it stopped the command at its deadline.
TIMEOUT_EXIT_CODE = 124


class SecretKeyRef(Artifact):
    """An env var taken from a Secret's key (`{name: hf-token, key: token}`): never a literal value."""

    name: str
    key: str


class Toleration(Artifact):
    key: str | None = None
    operator: str = "Equal"
    value: str | None = None
    effect: str | None = None


class K8sJobOptions(Artifact):
    """How evotrain jobs map onto a cluster (executor options `namespace=`, `image=`, `pvc_name=`...)."""

    namespace: str = "default"
    image: str = "evotrain-substrate:latest"
    image_pull_policy: str = "IfNotPresent"
    pvc_name: str = "evotrain-workspace"
    # Where the PVC is mounted; the sandbox (spec.cwd) must be under it, at the same path as on the
    # orchestrator's host, so paths in recipes and manifests mean the same inside the pod.
    mount_path: str = "/workspace"
    ttl_seconds_after_finished: int = Field(default=3600, ge=0)
    k8s_version: str = "1.30"
    gpu_resource: str = "nvidia.com/gpu"
    service_account: str | None = None
    memory_request: str | None = None  # used when the job (its substrate) names no memory
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)
    image_pull_secrets: list[str] = Field(default_factory=list)
    secret_env: dict[str, SecretKeyRef] = Field(default_factory=dict)  # e.g. HF_TOKEN -> Secret hf-token/token
    # A PVC with model weights, mounted read-only (jobs read a base model from it, never download it).
    weights_pvc: str | None = None
    weights_mount_path: str = "/models"
    # `{python}` in substrate commands: the interpreter inside the image (deploy/docker puts it on PATH).
    python: str = "python"
    run_as_user: int = Field(default=1000, ge=1)
    max_pending_s: int = Field(default=6 * 3600, ge=0)  # time a Job may wait for a node before it fails


def job_name(job_id: str) -> str:
    """A valid DNS-1123 name for `job_id`, deterministic; a hash suffix keeps lossy mappings distinct."""
    base = re.sub(r"[^a-z0-9-]+", "-", job_id.lower()).strip("-") or "job"
    if base == job_id and len(base) <= MAX_JOB_NAME:
        return base
    digest = hashlib.sha1(job_id.encode()).hexdigest()[:10]
    return f"{base[: MAX_JOB_NAME - 11].rstrip('-')}-{digest}"


def label_value(value: str) -> str:
    """Squeeze a string into a valid label value (<= 63 chars, alphanumeric at both ends)."""
    v = re.sub(r"[^A-Za-z0-9_.-]+", "-", value)[:63]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", v)


def job_labels(spec: JobSpec) -> dict[str, str]:
    """spec.labels (campaign/round/worker...) as `evotrain/<key>` labels."""
    labels: dict[str, str] = {}
    for key, value in sorted(spec.labels.items()):
        name = key.removeprefix(LABEL_PREFIX)
        if not DNS1123_LABEL.fullmatch(name) or len(name) > 63:
            raise EvotrainError(f"job {spec.job_id}: field 'labels.{key}': not a valid label name")
        labels[LABEL_PREFIX + name] = label_value(value)
    return labels


def _check_under_mount(spec: JobSpec, opts: K8sJobOptions) -> None:
    cwd, mount = PurePosixPath(spec.cwd), PurePosixPath(opts.mount_path)
    if not cwd.is_absolute() or not (cwd == mount or mount in cwd.parents):
        raise EvotrainError(
            f"job {spec.job_id}: field 'cwd': {spec.cwd} is not under the volume mount path {opts.mount_path}"
        )


def _resources(spec: JobSpec, opts: K8sJobOptions) -> dict[str, dict[str, str]]:
    requests: dict[str, str] = {"cpu": str(spec.cpu_slots)}
    limits: dict[str, str] = {}
    memory = spec.memory or opts.memory_request
    if memory:  # request = limit: the pod is never OOM-killed for what the scheduler promised it
        requests["memory"] = limits["memory"] = memory
    if spec.gpus > 0:  # extended resources must be in limits; requests, if given, must equal them
        requests[opts.gpu_resource] = limits[opts.gpu_resource] = str(spec.gpus)
    return {"requests": requests, **({"limits": limits} if limits else {})}


def _confined_mounts(spec: JobSpec, opts: K8sJobOptions) -> list[dict[str, Any]]:
    """With `spec.isolation` the pod sees what bubblewrap would show of the workspace, nothing more: its
    writable paths read-write, its extra read-only paths read-only (each a subPath), never the whole volume,
    so a worker's pod cannot read campaign state (the leaderboard's hidden split) and the leaderboard's
    evaluation pod sees only its checkout, adapter and split half. Paths off the volume are not mountable
    from it (the image or the weights PVC must provide them), as without isolation."""
    iso, mount = spec.isolation, PurePosixPath(opts.mount_path)
    assert iso is not None
    mounts: list[dict[str, Any]] = []
    for paths, read_only in ((iso.writable, False), (iso.extra_readonly, True)):
        for p in map(PurePosixPath, paths):
            if mount in p.parents:
                mounts.append({"name": "workspace", "mountPath": str(p), "subPath": str(p.relative_to(mount)),
                               **({"readOnly": True} if read_only else {})})
    for name, host in sorted(iso.inputs.items()):  # data inputs, read-only where EVOTRAIN_INPUT_<NAME> says
        p = PurePosixPath(host)
        if mount not in p.parents:
            raise EvotrainError(f"job {spec.job_id}: field 'inputs.{name}': {host} is not on the workspace volume "
                                f"{opts.mount_path}, so a pod cannot mount it")
        target = f"{INPUTS_ROOT}/{name}" if iso.kind == "bwrap" else host
        mounts.append({"name": "workspace", "mountPath": target, "subPath": str(p.relative_to(mount)),
                       "readOnly": True})
    return mounts


def _volumes(spec: JobSpec, opts: K8sJobOptions) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumes, mounts): workspace read-only, the sandbox read-write, /tmp, /dev/shm, weights read-only."""
    sandbox = PurePosixPath(spec.cwd).relative_to(PurePosixPath(opts.mount_path))
    shm: dict[str, Any] = {"medium": "Memory", **({"sizeLimit": spec.shm} if spec.shm else {})}
    volumes: list[dict[str, Any]] = [
        {"name": "workspace", "persistentVolumeClaim": {"claimName": opts.pvc_name}},
        {"name": "tmp", "emptyDir": {}},
        {"name": "dshm", "emptyDir": shm},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "workspace", "mountPath": opts.mount_path, "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "dshm", "mountPath": "/dev/shm"},
    ]
    if spec.isolation is not None:  # only the paths the isolation names (see _confined_mounts)
        mounts[:1] = _confined_mounts(spec, opts)
    elif str(sandbox) != ".":  # the only writable part of the workspace: the job's own sandbox
        mounts.insert(1, {"name": "workspace", "mountPath": spec.cwd, "subPath": str(sandbox)})
    else:
        mounts[0]["readOnly"] = False
    if opts.weights_pvc:
        volumes.append({"name": "weights", "persistentVolumeClaim": {"claimName": opts.weights_pvc, "readOnly": True}})
        mounts.append({"name": "weights", "mountPath": opts.weights_mount_path, "readOnly": True})
    return volumes, mounts


def _env(spec: JobSpec, opts: K8sJobOptions) -> list[dict[str, Any]]:
    env = {**job_env(spec, {}), "HOME": "/tmp", "TMPDIR": "/tmp"}
    out: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(env.items())]
    for name, ref in sorted(opts.secret_env.items()):
        out.append({"name": name, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}})
    return out


def build_job_manifest(spec: JobSpec, opts: K8sJobOptions) -> dict[str, Any]:
    """The batch/v1 Job for `spec`: one hardened pod, no retries, deadline from the container's start."""
    if not spec.command:
        raise EvotrainError(f"job {spec.job_id}: field 'command': must not be empty")
    _check_under_mount(spec, opts)
    name = job_name(spec.job_id)
    labels = job_labels(spec)
    volumes, mounts = _volumes(spec, opts)
    timeout = max(1, math.ceil(spec.timeout_s))
    container: dict[str, Any] = {
        "name": "job",
        "image": spec.image or opts.image,
        "imagePullPolicy": opts.image_pull_policy,
        "command": ["timeout", "--signal=TERM", f"--kill-after={KILL_AFTER_S:g}", f"{timeout}s", *spec.command],
        "workingDir": spec.cwd,
        "env": _env(spec, opts),
        "resources": _resources(spec, opts),
        "volumeMounts": mounts,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,  # job code never talks to the API server
        "enableServiceLinks": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": opts.run_as_user, "runAsGroup": opts.run_as_user,
                            "fsGroup": opts.run_as_user, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": volumes,
    }
    if opts.service_account:
        pod_spec["serviceAccountName"] = opts.service_account
    if opts.node_selector:
        pod_spec["nodeSelector"] = dict(opts.node_selector)
    if opts.tolerations:
        pod_spec["tolerations"] = [t.model_dump(exclude_none=True) for t in opts.tolerations]
    if opts.image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": n} for n in opts.image_pull_secrets]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": opts.namespace,
            "labels": labels,
            "annotations": {"evotrain/job-id": spec.job_id},
        },
        "spec": {
            "backoffLimit": 0,
            # a backstop only (it counts from the Job's start, Pending included): `timeout` is the deadline
            "activeDeadlineSeconds": timeout + math.ceil(KILL_AFTER_S) + 60 + opts.max_pending_s,
            "ttlSecondsAfterFinished": opts.ttl_seconds_after_finished,
            "template": {"metadata": {"labels": {**labels, **ROLE_LABEL}}, "spec": pod_spec},
        },
    }


def validate_manifest(manifest: dict[str, Any], k8s_version: str) -> str:
    """Check a manifest against the strict offline schema; return the schema version used."""
    import kubernetes_validate  # optional dependency (the `k8s` extra)
    from kubernetes_validate.utils import VersionNotSupportedError

    where = f"{manifest.get('kind', '?')} {manifest.get('metadata', {}).get('name', '?')}"
    try:
        return kubernetes_validate.validate(manifest, k8s_version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path) or "<root>"
        raise EvotrainError(f"{where}: field '{path}': {exc.message.splitlines()[0]}") from exc
    except (kubernetes_validate.SchemaNotFoundError, VersionNotSupportedError) as exc:
        raise EvotrainError(f"{where}: cannot validate: {exc.message}") from exc
