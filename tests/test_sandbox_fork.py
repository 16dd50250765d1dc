"""Forking the substrate into a git repo, worktree sandboxes, frozen-path verification."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from worker_support import make_setup, tree_digest

from evotrain.errors import EvotrainError
from workers.sandbox import (
    create_sandbox,
    fork_substrate,
    frozen_patterns,
    sandbox_diff,
    sandbox_repo,
    spec_at,
    verify_frozen,
)


def test_fork_is_idempotent_and_leaves_the_substrate_untouched(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    before = tree_digest(setup.substrate)
    again = fork_substrate(setup.substrate, setup.paths.substrate_repo)
    assert again.commit == setup.commit and len(again.tree) == 40
    other_repo = fork_substrate(setup.substrate, tmp_path / "elsewhere.git")
    assert other_repo == again  # content-addressed: same folder, same commit anywhere
    assert tree_digest(setup.substrate) == before
    assert not (setup.substrate / ".git").exists()


def test_changed_substrate_gives_a_new_commit(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    (setup.substrate / "data" / "more.csv").write_text("x\n")
    assert fork_substrate(setup.substrate, setup.paths.substrate_repo).commit != setup.commit
    spec = spec_at(setup.paths.substrate_repo, setup.commit)
    assert spec.name == "fake" and "eval/**" in spec.frozen


def test_sandbox_is_a_worktree_reused_on_resume(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    box = create_sandbox(setup.paths.substrate_repo, setup.commit, setup.paths.sandbox(1, "w03"))
    assert box == setup.paths.root / "sandboxes" / "tc" / "r001" / "w03"
    assert (box / ".git").is_file() and (box / "recipe.yaml").read_text().startswith("# fake recipe")
    (box / "recipe.yaml").write_text("learning_rate: 0.1\n")  # work in progress survives a resume
    assert create_sandbox(setup.paths.substrate_repo, setup.commit, box) == box
    assert (box / "recipe.yaml").read_text() == "learning_rate: 0.1\n"
    stray = tmp_path / "stray"
    stray.mkdir()
    with pytest.raises(EvotrainError, match="not a worktree"):
        create_sandbox(setup.paths.substrate_repo, setup.commit, stray)
    with pytest.raises(EvotrainError, match="cannot create worktree"):
        create_sandbox(setup.paths.substrate_repo, "f" * 40, tmp_path / "nowhere")


def _worktrees(git_dir: Path) -> list[str]:
    out = subprocess.run(["git", f"--git-dir={git_dir}", "worktree", "list", "--porcelain"],
                         capture_output=True, text=True, check=True).stdout
    return sorted(line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree "))


def test_each_round_registers_its_worktrees_in_its_own_shard(tmp_path: Path) -> None:
    # `git worktree add` reads every worktree of its registry: one registry per round keeps a fork's
    # cost independent of how many candidates earlier rounds made (issue #17)
    setup = make_setup(tmp_path)
    repo = setup.paths.substrate_repo.resolve()
    boxes = {(r, w): create_sandbox(repo, setup.commit, setup.paths.sandbox(r, w))
             for r in (1, 2) for w in ("w01", "w02")}
    assert _worktrees(repo) == [str(repo)]  # the campaign repo itself registers none
    shards = sorted((repo / "worktree-shards").iterdir())
    assert [s.name.split("-")[0] for s in shards] == ["r001", "r002"]
    for shard, r in zip(shards, (1, 2), strict=True):
        assert not any((shard / "objects").glob("??/*"))  # objects are borrowed, never copied
        registered = [p for p in _worktrees(shard) if p != str(shard)]
        assert registered == sorted(str(boxes[(r, w)]) for w in ("w01", "w02"))
    box = boxes[(2, "w01")]
    assert sandbox_repo(box) == repo  # the shard points back at the campaign repo
    (box / "recipe.yaml").write_text("learning_rate: 0.25\n")
    assert "+learning_rate: 0.25" in sandbox_diff(box, setup.commit)
    shutil.rmtree(box)  # deleted but still registered: re-created through prune
    assert create_sandbox(repo, setup.commit, box) == box and (box / "recipe.yaml").is_file()


def test_verify_frozen_sees_modified_added_deleted_and_symlinked(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    repo = setup.paths.substrate_repo
    box = create_sandbox(repo, setup.commit, setup.paths.sandbox(1, "w01"))
    patterns = frozen_patterns(spec_at(repo, setup.commit), ["data/extra.csv"])
    assert verify_frozen(box, repo, setup.commit, patterns) == []
    (box / "recipe.yaml").write_text("learning_rate: 0.5\n")  # editable: not a tamper
    (box / "runs").mkdir()
    (box / "runs" / "out.txt").write_text("outputs are not tampering")
    (box / "eval" / "__pycache__").mkdir()
    (box / "eval" / "__pycache__" / "harness.cpython-311.pyc").write_bytes(b"cache")
    assert verify_frozen(box, repo, setup.commit, patterns) == []
    (box / "eval" / "harness.py").write_text("SCORING_VERSION = 2  # rogue\n")
    (box / "eval" / "extra_scorer.py").write_text("x = 1\n")
    (box / "base" / "weights.bin").unlink()
    os.symlink("/etc/hostname", box / "base" / "weights.bin")  # replaced by a link: still a change
    (box / "data" / "extra.csv").unlink()  # frozen by the constitution's list
    (box / "substrate.yaml").write_text("name: evil\n")  # the spec itself is always frozen
    assert verify_frozen(box, repo, setup.commit, patterns) == [
        "modified: base/weights.bin",
        "deleted: data/extra.csv",
        "added: eval/extra_scorer.py",
        "modified: eval/harness.py",
        "modified: substrate.yaml",
    ]
