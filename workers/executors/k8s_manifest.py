"""Build and validate the batch/v1 Job manifest for one evotrain job (no cluster needed).

Validation is offline: `kubernetes-validate` ships the JSON Schemas of each Kubernetes minor
version, so a manifest is checked against the chosen version's strict schema before it is sent.
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

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
LABEL_PREFIX = "evotrain/"
# Job names stay <= 63 chars: the controller copies them into the pods' `job-name` label.
MAX_JOB_NAME = 63


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
    memory_request: str | None = None
    node_selector: dict[str, str] = Field(default_factory=dict)


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


def build_job_manifest(spec: JobSpec, opts: K8sJobOptions) -> dict[str, Any]:
    """The batch/v1 Job for `spec`: one pod, no retries, deadline = the job's timeout."""
    if not spec.command:
        raise EvotrainError(f"job {spec.job_id}: field 'command': must not be empty")
    _check_under_mount(spec, opts)
    name = job_name(spec.job_id)
    labels = job_labels(spec)
    requests: dict[str, str] = {"cpu": str(spec.cpu_slots)}
    limits: dict[str, str] = {}
    if opts.memory_request:
        requests["memory"] = opts.memory_request
    if spec.gpus > 0:  # extended resources must be in limits; requests, if given, must equal them
        requests[opts.gpu_resource] = str(spec.gpus)
        limits[opts.gpu_resource] = str(spec.gpus)
    env = job_env(spec, {})
    container: dict[str, Any] = {
        "name": "job",
        "image": opts.image,
        "imagePullPolicy": opts.image_pull_policy,
        "command": list(spec.command),
        "workingDir": spec.cwd,
        "env": [{"name": k, "value": v} for k, v in sorted(env.items())],
        "resources": {"requests": requests, **({"limits": limits} if limits else {})},
        "volumeMounts": [{"name": "workspace", "mountPath": opts.mount_path}],
    }
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [container],
        "volumes": [{"name": "workspace", "persistentVolumeClaim": {"claimName": opts.pvc_name}}],
    }
    if opts.service_account:
        pod_spec["serviceAccountName"] = opts.service_account
    if opts.node_selector:
        pod_spec["nodeSelector"] = dict(opts.node_selector)
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
            "activeDeadlineSeconds": max(1, math.ceil(spec.timeout_s)),
            "ttlSecondsAfterFinished": opts.ttl_seconds_after_finished,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
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
