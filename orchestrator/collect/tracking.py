"""Optional MLflow experiment tracking: one MLflow run per candidate, written when a round is collected.

Config (`tracking: {mlflow: {uri: ..., experiment: ...}}`, off by default; `pip install evotrain[tracking]`,
which installs `mlflow-skinny`, the client without the server):
- params = the candidate's recipe (nested keys flattened with dots), tag `evotrain.changed_keys` = the
  keys it changed against the round's standing recipe, artifact `recipe.diff` = its sandbox diff;
- metrics = `dev` per checkpoint (step = the checkpoint's training step), `dev_chosen`, `leaderboard_public`
  when it was submitted, `gpu_seconds`, `gpu_dollars`, `token_dollars`;
- tags = campaign, round, worker, axis, axis category, status, baseline; the manifest is the run's
  artifact `manifest.json`.
Idempotent: a run is looked up by its `evotrain.candidate` tag first, so a collector re-run after a
crash never logs a candidate twice. Tracking is observability: a tracking server that fails is a
warning in the campaign log, never a stopped campaign.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from evotrain.paths import CampaignPaths, candidate_label
from evotrain.schemas.common import Artifact
from evotrain.schemas.manifest import Manifest
from evotrain.schemas.report import CandidateSummary, RoundReport
from orchestrator.config import MlflowTracking, TrackingConfig

log = logging.getLogger("evotrain.tracking")
MAX_PARAM_CHARS = 6000  # MLflow's limit on a param value


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Recipe values as MLflow params: nested mappings become dotted keys, values strings."""
    out: dict[str, str] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = str(value)[:MAX_PARAM_CHARS]
    return out


class CandidateRun(Artifact):
    """What one candidate's MLflow run holds (built without mlflow, so it is testable on its own)."""

    name: str
    tags: dict[str, str]
    params: dict[str, str]
    metrics: list[tuple[str, float, int]] = Field(default_factory=list)  # (key, value, step)
    manifest_json: str
    recipe_diff: str = ""


def candidate_run(campaign: str, m: Manifest, c: CandidateSummary) -> CandidateRun:
    label = candidate_label(m.round, m.worker_id)
    tags = {"evotrain.candidate": label, "evotrain.campaign": campaign, "evotrain.round": str(m.round),
            "evotrain.worker": m.worker_id, "evotrain.axis": m.axis, "evotrain.axis_category": m.axis_category,
            "evotrain.status": m.status, "evotrain.baseline": str(m.is_baseline).lower(),
            "evotrain.changed_keys": ",".join(ch.key for ch in c.changes)}
    metrics = [("dev", ck.overall, ck.step) for ck in sorted(m.checkpoints, key=lambda ck: ck.step)]
    if m.dev_score is not None:
        metrics.append(("dev_chosen", m.dev_score, m.chosen_step or 0))
    if c.leaderboard is not None:
        metrics.append(("leaderboard_public", c.leaderboard, m.round))
    metrics += [("gpu_seconds", c.gpu_seconds, 0), ("gpu_dollars", c.gpu_dollars, 0),
                ("token_dollars", c.token_dollars, 0)]
    return CandidateRun(name=label.replace("/", "-"), tags=tags, params=flatten(m.recipe), metrics=metrics,
                        manifest_json=m.model_dump_json(indent=1), recipe_diff=m.recipe_diff)


def _client(cfg: MlflowTracking) -> Any:
    # mlflow 3 refuses its file store unless asked for it explicitly; a `file:` URI here is that request
    if cfg.uri.startswith("file:"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow.tracking import MlflowClient  # optional dependency (the `tracking` extra)

    return MlflowClient(tracking_uri=cfg.uri)


def _experiment_id(client: Any, name: str) -> str:
    found = client.get_experiment_by_name(name)
    return str(found.experiment_id) if found is not None else str(client.create_experiment(name))


def log_round(cfg: MlflowTracking, report: RoundReport, manifests: Mapping[str, Manifest]) -> int:
    """Log every candidate of `report` not logged yet; returns how many runs were created."""
    from mlflow.entities import Metric, Param

    client = _client(cfg)
    experiment = _experiment_id(client, cfg.experiment or report.campaign)
    created = 0
    for c in report.candidates:
        run = candidate_run(report.campaign, manifests[c.worker_id], c)
        label = run.tags["evotrain.candidate"]
        if client.search_runs([experiment], filter_string=f"tags.`evotrain.candidate` = '{label}'", max_results=1):
            continue
        now = int(time.time() * 1000)
        info = client.create_run(experiment, run_name=run.name, tags=run.tags).info
        client.log_batch(info.run_id, params=[Param(k, v) for k, v in sorted(run.params.items())],
                         metrics=[Metric(k, float(v), now, step) for k, v, step in run.metrics])
        client.log_text(info.run_id, run.manifest_json, "manifest.json")
        if run.recipe_diff:
            client.log_text(info.run_id, run.recipe_diff, "recipe.diff")
        client.set_terminated(info.run_id, "FINISHED" if c.status == "ok" else "FAILED")
        created += 1
    return created


def track_round(cfg: TrackingConfig, paths: CampaignPaths, report: RoundReport) -> None:
    """The collect step's hook: log the round if tracking is configured; a tracking failure is a warning."""
    if cfg.mlflow is None:
        return
    from orchestrator.collect.collector import read_manifests

    try:
        n = log_round(cfg.mlflow, report, {m.worker_id: m for m in read_manifests(paths, report.round)})
        log.info("r%03d: %d candidate run(s) logged to MLflow at %s", report.round, n, cfg.mlflow.uri)
    except Exception as exc:  # observability must not stop a campaign
        log.warning("r%03d: MLflow tracking failed (%s: %s); the campaign goes on", report.round,
                    type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "")
