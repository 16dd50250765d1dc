"""`evotrain bench efficiency|aa|drift` on the noop substrate (seconds per run), via the real CLI.

Expectations are computed here from the files on disk and with statistics/scipy, never with the
bench's own helpers.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from bench_support import COMMON, NOOP, REPO, bench

from evotrain.paths import CampaignPaths
from evotrain.schemas.brief import WorkerBudget
from evotrain.schemas.policy import Axis, AxisRange, Policy
from orchestrator.bench.models import AAReport, DriftReport, EfficiencyReport, MethodOutcome
from orchestrator.bench.stats import mean_ci95
from orchestrator.config import CampaignConfig
from orchestrator.plan import plan_round, round_seed

TINY_BENCHES = {
    "efficiency": ["efficiency", "--seeds", "2", "--rounds", "1", "--workers", "2", *COMMON],
    "aa": ["aa", "--seeds", "1", "--rounds", "2", "--workers", "3", *COMMON],
    "drift": ["drift", "--seeds", "1", "--rounds", "2", "--workers", "3", "--with-axis", "learning_rate", *COMMON],
}


@pytest.fixture(scope="module")
def started_benches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Path, subprocess.Popen]]]:
    """The three tiny benches, each in its own root, started together at first use: each is mostly process
    start-ups and short sleeps on the noop substrate, so on 2 cores they overlap instead of queueing."""
    started: dict[str, tuple[Path, subprocess.Popen]] = {}
    for name, args in TINY_BENCHES.items():
        root = tmp_path_factory.mktemp(f"bench-{name}") / "root"  # its logs sit next to it, not in it
        root.mkdir()
        with open(root.parent / "stdout.txt", "wb") as out, open(root.parent / "stderr.txt", "wb") as err:
            started[name] = (root, subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "bench", *args,
                                                     "--root", str(root)], stdout=out, stderr=err, cwd=REPO))
    yield started
    for _, proc in started.values():  # a test that did not run (deselected, failed early) leaves none behind
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def finished(started: dict[str, tuple[Path, subprocess.Popen]],
             name: str) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """(the bench's root, its result) once the background bench `name` has exited."""
    root, proc = started[name]
    returncode = proc.wait(timeout=600)
    result = subprocess.CompletedProcess(proc.args, returncode, (root.parent / "stdout.txt").read_text(),
                                         (root.parent / "stderr.txt").read_text())
    return root, result


def _policy(axes: list[Axis]) -> Policy:
    return Policy(campaign="c", round=1, standing_recipe={"learning_rate": 0.01, "lora_r": 8}, axes=axes)


def test_t_interval_matches_scipy() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    xs = [0.31, 0.42, 0.38, 0.29, 0.45]
    mean, low, high = mean_ci95(xs)
    half = scipy_stats.t.ppf(0.975, len(xs) - 1) * statistics.stdev(xs) / math.sqrt(len(xs))
    assert mean == pytest.approx(statistics.mean(xs))
    assert (low, high) == (pytest.approx(statistics.mean(xs) - half, abs=1e-4),
                           pytest.approx(statistics.mean(xs) + half, abs=1e-4))
    assert mean_ci95([0.5]) == (0.5, None, None)  # one seed: no interval


def test_default_campaigns_keep_paired_seeds_and_per_worker_seeds_differ(tmp_path: Path) -> None:
    assert CampaignConfig(name="x").worker_seeds == "paired" and CampaignConfig(name="x").axes_file is None
    axes = [Axis(name=n, category="optimizer", key=n, range=AxisRange(kind="log", low=1e-4, high=1.0))
            for n in ("learning_rate", "lora_r")]
    paths = CampaignPaths(tmp_path, "c")
    paired = plan_round(_policy(axes), paths, 2, 3, 7, WorkerBudget(), "abc")
    assert {b.seed for b in paired} == {7 * 1000 + 2}  # one seed: paired comparison with the anchor
    per = plan_round(_policy(axes), paths, 2, 3, 7, WorkerBudget(), "abc", worker_seeds="per_worker")
    assert per[0].is_baseline and per[0].seed == round_seed(7, 2)  # anchors stay replicates across rounds
    assert len({b.seed for b in per}) == 3


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


@pytest.mark.slow
def test_efficiency_tiny_noop(started_benches: dict[str, tuple[Path, subprocess.Popen]]) -> None:
    rounds, workers = 1, 2
    tmp_path, proc = finished(started_benches, "efficiency")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "random s1 run 2/2" in proc.stdout and "oracle" in proc.stdout
    report = EfficiencyReport.model_validate_json((tmp_path / "bench" / "efficiency.json").read_text())
    budget_runs, budget_subs = rounds * workers, 3 * rounds  # the constitution's 3 submissions per round
    assert (report.runs_per_method, report.oracle_runs, report.submission_budget) == (budget_runs, 3 * budget_runs,
                                                                                      budget_subs)
    by = {(o.method, o.seed): o for o in report.outcomes}
    assert sorted(by) == sorted((m, s) for m in ("campaign", "random", "ofat", "oracle") for s in (0, 1))
    cache = next((tmp_path / "bench" / "cache").iterdir())
    for seed in (0, 1):
        camp = by[("campaign", seed)]
        state = tmp_path / "campaigns" / str(camp.campaign)
        train_jobs = [d for d in (state / "jobs").iterdir() if d.name.rsplit("-", 1)[-1].startswith("a")]
        assert camp.training_runs == len(train_jobs) == budget_runs
        subs = _jsonl(state / "leaderboard" / "submissions.jsonl")
        assert camp.submissions == len(subs) <= budget_subs
        summary = json.loads((state / "summary.json").read_text())
        assert camp.chosen == summary["best"]["candidate"] and camp.chosen_private == summary["best"]["private"]
        oracle = by[("oracle", seed)]
        assert len(oracle.runs) == oracle.training_runs == 3 * budget_runs
        privates = [r.private for r in oracle.runs if r.private is not None]
        assert report.oracle[str(seed)] == oracle.chosen_private == max(privates)
        for method in ("random", "ofat"):
            o = by[(method, seed)]
            assert o.training_runs == len(o.runs) == budget_runs
            assert o.submissions == sum(r.submitted for r in o.runs) <= budget_subs
            for r in o.runs:  # every run is in the resumable cache
                assert (cache / f"{r.recipe_sha256[:24]}-s{r.seed}.json").is_file()
        rnd = by[("random", seed)]
        # random search = the first R·N draws of the oracle's stream, so the oracle bounds its runs
        assert [(r.recipe_sha256, r.seed) for r in rnd.runs] == [(r.recipe_sha256, r.seed)
                                                                 for r in oracle.runs[:budget_runs]]
        assert all(r.private is None or r.private <= max(privates) for r in rnd.runs)
        for o in (camp, rnd, by[("ofat", seed)], oracle):
            expected = next((p.runs for p in o.curve if p.private is not None and p.private >= 0.9 * max(privates)),
                            None)
            assert o.runs_to_90 == expected
    scipy_stats = pytest.importorskip("scipy.stats")
    for m in report.summary:
        xs = [by[(m.method, s)].chosen_private for s in (0, 1)]
        half = scipy_stats.t.ppf(0.975, 1) * statistics.stdev(xs) / math.sqrt(2)
        assert m.mean == pytest.approx(statistics.mean(xs))
        assert m.ci95_low == pytest.approx(statistics.mean(xs) - half, abs=1e-3)
    assert [d.method for d in report.campaign_minus] == ["random", "ofat", "oracle"]
    for d in report.campaign_minus:  # paired by seed
        diffs = [by[("campaign", s)].chosen_private - by[(d.method, s)].chosen_private for s in (0, 1)]
        half = scipy_stats.t.ppf(0.975, 1) * statistics.stdev(diffs) / math.sqrt(2)
        assert d.n == 2 and d.mean == pytest.approx(statistics.mean(diffs))
        assert d.ci95_high == pytest.approx(statistics.mean(diffs) + half, abs=1e-3)
    # resumable: a second run retrains nothing and gives the same outcomes
    again = bench(tmp_path, *TINY_BENCHES["efficiency"])
    assert again.returncode == 0, again.stderr[-2000:]
    assert "already finished" in again.stdout
    run_lines = [ln for ln in again.stdout.splitlines() if " run " in ln and "dev" in ln]
    assert run_lines and all("(cached)" in ln for ln in run_lines)
    second = EfficiencyReport.model_validate_json((tmp_path / "bench" / "efficiency.json").read_text())
    assert [m.mean for m in second.summary] == [m.mean for m in report.summary]


def merge_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", "bench", "merge-efficiency", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=120, check=False)


def split_by_seed(report: EfficiencyReport, folder: Path) -> list[Path]:
    """One report per seed, as `--seeds 1 --first-seed S` on another machine would write it (no summary)."""
    paths = []
    for seed in report.seeds:
        part = report.model_copy(deep=True, update={
            "seeds": [seed], "outcomes": [o for o in report.outcomes if o.seed == seed],
            "oracle": {str(seed): report.oracle[str(seed)]}, "summary": []})
        paths.append(folder / f"efficiency-s{seed}.json")
        paths[-1].write_text(part.model_dump_json())
    return paths


def finished_efficiency(started: dict[str, tuple[Path, subprocess.Popen]]) -> tuple[Path, EfficiencyReport]:
    """(root, report) of the tiny efficiency bench, once it has exited successfully."""
    root, proc = finished(started, "efficiency")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, EfficiencyReport.model_validate_json((root / "bench" / "efficiency.json").read_text())


def assert_merge_refused(files: list[Path], says: str, out: Path) -> None:
    """merge-efficiency fails with one line containing `says` and writes nothing."""
    bad = merge_cli(*map(str, files), "--out", str(out))
    lines = [ln for ln in bad.stderr.splitlines() if ln.strip()]
    assert bad.returncode != 0 and len(lines) == 1 and says in lines[0], bad.stderr
    assert not out.exists()


@pytest.mark.slow
def test_merge_efficiency_rebuilds_the_one_run_report(started_benches: dict[str, tuple[Path, subprocess.Popen]],
                                                      tmp_path: Path) -> None:
    _, whole = finished_efficiency(started_benches)
    assert whole.substrate_fingerprint and whole.split_items == 30
    parts = split_by_seed(whole, tmp_path)
    out = tmp_path / "merged.json"
    merged_run = merge_cli(*map(str, reversed(parts)), "--out", str(out))
    assert merged_run.returncode == 0, merged_run.stderr
    merged = EfficiencyReport.model_validate_json(out.read_text())
    assert merged.seeds == [0, 1] and merged.oracle == whole.oracle and merged.outcomes == whole.outcomes
    for m in merged.summary:  # recomputed from the outcomes, checked here with statistics
        xs = [o.chosen_private for o in whole.outcomes if o.method == m.method]
        assert m.n == 2 and m.mean == pytest.approx(statistics.mean(xs))
        assert m.runs_to_90 == [o.runs_to_90 for o in whole.outcomes if o.method == m.method]
    assert [m.model_dump() for m in merged.summary] == [m.model_dump() for m in whole.summary]
    assert [d.model_dump() for d in merged.campaign_minus] == [d.model_dump() for d in whole.campaign_minus]

    # not the same bench, the same seed twice, a report from before fingerprints: one line, nothing written
    other = EfficiencyReport.model_validate_json(parts[1].read_text()).model_copy(update={"workers": 3})
    (tmp_path / "other.json").write_text(other.model_dump_json())
    old = EfficiencyReport.model_validate_json(parts[1].read_text()).model_copy(update={"substrate_fingerprint": ""})
    (tmp_path / "old.json").write_text(old.model_dump_json())
    for files, says in ([[parts[0], tmp_path / "other.json"], "workers"], [[parts[0], parts[0]], "seed 0"],
                        [[parts[0], tmp_path / "old.json"], "substrate_fingerprint"], [[parts[0]], "at least two"]):
        assert_merge_refused(files, says, tmp_path / "bad.json")


def _without_cache_flags(o: MethodOutcome) -> dict:
    """An outcome as data; `cached` says only whether this process trained the run."""
    return o.model_dump(exclude={"runs": {"__all__": {"cached"}}})


@pytest.mark.slow
def test_methods_run_apart_merge_into_the_one_run_report(started_benches: dict[str, tuple[Path, subprocess.Popen]],
                                                         tmp_path: Path) -> None:
    root, whole = finished_efficiency(started_benches)
    seed_0 = ["efficiency", "--seeds", "1", "--rounds", "1", "--workers", "2", *COMMON]
    parts: dict[str, Path] = {}
    for methods in ("random", "ofat,oracle"):
        parts[methods] = tmp_path / f"{methods}.json"
        run = bench(root, *seed_0, "--methods", methods, "--out", str(parts[methods]))
        assert run.returncode == 0, run.stderr[-2000:]
        assert "already finished" in run.stdout  # the campaign is read back, not re-run
        run_lines = [ln for ln in run.stdout.splitlines() if " run " in ln and "dev" in ln]
        assert run_lines and all("(cached)" in ln for ln in run_lines)
        for other in {"random", "ofat", "oracle"} - set(methods.split(",")):
            assert f"{other} s0 run" not in run.stdout
    random_only = EfficiencyReport.model_validate_json(parts["random"].read_text())
    assert random_only.methods == ["campaign", "random"] == [m.method for m in random_only.summary]
    assert random_only.oracle == {"0": None} and all(o.runs_to_90 is None for o in random_only.outcomes)
    expected = [o for o in whole.outcomes if o.seed == 0 and o.method in ("campaign", "random")]
    # runs_to_90 needs the oracle, which this report lacks
    assert [_without_cache_flags(o) | {"runs_to_90": None} for o in random_only.outcomes] == \
        [_without_cache_flags(o) | {"runs_to_90": None} for o in expected]

    out = tmp_path / "merged.json"
    # the random-only report first: its campaign outcome (kept) has no runs-to-90 until the merge recomputes it
    merged_run = merge_cli(str(parts["random"]), str(parts["ofat,oracle"]), "--out", str(out))
    assert merged_run.returncode == 0, merged_run.stderr
    merged = EfficiencyReport.model_validate_json(out.read_text())
    assert merged.seeds == [0] and merged.methods == ["campaign", "random", "ofat", "oracle"]
    assert merged.oracle == {"0": whole.oracle["0"]}
    assert [_without_cache_flags(o) for o in merged.outcomes] == \
        [_without_cache_flags(o) for o in whole.outcomes if o.seed == 0]
    assert [(m.method, m.n, m.mean) for m in merged.summary] == \
        [(o.method, 1, o.chosen_private) for o in whole.outcomes if o.seed == 0]
    camp = next(o.chosen_private for o in whole.outcomes if o.seed == 0 and o.method == "campaign")
    assert [(d.method, d.n, d.mean) for d in merged.campaign_minus] == \
        [(o.method, 1, pytest.approx(camp - o.chosen_private)) for o in whole.outcomes
         if o.seed == 0 and o.method != "campaign"]

    # a baseline twice, or two different campaigns for one seed: one line, nothing written
    other = EfficiencyReport.model_validate_json(parts["random"].read_text())
    other.outcomes[0].chosen_private = (other.outcomes[0].chosen_private or 0.0) + 0.5
    (tmp_path / "other-campaign.json").write_text(other.model_dump_json())
    for files, says in ([[parts["random"], parts["random"]], "seed 0's random"],
                        [[parts["ofat,oracle"], tmp_path / "other-campaign.json"], "seed 0's campaign differs"]):
        assert_merge_refused(files, says, tmp_path / "bad.json")


@pytest.mark.slow
def test_aa_tiny_noop_runs_the_standing_recipe_with_per_worker_seeds(
        started_benches: dict[str, tuple[Path, subprocess.Popen]]) -> None:
    tmp_path, proc = finished(started_benches, "aa")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = AAReport.model_validate_json((tmp_path / "bench" / "aa.json").read_text())
    assert report.worker_seeds == "per_worker" and report.placebo_key == "sleep_s"
    row = report.per_seed[0]
    paths = CampaignPaths(tmp_path, row.campaign)
    reports = [json.loads(p.read_text()) for p in sorted(paths.reports.glob("round-*.json"))]
    policies = {p.stem: json.loads(p.read_text()) for p in paths.policies.glob("round-*.json")}
    assert row.rounds_run == len(reports) >= 1
    for r in range(1, row.rounds_run + 1):
        standing = policies[f"round-{r:03d}"]["standing_recipe"]
        briefs = [json.loads(p.read_text()) for p in sorted((paths.round_state(r) / "briefs").glob("w*.json"))]
        manifests = [json.loads(p.read_text()) for p in sorted((paths.round_state(r) / "manifests").glob("w*.json"))]
        assert len({b["seed"] for b in briefs}) == len(briefs) == 3  # distinct seeds
        assert [m["seed"] for m in manifests] == [b["seed"] for b in briefs]
        assert briefs[0]["axis"] is None and briefs[0]["seed"] == round_seed(0, r)
        for m in manifests:  # the standing recipe; explorers differ only by the inert placebo key
            diff = {k for k in set(standing) | set(m["recipe"]) if standing.get(k) != m["recipe"].get(k)}
            assert diff <= {"sleep_s"} and (m["is_baseline"] or m["recipe"]["sleep_s"] == report.placebo_value)
        # noop scores ignore sleep_s: an explorer that chose the anchor's step has the anchor's leaderboard
        cands = reports[r - 1]["candidates"]
        anchor = next(c for c in cands if c["is_baseline"])
        for c in cands:
            if c["leaderboard"] is not None and c["chosen_step"] == anchor["chosen_step"]:
                assert c["leaderboard"] == anchor["leaderboard"]
    final = policies[f"round-{max(int(k[-3:]) for k in policies):03d}"]
    assert row.promotions == len(final["promotions"]) and row.dead_ends == len(final["dead_ends"])
    assert row.drift_flags == sum(rep["calibration"]["drift_flag"] for rep in reports)
    assert report.rounds_total == row.rounds_run
    assert report.false_promotion_rate == pytest.approx(len({p["round"] for p in final["promotions"]}) / row.rounds_run)


@pytest.mark.slow
def test_drift_tiny_noop_records_the_rounds(started_benches: dict[str, tuple[Path, subprocess.Popen]]) -> None:
    tmp_path, proc = finished(started_benches, "drift")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = DriftReport.model_validate_json((tmp_path / "bench" / "drift.json").read_text())
    assert report.axis_key == "mixture_weights.equations" and report.extra_axes == ["learning_rate"]
    row = report.per_seed[0]
    paths = CampaignPaths(tmp_path, row.campaign)
    axes = yaml.safe_load(Path(json.loads(paths.config.read_text())["config"]["axes_file"]).read_text())
    assert [a["key"] for a in axes] == ["mixture_weights.equations", "learning_rate"]
    # --axis-start (default 0.25) plants the standing value: the other weights and --recipe-overrides stay
    weights = {**yaml.safe_load((NOOP / "recipe.yaml").read_text())["mixture_weights"], "equations": 0.25}
    overrides = json.loads(paths.config.read_text())["config"]["recipe_overrides"]
    assert overrides == {"sleep_s": 0.02, "mixture_weights": weights} == report.recipe_overrides
    round1 = [json.loads(p.read_text()) for p in sorted((paths.rounds / "r001" / "manifests").glob("w*.json"))]
    anchors = [m for m in round1 if m["axis"] == "baseline"]
    assert len(anchors) == 1 and anchors[0]["recipe"]["mixture_weights"] == weights
    reports = [json.loads(p.read_text()) for p in sorted(paths.reports.glob("round-*.json"))]
    rises = [rep["round"] for rep in reports if rep["calibration"]["dev_only_rise"]]
    flags = [rep["round"] for rep in reports if rep["calibration"]["drift_flag"]]
    assert row.first_dev_only_rise == (rises[0] if rises else None)
    assert row.flagged_round == (flags[0] if flags else None)
    if row.flagged_round is not None and row.first_dev_only_rise is not None:
        assert row.flagged_round >= row.first_dev_only_rise
    assert report.flagged_within_2 == int(row.flagged_within_2)


@pytest.mark.parametrize(("args", "option"), [
    (["efficiency", "--seeds", "0"], "--seeds"),
    (["efficiency", "--methods", "random,grid"], "--methods"),
    (["aa", "--substrate", "no/such/substrate"], "--substrate"),
    (["drift", "--substrate", str(NOOP), "--constitution", str(REPO / "constitution"), "--recipe-overrides",
      "[1, 2]"], "--recipe-overrides"),
    (["drift", "--substrate", str(NOOP), "--constitution", str(REPO / "constitution"), "--axis-key", "nope"],
     "--axis-key"),
    (["drift", "--substrate", str(NOOP), "--constitution", str(REPO / "constitution"), "--axis-start", "high"],
     "--axis-start"),
])
def test_bad_options_fail_with_one_line_naming_the_option(tmp_path: Path, args: list[str], option: str) -> None:
    proc = bench(tmp_path, *args)
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and option in lines[0], proc.stderr
    assert not (tmp_path / "bench").exists() and not (tmp_path / "campaigns").exists()


def test_axes_file_replaces_the_search_space_and_is_validated(tmp_path: Path) -> None:
    from evotrain.errors import EvotrainError
    from orchestrator.campaign.inputs import check_inputs

    def cfg(axes: list[dict]) -> CampaignConfig:
        path = tmp_path / "axes.yaml"
        path.write_text(yaml.safe_dump(axes))
        return CampaignConfig(name="c", substrate=str(NOOP), constitution=str(REPO / "constitution"),
                              axes_file=str(path))

    planted = {"name": "planted", "category": "data_mix", "key": "mixture_weights.equations",
               "range": {"kind": "linear", "low": 0.25, "high": 4.0}}
    policy = check_inputs(tmp_path, cfg([planted])).policy
    assert [(a.name, a.status) for a in policy.axes] == [("planted", "active")]
    with pytest.raises(EvotrainError, match=r"^config field 'axes_file': .*'nope'"):
        check_inputs(tmp_path, cfg([{**planted, "key": "nope"}]))
    with pytest.raises(EvotrainError, match=r"^config field 'axes_file'"):
        check_inputs(tmp_path, CampaignConfig(name="c", substrate=str(NOOP), constitution=str(REPO / "constitution"),
                                              axes_file="missing.yaml"))
