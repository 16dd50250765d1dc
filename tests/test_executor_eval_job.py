"""Leaderboard scoring as an executor job (orchestrator/leaderboard/executor_eval.py).

A stand-in substrate (tests/test_substrate_leaderboard.py: score = share of items with index < k)
makes every expected score hand-computable: k=5 on a 10-item public half is 0.5. The same
evaluation runs on the local executor (bubblewrap when available), the instant executor (re-attach,
retry) and the Kubernetes executor against kmock, where a fake kubelet runs the Job's container
command only if every path it needs is mounted in the pod.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_substrate_leaderboard import fake_adapter, fake_substrate

from evotrain.errors import EvotrainError
from evotrain.schemas.substrate import CommandResources
from orchestrator.config import CampaignConfig
from orchestrator.leaderboard.executor_eval import ExecutorEvaluation, evaluation_for
from orchestrator.leaderboard.local import HiddenSplitSpec, LocalLeaderboard
from workers.executors.base import JobSpec, JobState
from workers.executors.instant import InstantExecutor
from workers.executors.job_files import JobTable
from workers.executors.local import LocalExecutor
from workers.isolation import bwrap_problem, sandbox_isolation

ISOLATION = "bwrap" if bwrap_problem() is None else "none"
SPLIT = HiddenSplitSpec(n_public=10, n_private=20)


def _board(tmp_path: Path, evaluation: ExecutorEvaluation | None) -> LocalLeaderboard:
    sub = tmp_path / "sub" if (tmp_path / "sub").is_dir() else fake_substrate(tmp_path / "sub")
    return LocalLeaderboard(sub, tmp_path / "lb", budget_per_round=3, spec=SPLIT, evaluation=evaluation,
                            isolated=ISOLATION == "bwrap")


def _run_in_process(spec: JobSpec) -> int:
    """The instant executor's job: the command itself, in the job's cwd (what the wrapper would run)."""
    return subprocess.run(spec.command, cwd=spec.cwd, check=False).returncode


def test_auto_runs_on_the_executor_unless_it_is_local(tmp_path: Path) -> None:
    sub = fake_substrate(tmp_path / "sub")
    local = CampaignConfig(name="c")
    k8s = CampaignConfig(name="c", executor={"kind": "kubernetes"})  # type: ignore[arg-type]
    assert evaluation_for(local, lambda: None, sub, "none") is None  # type: ignore[arg-type,return-value]
    forced = local.model_copy(update={"leaderboard": local.leaderboard.model_copy(update={"evaluate_on": "executor"})})
    assert evaluation_for(forced, lambda: None, sub, "none") is not None  # type: ignore[arg-type,return-value]
    ev = evaluation_for(k8s, lambda: None, sub, "none")  # type: ignore[arg-type,return-value]
    assert ev is not None and ev.cpu_slots == 1 and ev.timeout_s == 900.0
    host = k8s.model_copy(update={"leaderboard": k8s.leaderboard.model_copy(update={"evaluate_on": "host"})})
    assert evaluation_for(host, lambda: None, sub, "none") is None  # type: ignore[arg-type,return-value]


def test_local_executor_scores_like_the_host_and_the_split_is_only_the_eval_jobs(tmp_path: Path) -> None:
    ex = LocalExecutor(tmp_path / "jobs", total_slots=2)
    ev = ExecutorEvaluation(ex, campaign="demo", resources=CommandResources(timeout_s=60), cpu_threads=1,
                            isolation=ISOLATION, poll_s=0.1)
    board = _board(tmp_path, ev)
    adapter = fake_adapter(tmp_path / "a", k=5)
    score = board.submit("r001/w01", 1, adapter, final=True)
    assert (score.public, score.private, score.n_items) == (0.5, 0.25, 10)  # 5/10 public, 5/20 private
    statuses = {s.job_id: s for s in JobTable(tmp_path / "jobs").statuses()}
    assert len(statuses) == 2 and all(s.state == JobState.SUCCEEDED for s in statuses.values())
    public_id = next(j for j in statuses if "-public-" in j)
    spec = JobSpec.model_validate_json((tmp_path / "jobs" / public_id / "spec.json").read_text())
    assert spec.labels == {"campaign": "demo", "round": "1", "worker": "leaderboard", "phase": "evaluate"}
    assert spec.cwd == str(board.substrate_dir)
    assert spec.isolation is not None and spec.isolation.kind == ISOLATION
    assert spec.isolation.writable == [str(board.folder / "eval-jobs" / public_id)]
    assert spec.isolation.extra_readonly == [str(board.substrate_dir), str(adapter.resolve()),
                                             str(board.split_file("public"))]
    # the host path (a subprocess here) gives the same score on the same split
    host = LocalLeaderboard(board.substrate_dir, tmp_path / "lb", budget_per_round=3, spec=SPLIT)
    assert host.submit("r001/w02", 1, adapter).public == 0.5
    if ISOLATION != "bwrap":
        pytest.skip("bubblewrap unavailable: the split-visibility half needs it")
    # a worker's job (its sandbox isolation) cannot read the hidden split the evaluation job read
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    worker = JobSpec(job_id="demo-r001-w01-a1", cwd=str(sandbox), timeout_s=60,
                     command=[sys.executable, "-c", f"print(open({str(board.split_file('public'))!r}).read())"],
                     isolation=sandbox_isolation(sandbox, [], "bwrap"))
    ex.submit(worker)
    st = ex.wait(worker.job_id, poll_s=0.1, timeout_s=60)
    assert st.state == JobState.FAILED and "No such file or directory" in ex.logs(worker.job_id)


def test_resume_reattaches_and_a_failed_attempt_gets_a_new_id(tmp_path: Path) -> None:
    ex = InstantExecutor(tmp_path / "jobs", _run_in_process)
    ev = ExecutorEvaluation(ex, campaign="demo", resources=CommandResources(), cpu_threads=1, isolation="none")
    board = _board(tmp_path, ev)
    adapter = fake_adapter(tmp_path / "a", k=3)
    first = board.submit("r001/w01", 1, adapter)
    assert (first.public, ex.submitted) == (0.3, 1)
    # killed after the job ended, before the score was recorded: the resumed collector re-attaches
    board.records.unlink()
    again = _board(tmp_path, ExecutorEvaluation(InstantExecutor(tmp_path / "jobs", _run_in_process),
                                                campaign="demo", resources=CommandResources(), cpu_threads=1,
                                                isolation="none"))
    assert again.submit("r001/w01", 1, adapter).public == 0.3
    assert again.evaluation is not None and again.evaluation.executor.submitted == 0  # type: ignore[attr-defined]
    # a job that failed (in an earlier process) is retried under the next attempt id
    broken = fake_adapter(tmp_path / "b", k=1)
    (broken / "adapter_config.json").write_text("{}")  # no k: the evaluator crashes
    with pytest.raises(EvotrainError, match=r"evaluate public half job demo-lb-r001-00002-public-\w+-a1 failed"):
        again.submit("r001/w02", 1, broken)
    (broken / "adapter_config.json").write_text(json.dumps({"k": 7}))
    assert again.submit("r001/w02", 1, broken).public == 0.7
    ids = sorted(s.job_id for s in JobTable(tmp_path / "jobs").statuses() if "00002" in s.job_id)
    assert [i[-3:] for i in ids] == ["-a1", "-a2"]


# -- Kubernetes: the rendered Job, validated, through the official client against kmock ---------------

def _fake_kubelet(cluster: object, root: Path, stop: threading.Event, seen: list[dict]) -> None:
    """Plays kubelet for every new Job: runs its container command on this host, but only if each path
    the command names under the workspace is mounted in the pod, and only into writable mounts."""
    from test_executor_kubernetes import NS, FakeJobController

    ctl = FakeJobController(cluster)  # type: ignore[arg-type]
    done: set[str] = set()
    while not stop.is_set():
        for job in ctl.batch.list_namespaced_job(NS).items:
            name = job.metadata.name
            if name in done:
                continue
            done.add(name)
            manifest = ctl.batch.api_client.sanitize_for_serialization(job)
            seen.append(manifest)
            c = manifest["spec"]["template"]["spec"]["containers"][0]
            mounts = {m["mountPath"]: m for m in c["volumeMounts"] if m["name"] == "workspace"}
            args = [a for a in c["command"][4:] if a.startswith(str(root))]
            visible = all(any(a == m or a.startswith(m + "/") for m in mounts) for a in args)
            cmd = [sys.executable if a == "python" else a for a in c["command"][4:]]
            rc = subprocess.run(cmd, cwd=c["workingDir"], check=False).returncode if visible else 2
            ctl.start_pod(name, exit_code=rc)
            ctl.finish(name, "Complete" if rc == 0 else "Failed")
        time.sleep(0.1)


def test_kubernetes_eval_job_requests_the_gpu_and_mounts_only_its_paths(tmp_path: Path) -> None:
    pytest.importorskip("kmock")
    pytest.importorskip("kubernetes_validate")
    from test_executor_kubernetes import NS, MockCluster

    from workers.executors.k8s_manifest import K8sJobOptions, build_job_manifest, validate_manifest
    from workers.executors.kubernetes_executor import KubernetesExecutor

    root = tmp_path.resolve()
    with MockCluster() as cluster:
        ex = KubernetesExecutor(root / "jobs", host=cluster.host, namespace=NS, mount_path=str(root),
                                image="registry.local/evotrain-cuda:1", watch_window_s=2.0)
        res = CommandResources(gpus=1, memory="40Gi", shm="8Gi", timeout_s=3600)
        ev = ExecutorEvaluation(ex, campaign="demo", resources=res, cpu_threads=4, isolation="none", poll_s=0.2)
        board = _board(root, ev)
        adapter = fake_adapter(root / "sandboxes" / "w01" / "a", k=4)
        stop, seen = threading.Event(), []
        kubelet = threading.Thread(target=_fake_kubelet, args=(cluster, root, stop, seen), daemon=True)
        kubelet.start()
        try:
            assert board.submit("r001/w01", 1, adapter).public == 0.4  # 4 of 10
        finally:
            stop.set()
            kubelet.join(10)
    (job,) = seen
    pod = job["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["resources"]["limits"] == {"memory": "40Gi", "nvidia.com/gpu": "1"}
    assert c["resources"]["requests"]["cpu"] == "4"
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}} in pod["volumes"]
    workspace = {m["mountPath"]: m.get("readOnly", False) for m in c["volumeMounts"] if m["name"] == "workspace"}
    out = str(board.folder / "eval-jobs" / job["metadata"]["annotations"]["evotrain/job-id"])
    assert workspace == {out: False, str(board.substrate_dir): True, str(adapter.resolve()): True,
                         str(board.split_file("public")): True}  # never the whole volume, never the private half
    # a worker's pod on the same volume sees its sandbox only: no campaign state, no hidden split
    sandbox = root / "sandboxes" / "w01"
    opts = K8sJobOptions(namespace=NS, mount_path=str(root))
    worker = build_job_manifest(JobSpec(job_id="demo-r001-w01-a1", command=["python", "run.py"], cwd=str(sandbox),
                                        isolation=sandbox_isolation(sandbox, [], "none")), opts)
    validate_manifest(worker, opts.k8s_version)
    mounts = worker["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert [m["mountPath"] for m in mounts if m["name"] == "workspace"] == [str(sandbox)]


@pytest.mark.slow
def test_a_campaign_scores_through_its_executor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The campaign wiring: `leaderboard.evaluate_on: executor` on a 1-round x 2-worker noop campaign
    (local executor, scripted workers): every leaderboard score comes from an evaluation job."""
    import yaml

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import scale_harness as harness

    from evotrain.paths import CampaignPaths
    from orchestrator.campaign.runner import create_campaign, run_campaign
    from orchestrator.config import load_config

    ws = tmp_path / "ws"
    config = harness.make_workspace(ws, "evj", workers=2, rounds=1)
    cfg = yaml.safe_load(config.read_text())
    cfg["leaderboard"]["evaluate_on"] = "executor"
    config.write_text(yaml.safe_dump(cfg))
    monkeypatch.chdir(ws)
    paths = CampaignPaths(root=ws.resolve(), campaign="evj")
    create_campaign(ws.resolve(), load_config(config))
    run_campaign(paths, resume=False)
    history = [json.loads(line) for line in (paths.leaderboard / "submissions.jsonl").read_text().splitlines()]
    assert history, "nothing was submitted"
    evals = {s.job_id: s for s in JobTable(paths.jobs).statuses() if "-lb-" in s.job_id}
    assert all(s.state == JobState.SUCCEEDED for s in evals.values())
    public = [j for j in evals if "-public-" in j]
    assert len(public) == len(history)  # one evaluation job per submission (+ the final private half)
    assert [j for j in evals if j not in public] == [j for j in evals if j.startswith("evj-lb-private-")]
    for job_id in public:
        spec = JobSpec.model_validate_json((paths.jobs / job_id / "spec.json").read_text())
        assert spec.labels["phase"] == "evaluate" and spec.cwd.startswith(str(paths.judge))
        report = json.loads((paths.leaderboard / "eval-jobs" / job_id / "report.json").read_text())
        assert any(h["public"] == report["overall"] for h in history)
