"""Kubernetes executor: one batch/v1 Job per evotrain job, through the official `kubernetes` client.

The job's local record (`state_dir/<job_id>/`: spec.json, status.json, k8s.json once the Job exists
on the cluster, job.log cached when it ends, cancel.json) lets a restarted orchestrator re-attach by
name. State is read from the Job's conditions: Complete -> SUCCEEDED; Failed with reason
DeadlineExceeded -> TIMEOUT; other Failed -> FAILED; active pods -> RUNNING; else PENDING.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evotrain.errors import EvotrainError, first_validation_error
from evotrain.io import atomic_write_text, read_model, write_model
from evotrain.schemas.common import Artifact
from workers.executors.base import JobSpec, JobState, JobStatus
from workers.executors.job_files import CancelRequest, JobFiles, JobTable, JobTableExecutor, tail_text
from workers.executors.k8s_manifest import TIMEOUT_EXIT_CODE, K8sJobOptions, build_job_manifest, validate_manifest


class K8sJobRef(Artifact):
    namespace: str
    name: str


def _api_error(op: str, exc: Exception) -> EvotrainError:
    """One line for a failed API call: HTTP status and reason, or why the server was unreachable."""
    status = getattr(exc, "status", None)
    detail = f"HTTP {status} {getattr(exc, 'reason', '')}".strip() if status else type(exc).__name__
    return EvotrainError(f"kubernetes: {op}: {detail}")


def _ts(value: Any) -> float | None:
    return value.timestamp() if value is not None else None


def state_from_job(job: Any) -> tuple[JobState, str, float | None, float | None]:
    """(state, message, started_at, ended_at) from a V1Job's status."""
    st = job.status
    if st is None:
        return JobState.PENDING, "", None, None
    started = _ts(st.start_time)
    for cond in st.conditions or []:
        if cond.status != "True":
            continue
        ended = _ts(st.completion_time) or _ts(cond.last_transition_time) or time.time()
        if cond.type == "Complete":
            return JobState.SUCCEEDED, "", started, ended
        if cond.type == "Failed":
            reason = cond.reason or "Failed"
            state = JobState.TIMEOUT if reason == "DeadlineExceeded" else JobState.FAILED
            return state, f"{reason}: {cond.message or ''}".rstrip(": "), started, ended
    if (st.active or 0) > 0 or started is not None:
        return JobState.RUNNING, "", started, None
    return JobState.PENDING, "", None, None


class KubernetesExecutor(JobTableExecutor):
    name = "kubernetes"

    def __init__(
        self,
        state_dir: Path | str,
        api_client: Any | None = None,
        host: str | None = None,
        kubeconfig: str | None = None,
        context: str | None = None,
        in_cluster: bool = False,
        watch_window_s: float = 30.0,
        **job_options: Any,
    ) -> None:
        from kubernetes import client  # optional dependency (the `k8s` extra)

        self.state_dir = Path(state_dir)
        self.jobs = JobTable(self.state_dir)
        try:
            self.options = K8sJobOptions.model_validate(job_options)
        except ValidationError as exc:
            raise EvotrainError(first_validation_error(exc, "executor options")) from exc
        self.api_client = api_client or self._make_client(host, kubeconfig, context, in_cluster)
        self.batch = client.BatchV1Api(self.api_client)
        self.core = client.CoreV1Api(self.api_client)
        self.watch_window_s = watch_window_s
        self.python = self.options.python  # what `{python}` means in a job command (the image's interpreter)

    @staticmethod
    def _make_client(host: str | None, kubeconfig: str | None, context: str | None, in_cluster: bool) -> Any:
        from kubernetes import client, config

        if host is not None:
            cfg = client.Configuration()
            cfg.host = host
            return client.ApiClient(cfg)
        if in_cluster:
            config.load_incluster_config()
            return client.ApiClient()
        return config.new_client_from_config(config_file=kubeconfig, context=context)

    # -- the Executor protocol -------------------------------------------------------------------

    def manifest(self, spec: JobSpec) -> dict[str, Any]:
        """The validated Job manifest for `spec` (also what `submit` sends)."""
        manifest = build_job_manifest(spec, self.options)
        validate_manifest(manifest, self.options.k8s_version)
        return manifest

    def submit(self, spec: JobSpec) -> JobStatus:
        self.manifest(spec)  # validated before anything is written
        self.jobs.record(spec)
        return self.status(spec.job_id)

    def status(self, job_id: str) -> JobStatus:
        files = self.jobs.known(job_id)
        stored = files.read_status()
        if stored.state.finished:
            return stored
        if not self._ref_path(files).is_file():
            # recorded but not created (the API failed, or we died in between): create it now; a
            # 409 means it was created after all and is re-attached
            self._create(files, self.manifest(files.read_spec()))
        ref = read_model(self._ref_path(files), K8sJobRef)
        job = self._read_job(ref)
        if job is None:
            cancelled = files.cancel.is_file()
            state = JobState.CANCELLED if cancelled else JobState.FAILED
            msg = "cancelled" if cancelled else f"Job {ref.namespace}/{ref.name} vanished from the cluster"
            return self._persist(files, stored, state, msg, stored.started_at, time.time(), None)
        state, msg, started, ended = state_from_job(job)
        exit_code = None
        if state.finished:
            exit_code = self._exit_code(ref)
            self._cache_logs(files, ref)
            if state == JobState.SUCCEEDED and exit_code is None:
                exit_code = 0
            if state == JobState.FAILED and exit_code == TIMEOUT_EXIT_CODE:  # `timeout` in the container
                state, msg = JobState.TIMEOUT, "killed at its timeout (counted from the container's start)"
        return self._persist(files, stored, state, msg, started, ended, exit_code)

    def wait(self, job_id: str, poll_s: float = 1.0, timeout_s: float | None = None) -> JobStatus:
        """Watch the Job until it ends; on `timeout_s` return its (unfinished) status."""
        from kubernetes import watch
        from kubernetes.client import ApiException
        from urllib3.exceptions import HTTPError

        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            st = self.status(job_id)
            remaining = None if deadline is None else deadline - time.monotonic()
            if st.state.finished or (remaining is not None and remaining <= 0):
                return st
            window = self.watch_window_s if remaining is None else max(0.1, min(self.watch_window_s, remaining))
            ref = read_model(self._ref_path(self.jobs.known(job_id)), K8sJobRef)  # status() created it
            w = watch.Watch()
            try:
                for event in w.stream(
                    self.batch.list_namespaced_job, ref.namespace,
                    field_selector=f"metadata.name={ref.name}",
                    timeout_seconds=max(1, int(window)), _request_timeout=window,
                ):
                    obj = event.get("object")
                    name = getattr(getattr(obj, "metadata", None), "name", None)
                    if name == ref.name and (event.get("type") == "DELETED" or state_from_job(obj)[0].finished):
                        break
            except (HTTPError, ApiException):
                time.sleep(poll_s)  # an idle watch's read timeout, or an expired watch: re-check, watch again
            finally:
                w.stop()

    def logs(self, job_id: str, tail: int | None = 200) -> str:
        files = self.jobs.known(job_id)
        if files.log.is_file():
            return tail_text(files.log, tail)
        if not self._ref_path(files).is_file():
            return ""
        return self._fetch_logs(read_model(self._ref_path(files), K8sJobRef), tail)

    def cancel(self, job_id: str) -> JobStatus:
        from kubernetes.client import ApiException
        from urllib3.exceptions import HTTPError

        files = self.jobs.known(job_id)
        st = self.status(job_id)
        if st.state.finished:
            return st
        write_model(files.cancel, CancelRequest(requested_at=time.time()))
        if self._ref_path(files).is_file():
            ref = read_model(self._ref_path(files), K8sJobRef)
            self._cache_logs(files, ref)
            try:  # Foreground: the Job goes only after its pods are gone
                self.batch.delete_namespaced_job(ref.name, ref.namespace, propagation_policy="Foreground")
            except ApiException as exc:
                if exc.status != 404:
                    raise _api_error(f"delete Job {ref.name}", exc) from exc
            except HTTPError as exc:
                raise _api_error(f"delete Job {ref.name}", exc) from exc
        return self._persist(files, files.read_status(), JobState.CANCELLED, "cancelled",
                             st.started_at, time.time(), None)

    # -- internals ---------------------------------------------------------------------------------

    @staticmethod
    def _ref_path(files: JobFiles) -> Path:
        return files.dir / "k8s.json"

    def _create(self, files: JobFiles, manifest: dict[str, Any]) -> None:
        from kubernetes.client import ApiException
        from urllib3.exceptions import HTTPError

        ref = K8sJobRef(namespace=manifest["metadata"]["namespace"], name=manifest["metadata"]["name"])
        try:
            self.batch.create_namespaced_job(ref.namespace, manifest)
        except ApiException as exc:
            if exc.status != 409:  # 409: it already exists (created before a restart): re-attach
                raise _api_error(f"create Job {ref.name}", exc) from exc
        except HTTPError as exc:
            raise _api_error(f"create Job {ref.name} at {self.api_client.configuration.host}", exc) from exc
        write_model(self._ref_path(files), ref)

    def _read_job(self, ref: K8sJobRef) -> Any | None:
        from kubernetes.client import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return self.batch.read_namespaced_job_status(ref.name, ref.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise _api_error(f"read Job {ref.name}", exc) from exc
        except HTTPError as exc:
            raise _api_error(f"read Job {ref.name}", exc) from exc

    def _pods(self, ref: K8sJobRef) -> list[Any]:
        from kubernetes.client import ApiException
        from urllib3.exceptions import HTTPError

        try:
            pods = self.core.list_namespaced_pod(ref.namespace, label_selector=f"job-name={ref.name}").items
        except (ApiException, HTTPError) as exc:
            raise _api_error(f"list pods of Job {ref.name}", exc) from exc
        # filter again: a selector that a server ignored must not hand us another job's pods
        mine = [p for p in pods if (p.metadata.labels or {}).get("job-name") == ref.name]
        return sorted(mine, key=lambda p: (_ts(p.metadata.creation_timestamp) or 0.0, p.metadata.name))

    def _exit_code(self, ref: K8sJobRef) -> int | None:
        for pod in reversed(self._pods(ref)):
            for cs in (pod.status.container_statuses or []) if pod.status else []:
                term = cs.state.terminated if cs.state else None
                if term is not None:
                    return int(term.exit_code)
        return None

    def _fetch_logs(self, ref: K8sJobRef, tail: int | None) -> str:
        from kubernetes.client import ApiException
        from urllib3.exceptions import HTTPError

        pods = self._pods(ref)
        if not pods:
            return ""
        try:
            return self.core.read_namespaced_pod_log(pods[-1].metadata.name, ref.namespace, tail_lines=tail)
        except ApiException as exc:
            if exc.status in (400, 404):  # container not started yet, or pod gone
                return ""
            raise _api_error(f"logs of Job {ref.name}", exc) from exc
        except HTTPError as exc:
            raise _api_error(f"logs of Job {ref.name}", exc) from exc

    def _cache_logs(self, files: JobFiles, ref: K8sJobRef) -> None:
        """Keep the final log locally: the Job and its pods are garbage-collected after the TTL."""
        text = self._fetch_logs(ref, None)
        if text:
            atomic_write_text(files.log, text)

    @staticmethod
    def _persist(files: JobFiles, stored: JobStatus, state: JobState, msg: str, started: float | None,
                 ended: float | None, exit_code: int | None) -> JobStatus:
        new = stored.model_copy(update={
            "state": state, "message": msg, "exit_code": exit_code,
            "started_at": stored.started_at or started, "ended_at": ended if state.finished else None,
        })
        if new != stored:
            files.write_status(new)
        return new
