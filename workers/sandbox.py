"""Forks of the immutable substrate: one snapshot commit per campaign, one git worktree per worker
(registered in a per-round shard of the campaign repo).

The substrate folder is only ever read (git is pointed at it with --work-tree; nothing is written
there). Snapshot commits are content-addressed (fixed author/date, no parent), so forking the same
folder twice yields the same commit: idempotent across restarts. Frozen paths are checked after a
worker's run by comparing git blob hashes on disk with the recorded commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path
from typing import NamedTuple

import git
import yaml
from filelock import FileLock
from pydantic import ValidationError

from evotrain.errors import EvotrainError, first_validation_error
from evotrain.schemas.substrate import SubstrateSpec
from workers.substrate_contract import SPEC_FILE, matches_any

SNAPSHOT_BRANCH = "refs/heads/substrate"
SHARDS_DIR = "worktree-shards"  # inside the campaign repo: one worktree registry per sandbox folder
SHARD_PRIMARY = "evotrain-primary"  # in a shard: the path of the campaign repo whose objects it borrows
# Runtime outputs never belong in a snapshot or a diff.
EXCLUDES = ["runs/", "__pycache__/", "*.pyc", ".evotrain/", ".pytest_cache/", ".cache/"]
_FIXED_ENV = {
    "GIT_AUTHOR_NAME": "evotrain",
    "GIT_AUTHOR_EMAIL": "evotrain@localhost",
    "GIT_COMMITTER_NAME": "evotrain",
    "GIT_COMMITTER_EMAIL": "evotrain@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
}


class ForkRef(NamedTuple):
    commit: str
    tree: str


def _git() -> git.Git:
    return git.Git()


def _lock(repo_dir: Path) -> FileLock:
    return FileLock(str(repo_dir.parent / f".{repo_dir.name}.lock"))


def _ensure_repo(repo_dir: Path) -> None:
    if not (repo_dir / "HEAD").is_file():
        repo_dir.mkdir(parents=True, exist_ok=True)
        _git().init("--bare", "-q", str(repo_dir))
    exclude = repo_dir / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    exclude.write_text("\n".join(EXCLUDES) + "\n", encoding="utf-8")


def fork_substrate(substrate_dir: Path | str, repo_dir: Path | str) -> ForkRef:
    """Snapshot `substrate_dir` into the bare repo `repo_dir`; return (commit, tree). Idempotent."""
    src, repo = Path(substrate_dir).resolve(), Path(repo_dir).resolve()
    if not (src / SPEC_FILE).is_file():
        raise EvotrainError(f"{src}: not a substrate ({SPEC_FILE} missing)")
    repo.parent.mkdir(parents=True, exist_ok=True)
    with _lock(repo):
        _ensure_repo(repo)
        g = git.Git(str(src))
        base = [f"--git-dir={repo}", f"--work-tree={src}"]
        env = {**os.environ, "GIT_INDEX_FILE": str(repo / "snapshot.index"), **_FIXED_ENV}
        g.execute(["git", *base, "add", "-A", "."], env=env)
        tree = g.execute(["git", *base, "write-tree"], env=env).strip()
        commit = g.execute(
            ["git", f"--git-dir={repo}", "commit-tree", tree, "-m", f"substrate snapshot of {src.name}"],
            env=env,
        ).strip()
        g.execute(["git", f"--git-dir={repo}", "update-ref", SNAPSHOT_BRANCH, commit])
        # keep every snapshot reachable, so a campaign's recorded commit survives gc
        g.execute(["git", f"--git-dir={repo}", "update-ref", f"refs/snapshots/{commit}", commit])
    return ForkRef(commit=commit, tree=tree)


def sandbox_repo(sandbox: Path) -> Path | None:
    """The campaign's substrate repo of a sandbox (the primary, also when a shard registers the worktree)."""
    try:
        out = _git().execute(["git", "-C", str(sandbox), "rev-parse", "--git-common-dir"])
    except git.GitCommandError:
        return None
    path = Path(out.strip())
    common = (sandbox / path).resolve() if not path.is_absolute() else path.resolve()
    marker = common / SHARD_PRIMARY
    if marker.is_file():
        return Path(marker.read_text(encoding="utf-8").strip()).resolve()
    return common


def worktree_shard(repo: Path, sandbox: Path) -> Path:
    """The bare repo that registers the worktrees of `sandbox`'s folder (one per round), objects borrowed.

    `git worktree add` reads every worktree registered in its repo; with one registry per campaign a
    fork got slower with every candidate (0.08 s with none, 0.44 s with 1,000: issue #17). A shard per
    sandbox folder holds no objects of its own (objects/info/alternates points at the campaign repo,
    whose refs keep every snapshot alive), so each registry holds one round's N worktrees.
    """
    key = hashlib.sha1(str(sandbox.parent).encode("utf-8")).hexdigest()[:16]
    shard = repo / SHARDS_DIR / f"{sandbox.parent.name}-{key}.git"
    if not (shard / SHARD_PRIMARY).is_file():
        if not (shard / "HEAD").is_file():
            shard.mkdir(parents=True, exist_ok=True)
            _git().init("--bare", "-q", str(shard))
        alternates = shard / "objects" / "info" / "alternates"
        alternates.parent.mkdir(parents=True, exist_ok=True)
        alternates.write_text(str(repo / "objects") + "\n", encoding="utf-8")
        (shard / SHARD_PRIMARY).write_text(str(repo) + "\n", encoding="utf-8")  # last: marks it complete
    return shard


def worktree_head(sandbox: Path) -> str | None:
    try:
        return _git().execute(["git", "-C", str(sandbox), "rev-parse", "HEAD"]).strip()
    except git.GitCommandError:
        return None


def create_sandbox(repo_dir: Path | str, commit: str, sandbox_path: Path | str) -> Path:
    """A detached git worktree of `commit` at `sandbox_path`; an existing valid one is reused."""
    repo, sandbox = Path(repo_dir).resolve(), Path(sandbox_path).absolute()
    if not (repo / "HEAD").is_file():
        raise EvotrainError(f"{repo}: substrate repo not found (fork the substrate first)")
    with _lock(repo):
        if sandbox.exists():
            if (sandbox / ".git").is_file() and sandbox_repo(sandbox) == repo:
                head = worktree_head(sandbox)
                if head == commit:
                    return sandbox
                raise EvotrainError(f"{sandbox}: existing sandbox is at {head}, expected commit {commit}")
            raise EvotrainError(f"{sandbox}: exists but is not a worktree of {repo}")
        sandbox.parent.mkdir(parents=True, exist_ok=True)
        shard = worktree_shard(repo, sandbox)
        g = _git()
        add = ["git", f"--git-dir={shard}", "worktree", "add", "-q", "--detach", str(sandbox), commit]
        try:
            g.execute(add)
        except git.GitCommandError:
            # a deleted sandbox is still registered: prune, then retry (pruning before every add would
            # scan every registered worktree per sandbox)
            g.execute(["git", f"--git-dir={shard}", "worktree", "prune"])
            try:
                g.execute(add)
            except git.GitCommandError as exc:
                raise EvotrainError(f"{sandbox}: cannot create worktree at {commit}: {exc.stderr.strip()}") from exc
    return sandbox


def read_blob(repo_dir: Path | str, commit: str, rel_path: str) -> bytes | None:
    """A file's bytes at `commit`, or None if it is not in that commit."""
    try:
        blob = git.Repo(str(repo_dir)).commit(commit).tree / rel_path
    except (KeyError, ValueError, git.BadName):
        return None
    return blob.data_stream.read()


def spec_at(repo_dir: Path | str, commit: str) -> SubstrateSpec:
    """The SubstrateSpec as recorded in the snapshot (never the sandbox copy an agent could edit)."""
    data = read_blob(repo_dir, commit, SPEC_FILE)
    source = f"{SPEC_FILE}@{commit[:12]}"
    if data is None:
        raise EvotrainError(f"{source}: file not found in substrate commit")
    try:
        return SubstrateSpec.model_validate(yaml.safe_load(data.decode("utf-8")) or {})
    except ValidationError as exc:
        raise EvotrainError(first_validation_error(exc, source)) from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise EvotrainError(f"{source}: cannot parse: {type(exc).__name__}") from exc


def blob_sha(path: Path) -> tuple[bool, str]:
    """(is_symlink, git blob sha1) of a file on disk, as git would hash it."""
    if path.is_symlink():
        data, link = os.readlink(path).encode(), True
    else:
        data, link = path.read_bytes(), False
    return link, hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def committed_files(repo_dir: Path, commit: str) -> dict[str, tuple[bool, str]]:
    out = _git().execute(["git", f"--git-dir={repo_dir}", "ls-tree", "-r", "-z", commit])
    files: dict[str, tuple[bool, str]] = {}
    for entry in filter(None, out.split("\0")):
        meta, path = entry.split("\t", 1)
        mode, _kind, sha = meta.split()
        files[path] = (mode == "120000", sha)
    return files


def _disk_files(sandbox: Path) -> list[str]:
    found: list[str] = []
    for root, dirs, files in os.walk(sandbox, followlinks=False):
        rel_root = Path(root).relative_to(sandbox)
        if rel_root == Path("."):
            dirs[:] = [d for d in dirs if d not in {".git", "runs", ".evotrain"}]
            files = [f for f in files if f != ".git"]
        # bytecode caches are runtime noise (jobs also run with PYTHONDONTWRITEBYTECODE=1)
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        # symlinked directories are listed in dirs but not descended: treat them as entries
        for name in [*files, *(d for d in dirs if (Path(root) / d).is_symlink())]:
            found.append((rel_root / name).as_posix())
    return found


def frozen_patterns(spec: SubstrateSpec, extra: list[str] | None = None) -> list[str]:
    """Frozen globs: the substrate's, the constitution's, and the spec file itself."""
    return [*spec.frozen, *(extra or []), SPEC_FILE]


def verify_frozen(
    sandbox: Path | str, repo_dir: Path | str, commit: str, patterns: list[str]
) -> list[str]:
    """Frozen paths whose content differs from `commit` ("modified:", "deleted:", "added:" + path)."""
    box, repo = Path(sandbox), Path(repo_dir)
    committed = {p: v for p, v in committed_files(repo, commit).items() if matches_any(p, patterns)}
    on_disk = {p for p in _disk_files(box) if matches_any(p, patterns)}
    changes: list[str] = []
    for path in sorted(set(committed) | on_disk):
        if path not in on_disk:
            changes.append(f"deleted: {path}")
        elif path not in committed:
            changes.append(f"added: {path}")
        elif blob_sha(box / path) != committed[path]:
            changes.append(f"modified: {path}")
    return changes


# Never part of a diff: what the substrate's runs write (adapters, results). Everything else is shown,
# ignore files, caches and hidden folders notwithstanding: a worker can hide nothing there.
DIFF_EXCLUDES = [":(exclude,glob)runs/*/checkpoints/**", ":(exclude,glob)runs/*/results.json",
                 ":(exclude,glob)runs/*/*.log"]


def sandbox_diff(sandbox: Path | str, commit: str) -> str:
    """Unified diff of the sandbox (every file, new ones included, outputs excluded) against `commit`.

    `add -A -f` ignores any .gitignore a worker planted, `--text` any .gitattributes that would call a
    file binary, and the index and new objects live in a throwaway folder so a worker's files never
    grow the campaign's shared substrate repo.
    """
    box = str(sandbox)
    common = sandbox_repo(Path(box))
    with tempfile.TemporaryDirectory(prefix="evotrain-diff-") as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index"),
               "GIT_OBJECT_DIRECTORY": str(Path(tmp) / "objects")}
        (Path(tmp) / "objects" / "pack").mkdir(parents=True)
        (Path(tmp) / "objects" / "info").mkdir()
        if common is not None:
            env["GIT_ALTERNATE_OBJECT_DIRECTORIES"] = str(common / "objects")
        g = _git()
        g.execute(["git", "-C", box, "read-tree", commit], env=env)
        linked = hard_linked_files(Path(box))  # their bytes may be any file on this filesystem: names only
        skip = [f":(exclude,literal){rel}" for rel in linked]
        g.execute(["git", "-C", box, "add", "-A", "-f", "--", ".", *DIFF_EXCLUDES, *skip], env=env)
        diff = g.execute(["git", "-C", box, "-c", "core.attributesFile=/dev/null", "diff", "--cached", "--no-color",
                          "--no-ext-diff", "--no-textconv", "--text", commit], env=env, strip_newline_in_stdout=False)
    notes = "".join(f"# refused: {rel} is a hard-linked file; its content is not shown\n" for rel in linked)
    # binary files appear as text (--text): keep the diff valid UTF-8 whatever bytes they hold
    return (notes + diff).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def hard_linked_files(sandbox: Path) -> list[str]:
    """Sandbox files (outside .git and run outputs) with more than one link, as relative paths."""
    found: list[str] = []
    for root, dirs, files in os.walk(sandbox, followlinks=False):
        rel_root = Path(root).relative_to(sandbox)
        dirs[:] = [d for d in dirs if not (rel_root == Path(".") and d == ".git") and d != "checkpoints"]
        for name in files:
            path = Path(root) / name
            with contextlib.suppress(OSError):
                st = path.lstat()
                if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                    found.append((rel_root / name).as_posix())
    return sorted(found)


def sandbox_bytes(sandbox: Path | str) -> int:
    """Bytes of every regular file in the sandbox (outputs included; .git and links not followed)."""
    total = 0
    for root, dirs, files in os.walk(sandbox, followlinks=False):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(root, name))
                total += st.st_size if not os.path.islink(os.path.join(root, name)) else 0
    return total
