"""A 1-round x 2-worker campaign on substrate/nemotron (scripted workers, local executor, isolation auto,
recipe.tiny.yaml shrunk by recipe_overrides) with the real train.csv given as the substrate's input, then
`evotrain submit --dry-run` on its adapter: accepted as trained, refused at rank 64 or with a local base path.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evotrain.io import read_model
from evotrain.paths import CampaignPaths
from evotrain.schemas.manifest import Manifest
from evotrain.schemas.report import RoundReport

REPO = Path(__file__).resolve().parents[1]
NEMOTRON = REPO / "substrate" / "nemotron"
TRAIN_CSV = REPO.parent / "shared" / "data" / "nemotron-reasoning" / "train.csv"
TINY_ID = "evotrain/nemotron-h-tiny"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not TRAIN_CSV.is_file(), reason=f"{TRAIN_CSV} not present")]

sys.path.insert(0, str(NEMOTRON))
from nemotron_task.splits import split_of  # noqa: E402

CONFIG = f"""
name: nemo
substrate: substrate/nemotron
rounds: 1
workers_per_round: 2
parallel_jobs: 2
isolation: auto
inputs: {{train_csv: {TRAIN_CSV}}}
leaderboard: {{kind: local, submissions_per_round: 2, split_items: 10}}
recipe_overrides: {{max_steps: 6, save_steps: [3, 6], warmup_steps: 1, num_train_examples: 48, dev_items: 12}}
"""


def _cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> CampaignPaths:
    ws = tmp_path_factory.mktemp("nemo-ws")
    (ws / "substrate").symlink_to(REPO / "substrate")
    (ws / "constitution").symlink_to(REPO / "constitution")
    (ws / "c.yaml").write_text(CONFIG)
    proc = _cli("campaign", "start", "c.yaml", "--quiet", cwd=ws, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return CampaignPaths(root=ws, campaign="nemo")


def _ids(path: Path) -> set[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {row["id"] for row in csv.DictReader(fh)}


def test_workers_train_and_the_judge_scores_every_checkpoint(campaign: CampaignPaths) -> None:
    for worker in ("w01", "w02"):
        m = read_model(campaign.manifest(1, worker), Manifest)
        assert m.status == "ok" and m.usable, (worker, m.failures)
        assert m.scores_judged  # dev scores from the frozen judge, not the run's own
        # the judge scores the checkout recipe's 48 dev rows, not the 12 the (overridden) run used itself
        assert sorted(c.step for c in m.checkpoints) == [3, 6]  # no axis moves the standing save_steps
        for c in m.checkpoints:
            assert 0.0 <= c.overall <= 1.0 and c.n_items == 48
            assert set(c.by_family) == {"bit_manipulation", "text_cipher", "numeral_system", "unit_conversion",
                                        "gravity", "equations"}
        assert m.dev_score is not None and 0.0 <= m.dev_score <= 1.0
        adapter = Path(m.chosen_adapter or "")
        config = json.loads((adapter / "adapter_config.json").read_text())
        assert config["base_model_name_or_path"] == TINY_ID and config["r"] <= 32
        assert (adapter / "adapter_model.safetensors").stat().st_size > 0


def test_leaderboard_scores_candidates_from_held_out_rows(campaign: CampaignPaths) -> None:
    report = read_model(campaign.report(1), RoundReport)
    submitted = [c for c in report.candidates if c.submitted]
    assert submitted, "the collector submitted no candidate"
    for c in submitted:
        assert c.leaderboard is not None and 0.0 <= c.leaderboard <= 1.0
    split_ids = {json.loads(line)["id"] for half in ("public", "private")
                 for line in (campaign.leaderboard / "split" / f"{half}.jsonl").read_text().splitlines()}
    assert split_ids and all(split_of(i) == "leaderboard" for i in split_ids)
    # what workers' jobs were given holds none of them (and none of the other held-out rows)
    view = campaign.inputs / "train_csv" / "train.csv"
    seen = _ids(view)
    assert not split_ids & seen and not [i for i in seen if split_of(i) == "leaderboard"]
    assert len(seen) == len([i for i in _ids(TRAIN_CSV) if split_of(i) != "leaderboard"])


def _dry_run(paths: CampaignPaths) -> subprocess.CompletedProcess[str]:
    return _cli("submit", "--candidate", "1/w01", "--to", "local", "--dry-run", "--campaign", "nemo", cwd=paths.root)


def _sent(paths: CampaignPaths) -> tuple[int, int]:
    """(leaderboard submissions recorded, submission folders written)."""
    records = paths.leaderboard / "submissions.jsonl"
    n_records = len(records.read_text().splitlines()) if records.is_file() else 0
    n_folders = len(list(paths.submissions.iterdir())) if paths.submissions.is_dir() else 0
    return n_records, n_folders


def test_submit_dry_run_accepts_the_adapter_and_refuses_rank_64_and_a_local_base(campaign: CampaignPaths) -> None:
    before = _sent(campaign)
    ok = _dry_run(campaign)
    assert ok.returncode == 0, ok.stderr
    assert "adapter_config.json" in ok.stdout and "adapter_model.safetensors" in ok.stdout
    assert TINY_ID in ok.stdout

    adapter = Path(read_model(campaign.manifest(1, "w01"), Manifest).chosen_adapter or "")
    config_file = adapter / "adapter_config.json"
    original = config_file.read_text()
    backup = adapter.parent / "adapter_config.json.orig"
    shutil.copyfile(config_file, backup)
    cases = [({"r": 64}, "LoRA rank 64"),
             ({"base_model_name_or_path": str(NEMOTRON / "base")}, "a local path")]
    try:
        for change, needle in cases:
            config_file.write_text(json.dumps({**json.loads(original), **change}))
            proc = _dry_run(campaign)
            lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
            assert proc.returncode == 2, proc.stdout + proc.stderr
            assert len(lines) == 1 and needle in lines[0], proc.stderr
    finally:
        shutil.copyfile(backup, config_file)
        backup.unlink()
    assert _sent(campaign) == before  # nothing was sent or recorded
