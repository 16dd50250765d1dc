"""Create a campaign (validate everything first, then write) and run or resume it under the lock."""

from __future__ import annotations

import time
from pathlib import Path

from evotrain.errors import EvotrainError
from evotrain.io import read_model, write_model
from evotrain.paths import CampaignPaths
from orchestrator.audit.log import AuditLog
from orchestrator.campaign import accounting
from orchestrator.campaign.graph import run_graph
from orchestrator.campaign.inputs import check_inputs
from orchestrator.campaign.lock import CampaignLock
from orchestrator.campaign.status import current_round
from orchestrator.campaign.steps import Campaign
from orchestrator.campaign.summary import CampaignSummary
from orchestrator.config import CampaignConfig, CampaignRecord
from orchestrator.meta import constitution
from workers.executors.base import Executor


def create_campaign(root: Path, cfg: CampaignConfig) -> CampaignPaths:
    """Check the config's paths and inputs, then write campaigns/<name>/campaign.json.

    Nothing is written unless every check passes, so a bad config leaves no trace behind.
    """
    paths = CampaignPaths(root=root, campaign=cfg.name)
    if paths.config.exists():
        raise EvotrainError(f"campaign '{cfg.name}' already exists at {paths.state}; "
                            f"use `evotrain campaign resume {cfg.name}` or choose another name")
    checked = check_inputs(root, cfg)
    record = CampaignRecord(config=cfg, workspace_root=str(root), substrate_dir=str(checked.substrate),
                            constitution=constitution.record(checked.constitution_dir), created_at=time.time())
    write_model(paths.config, record)
    return paths


def run_campaign(paths: CampaignPaths, resume: bool, executor: Executor | None = None) -> CampaignSummary:
    """Run (or resume) to the end under the campaign lock; returns the summary.

    `executor` replaces the configured one (benchmarks and tests pass a fake; users never do)."""
    if not paths.config.exists():
        raise EvotrainError(f"{paths.config}: no campaign named '{paths.campaign}'")
    record = read_model(paths.config, CampaignRecord)
    with CampaignLock(paths.lock, paths.campaign):
        # a kill -9 between an audit line and its head would otherwise stop the campaign for good
        AuditLog(paths.audit_log).complete_interrupted_append()
        accounting.begin_session(paths)
        campaign = Campaign(paths, record)
        if executor is not None:
            campaign._executor = executor
        cfg = record.config
        run_graph(campaign, paths.checkpoint_db, thread_id=paths.campaign,
                  max_parallel_workers=cfg.workers_per_round, resume=resume)
        if not paths.summary.exists():
            # the thread ended without its finish step (a checkpoint torn by kill -9): every step is
            # idempotent, so replay the current round on a fresh thread; finished work is found on disk
            replay = f"{paths.campaign}-replay-{time.time_ns()}"
            run_graph(campaign, paths.checkpoint_db, thread_id=replay, max_parallel_workers=cfg.workers_per_round,
                      resume=False, start_round=max(1, current_round(paths)))
        accounting.touch_session(paths)
    return read_model(paths.summary, CampaignSummary)
