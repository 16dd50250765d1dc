"""`bench efficiency --reuse`: a committed report stands in for another machine's bench cache (noop substrate)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from bench_support import COMMON, bench

from orchestrator.bench.models import EfficiencyReport

SEED_0 = ["efficiency", "--seeds", "1", "--rounds", "1", "--workers", "2", *COMMON]


@pytest.fixture(scope="module")
def earlier(tmp_path_factory: pytest.TempPathFactory) -> EfficiencyReport:
    """Seed 0's tiny efficiency bench with every method, as an earlier machine would have written it."""
    root = tmp_path_factory.mktemp("earlier")
    run = bench(root, *SEED_0)
    assert run.returncode == 0, run.stderr[-2000:]
    return EfficiencyReport.model_validate_json((root / "bench" / "efficiency.json").read_text())


@pytest.mark.slow
def test_reuse_gives_a_new_root_the_same_baselines_without_retraining(earlier: EfficiencyReport,
                                                                       tmp_path: Path) -> None:
    """A committed report stands in for the bench cache of another machine: a fresh root with --reuse
    retrains no baseline run it holds, and its random search and oracle come out the same."""
    whole = earlier
    report = tmp_path / "earlier.json"
    report.write_text(whole.model_copy(update={"outcomes": [o for o in whole.outcomes if o.seed == 0]})
                      .model_dump_json())
    root = tmp_path / "fresh"
    root.mkdir()
    out = tmp_path / "again.json"
    run = bench(root, *SEED_0, "--methods", "random,oracle", "--reuse", str(report), "--out", str(out))
    assert run.returncode == 0, run.stderr[-2000:]
    cache = next((root / "bench" / "cache").iterdir())
    n_distinct = len({(r.recipe_sha256, r.seed) for o in whole.outcomes if o.seed == 0 for r in o.runs})
    assert f"reuse: {n_distinct} of {n_distinct} runs added" in run.stdout
    run_lines = [ln for ln in run.stdout.splitlines() if (" random s0 run " in f" {ln}" or "oracle s0 run" in ln)]
    assert run_lines and all("(cached)" in ln for ln in run_lines)
    assert not any(p.is_dir() for p in cache.iterdir())  # no run folder: nothing was trained
    again = EfficiencyReport.model_validate_json(out.read_text())
    for method in ("random", "oracle"):
        before = next(o for o in whole.outcomes if o.seed == 0 and o.method == method)
        after = next(o for o in again.outcomes if o.seed == 0 and o.method == method)
        assert (after.chosen, after.chosen_public, after.chosen_private) == \
            (before.chosen, before.chosen_public, before.chosen_private)
        assert [(r.recipe_sha256, r.dev, r.public, r.private) for r in after.runs] == \
            [(r.recipe_sha256, r.dev, r.public, r.private) for r in before.runs]

    # a half the report never scored is measured by retraining that run, not read from nowhere: here the
    # report keeps random search's runs without their private scores, and the oracle asks for them
    rnd = next(o for o in whole.outcomes if o.seed == 0 and o.method == "random")
    stripped = rnd.model_copy(deep=True)
    for r in stripped.runs:
        r.private = None
    random_only = tmp_path / "random-only.json"
    random_only.write_text(whole.model_copy(update={"outcomes": [stripped]}).model_dump_json())
    shutil.rmtree(root / "bench" / "cache")  # the campaign stays finished in this root and is read back
    run = bench(root, *SEED_0, "--methods", "oracle", "--reuse", str(random_only), "--out", str(out))
    assert run.returncode == 0, run.stderr[-2000:]
    cache = next((root / "bench" / "cache").iterdir())
    trained = {p.name for p in cache.iterdir() if p.is_dir()}
    assert {f"{r.recipe_sha256[:24]}-s{r.seed}" for r in rnd.runs} <= trained
    oracle_after = next(o for o in EfficiencyReport.model_validate_json(out.read_text()).outcomes
                        if o.method == "oracle")
    oracle_before = next(o for o in whole.outcomes if o.seed == 0 and o.method == "oracle")
    assert [r.private for r in oracle_after.runs] == [r.private for r in oracle_before.runs]

    # another substrate or split size: one line naming --reuse, nothing written
    for field, value, says in (("substrate_fingerprint", "0" * 64, "substrate_fingerprint"),
                               ("split_items", 40, "split_items")):
        bad = tmp_path / f"bad-{field}.json"
        bad.write_text(whole.model_copy(update={field: value}).model_dump_json())
        refused_out = tmp_path / f"refused-{field}.json"
        refused = bench(root, *SEED_0, "--methods", "random", "--reuse", str(bad), "--out", str(refused_out))
        lines = [ln for ln in refused.stderr.splitlines() if ln.strip()]
        assert refused.returncode != 0 and len(lines) == 1 and "--reuse" in lines[0] and says in lines[0], \
            refused.stderr
        assert not refused_out.exists()
