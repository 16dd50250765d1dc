"""Continuous cycle, fast parts: gate decisions, champion archive/pointer/rollback, generators
(entry-point registry, failures reported, drop folder, python-ast, git-diff), config errors, locks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evotrain.errors import EvotrainError
from orchestrator.cycle.champion import archive, promote, rollback
from orchestrator.cycle.cli import build_cycle_app
from orchestrator.cycle.config import DEFAULT_SUBSTRATE, GateConfig, GeneratorConfig, load_config, parse_duration
from orchestrator.cycle.gate import decide
from orchestrator.cycle.generators.base import GeneratorContext, available, run_one
from orchestrator.cycle.lock import InstanceLock
from orchestrator.cycle.models import BenchmarkOutput, ChampionEntry
from orchestrator.cycle.store import CyclePaths, archive_entries, load_pointer
from orchestrator.cycle.substrate_io import spec_of

SPEC = spec_of(DEFAULT_SUBSTRATE)


def bench(overall: float, **cats: float) -> BenchmarkOutput:
    return BenchmarkOutput(overall=overall, by_category=cats, n_items=60)


def champ(overall: float, **cats: float) -> ChampionEntry:
    return ChampionEntry(id="c0001", adapter_dir="archive/c0001/adapter", overall=overall, by_category=cats)


# -- gate ---------------------------------------------------------------------------------------
def test_gate_overall_threshold_both_sides() -> None:
    gate = GateConfig(min_overall=0.70, min_category=0.30)
    assert decide(bench(0.70, a=0.7, b=0.7), gate, None).promote
    out = decide(bench(0.69, a=0.69, b=0.69), gate, None)
    assert not out.promote and out.reasons == ["overall 0.690 < 0.700"]


def test_gate_category_minimum_both_sides_and_overrides() -> None:
    gate = GateConfig(min_overall=0.5, min_category=0.30, category_min={"b": 0.5})
    assert decide(bench(0.8, a=0.30, b=0.50), gate, None).promote
    out = decide(bench(0.8, a=0.29, b=0.49), gate, None)
    assert not out.promote
    assert out.regressed == ["a", "b"] and out.weak_categories == ["a", "b"]


def test_gate_beat_champion_by_margin() -> None:
    gate = GateConfig(min_overall=0.0, min_category=0.0, beat_champion_by=0.03)
    assert decide(bench(0.231, a=0.5), gate, champ(0.20, a=0.5)).promote
    out = decide(bench(0.23, a=0.1), gate, champ(0.20, a=0.5))
    assert not out.promote and "does not beat champion c0001" in out.reasons[0]
    assert out.regressed == ["a"]  # below the champion's score by more than the margin
    tie = GateConfig(min_overall=0.0, min_category=0.0, beat_champion_by=0.0)
    assert not decide(bench(0.20, a=0.5), tie, champ(0.20, a=0.5)).promote


# -- champion archive, pointer, rollback ---------------------------------------------------------
def fake_adapter(folder: Path, tag: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"tag": tag}))
    (folder / "adapter_model.safetensors").write_bytes(tag.encode())
    return folder


def test_promote_archive_and_rollback(tmp_path: Path) -> None:
    paths = CyclePaths(tmp_path / "state")
    promote(paths, "c0001", fake_adapter(tmp_path / "a1", "one"), bench(0.2, a=0.2))
    promote(paths, "c0002", fake_adapter(tmp_path / "a2", "two"), bench(0.3, a=0.3))
    pointer = load_pointer(paths)
    assert (pointer.champion, pointer.previous) == ("c0002", ["c0001"])
    assert [e.id for e in archive_entries(paths)] == ["c0001", "c0002"]
    assert json.loads((paths.archived("c0001") / "adapter" / "adapter_config.json").read_text()) == {"tag": "one"}
    entry = rollback(paths, None)
    assert entry.id == "c0001" and load_pointer(paths).champion == "c0001"
    assert [e.id for e in archive_entries(paths)] == ["c0001", "c0002"]  # nothing lost
    rollback(paths, "c0002")
    assert load_pointer(paths).champion == "c0002"
    with pytest.raises(EvotrainError, match="'c0009': not in the archive"):
        rollback(paths, "c0009")
    assert [h["action"] for h in load_pointer(paths).history] == ["promote", "promote", "rollback", "rollback"]


def test_promotion_interrupted_after_archiving_completes_once(tmp_path: Path) -> None:
    paths = CyclePaths(tmp_path / "state")
    adapter = fake_adapter(tmp_path / "a1", "one")
    archive(paths, "c0001", adapter, bench(0.2))  # the kill falls after the copy, before the pointer
    assert load_pointer(paths).champion is None
    promote(paths, "c0001", adapter, bench(0.2))
    promote(paths, "c0001", adapter, bench(0.2))  # a replayed stage changes nothing
    pointer = load_pointer(paths)
    assert pointer.champion == "c0001" and len(pointer.history) == 1
    assert [e.id for e in archive_entries(paths)] == ["c0001"]


def test_rollback_cli_restores_an_archived_champion(tmp_path: Path) -> None:
    config = tmp_path / "cycle.yaml"
    config.write_text(f"name: t\nworkdir: {tmp_path / 'w'}\n")
    app = build_cycle_app()
    result = CliRunner().invoke(app, ["rollback", "--config", str(config)])
    assert result.exit_code == 2
    assert "rollback: no earlier champion" in result.output
    paths = CyclePaths(tmp_path / "w" / "t")
    promote(paths, "c0001", fake_adapter(tmp_path / "a1", "one"), bench(0.2, a=0.2))
    promote(paths, "c0003", fake_adapter(tmp_path / "a3", "three"), bench(0.3, a=0.3))
    result = CliRunner().invoke(app, ["rollback", "c0001", "--config", str(config)])
    assert result.exit_code == 0 and "c0003 -> c0001" in result.output
    assert load_pointer(paths).champion == "c0001"
    assert [e.id for e in archive_entries(paths)] == ["c0001", "c0003"]


# -- config -------------------------------------------------------------------------------------
def test_config_errors_name_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("name: x\nquality: {max_bigram_repeat: 2}\n")
    with pytest.raises(EvotrainError, match=r"field 'quality\.max_bigram_repeat'"):
        load_config(bad)
    bad.write_text("name: x\ngate: {min_overal: 0.5}\n")
    with pytest.raises(EvotrainError, match=r"field 'gate\.min_overal'"):
        load_config(bad)
    assert parse_duration("12h") == 43200 and parse_duration("2s") == 2
    with pytest.raises(EvotrainError, match="--every"):
        parse_duration("soon", "--every")


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("name: x\nworkdir: state\n")
    assert load_config(tmp_path / "c.yaml").state_dir == tmp_path / "state" / "x"


# -- generators ---------------------------------------------------------------------------------
def ctx(tmp_path: Path, source: str, carry: dict | None = None, number: int = 1) -> GeneratorContext:
    return GeneratorContext(f"c{number:04d}", number, source, DEFAULT_SUBSTRATE, SPEC, tmp_path,
                            tmp_path / "w" / source, carry=carry or {})


def test_user_generator_registered_through_an_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_miner.py").write_text(
        "from orchestrator.cycle.generators.base import GeneratorResult\n"
        "from orchestrator.cycle.models import Example\n"
        "def generate(ctx, options):\n"
        "    return GeneratorResult([Example(id='m-0', source=ctx.source, category='intent',\n"
        "        prompt='Route: restart the scheduler', response='handler: ops.restart(service=scheduler)')])\n"
        "def broken(ctx, options):\n"
        "    raise RuntimeError('miner backend unreachable')\n")
    dist = tmp_path / "my_miner-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-miner\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[evotrain.cycle_generators]\nsession-miner = my_miner:generate\nbroken-miner = my_miner:broken\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert available()["session-miner"] == "my_miner:generate"
    examples, report, _ = run_one(GeneratorConfig(kind="session-miner"), ctx(tmp_path, "session-miner"))
    assert report.ok and [e.category for e in examples] == ["intent"]
    examples, report, _ = run_one(GeneratorConfig(kind="broken-miner"), ctx(tmp_path, "broken-miner"))
    assert examples == [] and not report.ok and "miner backend unreachable" in report.error


def test_jsonl_folder_consumes_each_file_once_and_counts_bad_lines(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.jsonl").write_text(
        json.dumps({"prompt": "p1", "response": "r1", "category": "intent"}) + "\n"
        + "not json\n" + json.dumps({"prompt": "p2"}) + "\n")
    examples, report, carry = run_one(GeneratorConfig(kind="jsonl"), ctx(tmp_path, "jsonl"))
    assert [e.prompt for e in examples] == ["p1"] and examples[0].category == "intent"
    assert report.notes["bad_lines"] == 2 and report.notes["first_error"].startswith("a.jsonl:2:")
    again, report, _ = run_one(GeneratorConfig(kind="jsonl"), ctx(tmp_path, "jsonl", carry, number=2))
    assert again == [] and report.notes["files"] == 0


def test_python_ast_pairs_from_a_small_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "mod.py").write_text(
        'def area(w: int, h: int) -> int:\n    """Area of a w x h rectangle."""\n    return w * h\n\n'
        'def floor_plan(rooms):\n    """Total area of all rooms."""\n    return sum(area(*r) for r in rooms)\n')
    (repo / "broken.py").write_text("def oops(:\n")
    cfg = GeneratorConfig(kind="python-ast", options={"root": str(repo)})
    examples, report, _ = run_one(cfg, ctx(tmp_path, "python-ast"))
    pairs = {e.prompt: e.response for e in examples}
    assert pairs["What does the function `area` in `mod` do?"] == "Area of a w x h rectangle."
    assert pairs["Write the signature of `area` in `mod` (Area of a w x h rectangle.)."] == \
        "def area(w: int, h: int) -> int"
    assert pairs["Where is `area` from `mod` called?"] == "`area` is called from mod.floor_plan."
    assert report.notes["unparsable"] == 1


def _git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x", "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


def test_git_diff_mines_only_commits_since_the_last_cycle(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "a.py").write_text("x = 1\n")
    _git(repo, "add", "a.py")
    _git(repo, "commit", "-q", "-m", "Add x")
    cfg = GeneratorConfig(kind="git-diff", options={"repo": str(repo)})
    first, _, carry = run_one(cfg, ctx(tmp_path, "git-diff"))
    assert len(first) == 1 and first[0].response.startswith("Add x. It touches 1 file(s) (a.py), adding 1")
    (repo / "a.py").write_text("x = 2\n")
    _git(repo, "commit", "-q", "-am", "Change x to two")
    second, _, carry2 = run_one(cfg, ctx(tmp_path, "git-diff", carry, number=2))
    assert [e.response.split(".")[0] for e in second] == ["Change x to two"]
    assert "-x = 1" in second[0].prompt and "+x = 2" in second[0].prompt
    third, report, _ = run_one(cfg, ctx(tmp_path, "git-diff", carry2, number=3))
    assert third == [] and report.notes["commits"] == 0


def test_substrate_generator_tags_source_and_category(tmp_path: Path) -> None:
    cfg = GeneratorConfig(kind="substrate", options={"n_per_family": 2})
    examples, report, _ = run_one(cfg, ctx(tmp_path, "substrate"))
    assert report.ok and len(examples) == 12
    assert sorted({e.category for e in examples}) == sorted(SPEC.families)
    assert all(e.item and e.response.endswith("\\boxed{" + e.item["answer"] + "}") for e in examples)
    targeted = GeneratorContext("c0002", 2, "targeted", DEFAULT_SUBSTRATE, SPEC, tmp_path, tmp_path / "t",
                                weak_categories=("gravity", "code_review"))
    examples, report, _ = run_one(GeneratorConfig(kind="targeted", options={"n_per_category": 3}), targeted)
    assert [e.category for e in examples] == ["gravity"] * 3
    assert report.notes["not_generable"] == ["code_review"]


# -- locks --------------------------------------------------------------------------------------
def test_second_daemon_is_refused_with_the_holder(tmp_path: Path) -> None:
    config = tmp_path / "cycle.yaml"
    config.write_text(f"name: t\nworkdir: {tmp_path / 'w'}\n")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from orchestrator.cycle.lock import InstanceLock; "
         f"InstanceLock(Path({str(tmp_path / 'w' / 't' / 'daemon.lock')!r}), 'd').acquire(); "
         "print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = CliRunner().invoke(build_cycle_app(), ["daemon", str(config), "--every", "2s", "--max-cycles", "1"])
        assert result.exit_code == 2
        assert "the cycle daemon of 't' is already running (pid" in result.output
    finally:
        holder.kill()
        holder.wait()
    with InstanceLock(tmp_path / "w" / "t" / "daemon.lock", "d"):  # freed when its holder died
        pass


def test_nemotron_qlora_config_carries_the_seed_recipe_and_is_refused_until_its_substrate_takes_data(
        tmp_path: Path) -> None:
    from orchestrator.cycle.config import REPO_ROOT
    from orchestrator.cycle.stages import require_train_data

    config = load_config(REPO_ROOT / "orchestrator" / "cycle" / "configs" / "nemotron_qlora.yaml")
    overrides = config.recipe_overrides
    assert (overrides["lora_r"], overrides["lora_alpha"], overrides["batch_size"], overrides["grad_accum"]) == \
        (32, 64, 4, 4)
    assert overrides["learning_rate"] == 2e-4 and overrides["lr_scheduler"] == "cosine"
    assert (config.gate.min_overall, config.gate.min_category) == (0.70, 0.30)
    with pytest.raises(EvotrainError, match=r"run_command does not name \{train_data\}"):
        require_train_data(config.substrate)
    require_train_data(REPO_ROOT / "substrate" / "default")  # the embedded substrate takes the data file
