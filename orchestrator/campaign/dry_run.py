"""`evotrain campaign start CONFIG --dry-run`: what round 1 would run, with no side effects.

The config is checked as `campaign start` checks it (paths, constitution, recipe + axes, the substrate's
validator on the standing recipe); then round 1's briefs and, per worker, its first smoke and training
job are rendered the way the configured executor would send them: a validated Kubernetes Job manifest,
a Ray Jobs entrypoint (or Ray task resources), or the local JobSpec; when the leaderboard scores on the
executor, its first evaluation job too. Nothing is written, no executor is
created, no cluster is contacted.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from evotrain.errors import EvotrainError
from evotrain.paths import CampaignPaths
from evotrain.schemas.brief import Brief
from evotrain.schemas.substrate import SubstrateSpec
from orchestrator.campaign.inputs import check_inputs
from orchestrator.config import CampaignConfig
from orchestrator.leaderboard.executor_eval import preview_job
from orchestrator.plan import plan_round
from workers.executors.base import JobSpec
from workers.isolation import resolve_mode, sandbox_isolation
from workers.job_tools import JobTools

# KubernetesExecutor arguments that configure the API client, not the Job manifest
_K8S_CLIENT_OPTIONS = {"host", "kubeconfig", "context", "in_cluster", "watch_window_s", "api_client"}
NOT_FORKED = "(dry run: the substrate is snapshotted at start)"


@dataclass
class _PlanContext:
    """The part of a worker's JobContext that building its job specs reads."""

    brief: Brief
    spec: SubstrateSpec
    sandbox: Path
    executor: Any
    isolation: Any = None


@dataclass
class _Python:
    python: str


def _job_specs(brief: Brief, spec: SubstrateSpec, python: str,
               isolation: Literal["bwrap", "none"] = "none") -> list[JobSpec]:
    """The worker's first smoke and training job, as JobTools would build them."""
    tools = JobTools.__new__(JobTools)  # only the spec-building half: no trace, no state, no executor calls
    sandbox = Path(brief.sandbox)
    # the isolation a campaign gives the job (Kubernetes mounts only its paths): the sandbox does not exist yet,
    # so its frozen files are not listed, which changes nothing on Kubernetes (only writable paths are mounted)
    tools.ctx = _PlanContext(brief=brief, spec=spec, sandbox=sandbox, executor=_Python(python),  # type: ignore[assignment]
                             isolation=sandbox_isolation(sandbox, spec.frozen, isolation))
    prefix = f"{brief.campaign}-r{brief.round:03d}-{brief.worker_id}"
    out: list[JobSpec] = []
    for phase, job_id, out_dir in (("smoke", f"{prefix}-s1", sandbox / "runs" / "s1"),
                                   ("train", f"{prefix}-a1", sandbox / "runs" / "a1")):
        command = tools._render(spec.run_command, out_dir, job=True) + (["--smoke"] if phase == "smoke" else [])
        out.append(tools._job_spec(job_id, phase, out_dir, command, tools._timeout(phase)))
    return out


def _render_job(cfg: CampaignConfig, paths: CampaignPaths, job: JobSpec) -> tuple[str, Any]:
    """(what it is, the document) for one job on the configured executor."""
    options = dict(cfg.executor.options)
    if cfg.executor.kind == "kubernetes":
        from workers.executors.k8s_manifest import K8sJobOptions, build_job_manifest, validate_manifest

        opts = K8sJobOptions.model_validate({k: v for k, v in options.items() if k not in _K8S_CLIENT_OPTIONS})
        manifest = build_job_manifest(job, opts)
        validate_manifest(manifest, opts.k8s_version)
        return "Kubernetes Job", manifest
    if cfg.executor.kind == "ray":
        if str(options.get("address") or "").startswith(("http://", "https://")):
            from workers.executors.ray_jobs_executor import entrypoint_options

            python = str(options.get("python") or sys.executable)
            runtime_env = options.get("runtime_env") or {}
            return "Ray job (JobSubmissionClient.submit_job)", entrypoint_options(
                job, python, (paths.jobs / job.job_id).resolve(), runtime_env,  # type: ignore[arg-type]
                f"{job.job_id}-<nonce>")  # the nonce is made when the campaign's job table is
        from workers.executors.ray_executor import task_resources

        return "Ray task (.options)", {**task_resources(job), "name": job.job_id, "job": job.model_dump(mode="json")}
    return "local job", job.model_dump(mode="json")


def _python_for(cfg: CampaignConfig) -> str:
    options = cfg.executor.options
    if cfg.executor.kind == "kubernetes":
        return str(options.get("python") or "python")
    if cfg.executor.kind == "ray" and options.get("python"):
        return str(options["python"])
    return sys.executable


def dry_run(root: Path, cfg: CampaignConfig) -> str:
    """The YAML stream `--dry-run` prints: a header, each round-1 brief, each rendered job."""
    paths = CampaignPaths(root=root, campaign=cfg.name)
    checked = check_inputs(root, cfg)  # exactly what `campaign start` checks
    policy, const, spec, substrate = checked.policy, checked.constitution, checked.spec, checked.substrate
    briefs = plan_round(policy, paths, 1, cfg.workers_per_round, cfg.seed, cfg.worker_budget, NOT_FORKED,
                        const.rules.frozen_recipe_keys, worker_seeds=cfg.worker_seeds)
    python = _python_for(cfg)
    kind = resolve_mode(cfg.isolation, llm_agent=cfg.agents.worker.kind != "scripted",
                        allow_unisolated=cfg.allow_unisolated)
    docs: list[tuple[str, Any]] = []
    for brief in briefs:
        role = "baseline anchor" if brief.is_baseline else f"explores {brief.axis_name}"
        docs.append((f"brief r001 {brief.worker_id} ({role})", brief.model_dump(mode="json")))
        for job in _job_specs(brief, spec, python, kind):
            what, doc = _render_job(cfg, paths, job)
            docs.append((f"{what} {job.job_id} ({job.labels.get('phase', '')})", doc))
    evaluation = preview_job(cfg, paths, substrate, python, kind)  # None: the leaderboard scores on this host
    if evaluation is not None:
        what, doc = _render_job(cfg, paths, evaluation)
        docs.append((f"{what} {evaluation.job_id} (leaderboard evaluate)", doc))
    if paths.config.exists():
        raise EvotrainError(f"campaign '{cfg.name}' already exists at {paths.state}; a real start would refuse it")
    header = (f"# evotrain campaign start --dry-run: campaign {cfg.name}, substrate {substrate} ({spec.name}), "
              f"executor {cfg.executor.kind}; nothing was written and no job was submitted\n")
    body = "".join(f"--- # {title}\n" + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
                   for title, doc in docs)
    return header + body

