"""The frozen judge's run time is evaluation, not orchestration overhead."""

from __future__ import annotations

import json
from pathlib import Path

from evotrain.paths import JUDGE_INTERVAL, CampaignPaths
from orchestrator.campaign.accounting import job_intervals, union_length


def test_judge_runs_count_as_evaluation_time(tmp_path: Path) -> None:
    paths = CampaignPaths(root=tmp_path, campaign="c")
    for job, (a, b) in {"c-r001-w01-a1": (100.0, 130.0), "c-r001-w02-a1": (120.0, 150.0)}.items():
        folder = paths.judge / "reports" / job
        folder.mkdir(parents=True)
        (folder / JUDGE_INTERVAL).write_text(json.dumps({"started": a, "ended": b}))
    (paths.judge / "reports" / "broken").mkdir()
    (paths.judge / "reports" / "broken" / JUDGE_INTERVAL).write_text("{not json")  # ignored, not fatal
    spans = job_intervals(paths)
    assert sorted(spans) == [(100.0, 130.0), (120.0, 150.0)]
    assert union_length(spans, [(0.0, 1000.0)]) == 50.0  # 100..150, the overlap counted once
