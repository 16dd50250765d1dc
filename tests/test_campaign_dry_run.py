"""`evotrain campaign start CONFIG --dry-run`: round 1's briefs and rendered job specs, no side effects.
The config points at a substrate folder outside the workspace root that asks for a GPU to train."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

pytest.importorskip("kubernetes_validate")

from orchestrator.cli.campaign import campaign_app
from workers.executors.k8s_manifest import validate_manifest

ROOT = Path(__file__).resolve().parents[1]


def _setup(tmp_path: Path, executor: dict[str, object]) -> tuple[Path, Path]:
    substrate = tmp_path / "elsewhere" / "gpu-substrate"
    shutil.copytree(ROOT / "substrate" / "default", substrate, ignore=shutil.ignore_patterns("__pycache__", "runs"))
    spec = yaml.safe_load((substrate / "substrate.yaml").read_text())
    spec["resources"] = {"train": {"gpus": 1, "memory": "24Gi", "shm": "4Gi", "timeout_s": 300}}
    (substrate / "substrate.yaml").write_text(yaml.safe_dump(spec))
    root = tmp_path / "workspace"
    root.mkdir()
    shutil.copytree(ROOT / "constitution", root / "constitution")
    config = root / "campaign.yaml"
    config.write_text(yaml.safe_dump({"name": "gpu-demo", "substrate": str(substrate), "workers_per_round": 3,
                                      "executor": executor}))
    return root, config


def _run(root: Path, config: Path) -> list[tuple[str, dict]]:
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    result = CliRunner().invoke(campaign_app, ["start", str(config), "--root", str(root), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before  # nothing written
    assert result.output.startswith("# evotrain campaign start --dry-run: campaign gpu-demo")
    titles = [line.removeprefix("--- # ") for line in result.output.splitlines() if line.startswith("--- # ")]
    docs = [d for d in yaml.safe_load_all(result.output) if d is not None]
    # per worker: its brief, its smoke job, its training job; + the leaderboard's evaluation job (on the
    # executor, as `evaluate_on: auto` does for ray and kubernetes)
    assert len(titles) == len(docs) == 3 * 3 + 1
    return list(zip(titles, docs, strict=True))


def test_kubernetes_dry_run_prints_valid_manifests(tmp_path: Path) -> None:
    root, config = _setup(tmp_path, {"kind": "kubernetes", "options": {
        "namespace": "evotrain", "image": "registry.example.com/evotrain:0.1.0", "mount_path": str(tmp_path),
        "kubeconfig": "/nonexistent/kubeconfig", "python": "/opt/venv/bin/python"}})
    out = _run(root, config)
    briefs = [d for t, d in out if t.startswith("brief")]
    assert [b["worker_id"] for b in briefs] == ["w01", "w02", "w03"] and briefs[0]["axis"] is None
    jobs = {d["metadata"]["annotations"]["evotrain/job-id"]: d for _, d in out if d.get("kind") == "Job"}
    evaluation = jobs.pop(next(j for j in jobs if j.startswith("gpu-demo-lb-r001-00001-public-")))
    assert sorted(jobs) == sorted(f"gpu-demo-r001-{w}-{s}" for w in ("w01", "w02", "w03") for s in ("s1", "a1"))
    validate_manifest(evaluation, "1.30")
    lb = root / "campaigns" / "gpu-demo" / "leaderboard"
    mounts = {m["mountPath"]: m.get("readOnly", False) for m in
              evaluation["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] if m["name"] == "workspace"}
    assert mounts[str(lb / "split" / "public.jsonl")] is True and str(lb / "split" / "private.jsonl") not in mounts
    assert [p for p, ro in mounts.items() if not ro] == [str(lb / "eval-jobs" / evaluation["metadata"]["annotations"]
                                                             ["evotrain/job-id"])]
    # a worker's pod mounts its sandbox only, never the workspace volume's root (campaign state, hidden split)
    worker_mounts = [m["mountPath"] for m in jobs["gpu-demo-r001-w02-a1"]["spec"]["template"]["spec"]["containers"][0]
                     ["volumeMounts"] if m["name"] == "workspace"]
    assert worker_mounts == [str(root / "sandboxes" / "gpu-demo" / "r001" / "w02")]
    for manifest in jobs.values():
        validate_manifest(manifest, "1.30")
    train = jobs["gpu-demo-r001-w02-a1"]["spec"]["template"]["spec"]["containers"][0]
    assert train["resources"]["limits"] == {"memory": "24Gi", "nvidia.com/gpu": "1"}
    assert train["command"][3:5] == ["300s", "/opt/venv/bin/python"]  # {python} = the image's interpreter
    smoke = jobs["gpu-demo-r001-w02-s1"]["spec"]["template"]["spec"]["containers"][0]
    assert "nvidia.com/gpu" not in smoke["resources"]["requests"] and smoke["command"][-1] == "--smoke"


def test_ray_jobs_dry_run_prints_entrypoints(tmp_path: Path) -> None:
    root, config = _setup(tmp_path, {"kind": "ray", "options": {"address": "http://ray-head:8265",
                                                                 "python": "/opt/venv/bin/python"}})
    out = _run(root, config)
    entry = next(d for t, d in out if t.startswith("Ray job") and d["submission_id"] == "gpu-demo-r001-w01-a1-<nonce>")
    assert entry["entrypoint_num_gpus"] == 1 and entry["entrypoint_memory"] == 24 << 30
    job_dir = root / "campaigns" / "gpu-demo" / "jobs"
    assert entry["entrypoint"].startswith("/opt/venv/bin/python -m workers.executors.job_wrapper ")
    assert entry["entrypoint"].endswith("/gpu-demo-r001-w01-a1") and str(job_dir.name) in entry["entrypoint"]
