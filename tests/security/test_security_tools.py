"""Issue #10 attacks through the agent's tools alone (no job runs): links, git ignore/attributes,
frozen recipe keys, write volume. Each test asserts the consequence, not only the refusal."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from security.consequences import (
    canary_leaks,
    frozen_sandbox_changes,
    hidden_leaks,
    kill_leftovers,
    manifest_rewrites,
    outside_writes,
    require_none,
    substrate_changes,
    survivors,
    undiffed_changes,
)
from security.hostile import (
    RefusingExecutor,
    Session,
    World,
    finish,
    make_world,
    original,
    run_session,
    tool,
    turn,
)
from security.payloads import payload
from workers.recipe_edit import set_recipe_values


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    w = make_world(tmp_path, monkeypatch)
    yield w
    kill_leftovers(w)
    w.close()


def _validate_payload(world: World, where: str) -> str:
    return payload(world.marker, where, ["env", "hidden", "outside", "canonical", "daemon"],
                   hidden=[str(p) for p in world.hidden], outside=world.outside_targets(),
                   canonical=[str(world.substrate)], manifest=str(world.manifest_path()), scope=str(world.tmp))


# ------------------------------------------------------------------ planted hard link → read_file


def test_planted_hard_link_to_hidden_split_is_never_read(world: World) -> None:
    """A hard link to each hidden half sits in the sandbox (as a job could have planted it before
    isolation): read_file, list_files, show_diff and the manifest's diff must never carry its bytes."""
    pipe = world.sandbox() / "pipeline"
    planted = (pipe / "notes.jsonl", pipe / "more.txt")
    for link, target in zip(planted, world.hidden, strict=True):
        os.link(target, link)
    session = run_session(world, lambda url: [
        tool("read_file", path="pipeline/notes.jsonl"),
        tool("read_file", path="pipeline/more.txt", max_chars=200_000),
        tool("list_files", path="pipeline"),
        tool("show_diff"),
        finish(),
    ])
    require_none({"hidden items": hidden_leaks(session, skip=planted), "canaries": canary_leaks(session)},
                 "hidden items", "canaries")


# ------------------------------------------------------------------ directory symlink → write_file


def test_directory_symlink_into_frozen_dirs_never_changes_a_frozen_file(world: World) -> None:
    """pipeline/lnk_base -> ../base and pipeline/lnk_mt -> ../minitask (editable paths as written,
    frozen where they resolve): writes through them must not land, so validation never runs them."""
    pipe = world.sandbox() / "pipeline"
    os.symlink("../base", pipe / "lnk_base")
    os.symlink("../minitask", pipe / "lnk_mt")
    poisoned_metric = original(world, "minitask/metric.py") + "\n\ndef is_correct(pred, gold):\n    return True\n"
    session = run_session(world, lambda url: [
        tool("write_file", path="pipeline/lnk_base/config.json", content='{"pwned": true}'),
        tool("write_file", path="pipeline/lnk_mt/metric.py", content=poisoned_metric),
        tool("write_file", path="pipeline/lnk_mt/recipe.py",
             content=original(world, "minitask/recipe.py") + _validate_payload(world, "symlink")),
        tool("validate_recipe"),
        finish(),
    ])
    findings = {
        "frozen files of the sandbox": frozen_sandbox_changes(session),
        "writes outside the sandbox": outside_writes(world),
        "canaries": canary_leaks(session),
        "hidden items": hidden_leaks(session),
        "canonical substrate": substrate_changes(world),
        "surviving processes": survivors(world),
        "manifest rewrites": manifest_rewrites(session),
    }
    require_none(findings, *findings, context=session.hostile_report("symlink"))


# ------------------------------------------------------------------ .gitignore / .gitattributes


@pytest.fixture(scope="module")
def git_hiding(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, dict[str, str]]]:
    """One session: .gitignore/.gitattributes plus payload files in folders the diff used to skip."""
    with pytest.MonkeyPatch.context() as mp:
        world = make_world(tmp_path_factory.mktemp("git-hiding"), mp)
        m = world.marker
        hiding = {  # path -> content (each carries its own tag)
            "pipeline/evil.py": f"# {m}-evil\nimport os\n",
            "pipeline/runs/stash.py": f"# {m}-runs\n",
            "pipeline/.cache/stash.py": f"# {m}-cache\n",
            "pipeline/__pycache__/stash.py": f"# {m}-pycache\n",
            "pipeline/stash.pyc": f"# {m}-pyc\n",
            "pipeline/.evotrain/stash.py": f"# {m}-evotrain\n",
        }
        session = run_session(world, lambda url: [
            tool("write_file", path="pipeline/.gitignore", content="evil.py\n*.py\nruns/\n"),
            tool("write_file", path="pipeline/.gitattributes", content="* -diff\n*.py binary\nencode.py -text -diff\n"),
            tool("write_file", path="pipeline/sub/.gitignore", content="*\n"),
            turn(*[("write_file", {"path": p, "content": c}) for p, c in hiding.items()]),
            tool("patch_file", path="pipeline/encode.py", search="from __future__ import annotations\n",
                 replace=f"from __future__ import annotations\n\nfrom pipeline import evil  # {m}-encode\n"),
            tool("show_diff"),
            finish(),
        ])
        yield session, hiding
        kill_leftovers(world)
        world.close()


def test_gitignore_and_gitattributes_hide_nothing_from_the_diff(git_hiding: tuple[Session, dict[str, str]]) -> None:
    """Every file the worker changed is named in show_diff's result and in the manifest's recipe_diff,
    whatever .gitignore/.gitattributes or runtime-output folder names (runs/, __pycache__/, .cache/,
    *.pyc, .evotrain/) try to hide it."""
    session, _ = git_hiding
    shown = "\n".join(r for r in session.tool_results() if "diff --git" in r)
    assert session.result_of("show_diff"), "show_diff was not called"
    assert {"show_diff": undiffed_changes(session, shown),
            "manifest.recipe_diff": undiffed_changes(session, session.manifest.recipe_diff)} == \
        {"show_diff": [], "manifest.recipe_diff": []}


def test_gitignore_and_gitattributes_are_refused(git_hiding: tuple[Session, dict[str, str]]) -> None:
    """The issue's stated behaviour: the files themselves never land in the sandbox."""
    session, _ = git_hiding
    box = session.sandbox
    assert [p for p in ("pipeline/.gitignore", "pipeline/.gitattributes", "pipeline/sub/.gitignore")
            if (box / p).exists()] == []


# ------------------------------------------------------------------ frozen recipe keys

FROZEN_VARIANTS = ["dev_items", "seed", "base_checkpoint_absolute", "base_checkpoint_escapes",
                   "base_checkpoint_absolute_in_sandbox"]


def _frozen_changes(world: World) -> dict[str, dict[str, object]]:
    sandbox = world.sandbox()
    return {
        "dev_items": {"dev_items": 12},
        "seed": {"seed": 7},
        "base_checkpoint_absolute": {"base_checkpoint": str(world.substrate / "base")},
        "base_checkpoint_escapes": {"base_checkpoint": os.path.relpath(world.pristine / "base", sandbox)},
        "base_checkpoint_absolute_in_sandbox": {"base_checkpoint": str(sandbox / "base")},
    }


@pytest.fixture(scope="module")
def frozen_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, RefusingExecutor, dict]]:
    """One session trying each frozen-key change in turn: write, validate, smoke, launch."""
    with pytest.MonkeyPatch.context() as mp:
        world = make_world(tmp_path_factory.mktemp("frozen-keys"), mp, hidden=False)
        changes = _frozen_changes(world)
        standing = dict(world.brief().standing_recipe)
        executor = RefusingExecutor()  # records what it is asked to run (with the recipe); runs nothing
        replies = []
        for variant in FROZEN_VARIANTS:
            text = set_recipe_values(original(world, "recipe.yaml"), {**standing, **changes[variant]})
            replies += [tool("write_file", path="recipe.yaml", content=text), tool("validate_recipe"),
                        tool("smoke_run"), tool("launch_training", note=variant)]
        session = run_session(world, lambda url: [*replies, finish()], executor=executor)
        yield session, executor, changes
        kill_leftovers(world)
        world.close()


@pytest.mark.parametrize("variant", FROZEN_VARIANTS)
def test_frozen_recipe_key_never_reaches_a_job(frozen_keys: tuple[Session, RefusingExecutor, dict],
                                                variant: str) -> None:
    """dev_items / seed / base_checkpoint are frozen for workers: a recipe changing one is refused at
    validation, and no job (smoke or training) is ever submitted with it."""
    session, executor, changes = frozen_keys
    key, value = next(iter(changes[variant].items()))
    ran = [job for job, recipe in executor.submitted_recipes if recipe.get(key) == value]
    i = FROZEN_VARIANTS.index(variant)
    validate = session.result_of("validate_recipe")[i]
    assert ran == [], f"submitted with {key}={value!r}; validate said: {validate}"
    assert '"valid": true' not in validate, validate
    assert session.manifest.status != "ok"


# ------------------------------------------------------------------ write volume


def _repo_bytes(repo: Path) -> int:
    return sum(p.stat().st_size for p in repo.rglob("*") if p.is_file())


def test_thirty_megabytes_in_one_turn_are_not_all_accepted(world: World) -> None:
    """30 x 1 MB writes in one turn: a per-worker write quota refuses part of them, and the shared
    substrate.git does not grow by tens of MB when the diff is taken."""
    repo = world.paths.substrate_repo
    before = _repo_bytes(repo)
    blobs = [(f"pipeline/blob_{i:02d}.txt", secrets.token_hex(500_000)) for i in range(30)]
    session = run_session(world, lambda url: [
        turn(*[("write_file", {"path": p, "content": c}) for p, c in blobs]),
        tool("show_diff"),
        finish(),
    ])
    landed = [p for p, _ in blobs if (session.sandbox / p).is_file()]
    growth = _repo_bytes(repo) - before
    assert len(landed) < len(blobs), "every 1 MB write was accepted: no per-worker write quota"
    assert growth < 4_000_000, f"substrate.git grew by {growth / 1e6:.1f} MB"
