"""A read-only checkout of the recorded substrate commit, verified by hash before every use.

The judge (dev scores) and the leaderboard score from here, never from a sandbox and never from the
live `substrate/` folder a job could have reached: `verified_checkout` extracts the commit once into
the campaign's state, makes it read-only, and re-hashes every file against the commit each time it is
handed out, so a changed, added or removed file is an error, not a score.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from evotrain.errors import EvotrainError
from workers.sandbox import blob_sha, committed_files


def _disk_tree(root: Path) -> dict[str, tuple[bool, str]]:
    out: dict[str, tuple[bool, str]] = {}
    for dirpath, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in [*files, *(d for d in dirs if (Path(dirpath) / d).is_symlink())]:
            path = Path(dirpath) / name
            out[path.relative_to(root).as_posix()] = blob_sha(path)
    return out


def verify_checkout(root: Path, repo_dir: Path, commit: str) -> list[str]:
    """Differences between the checkout and the commit ("modified:"/"added:"/"deleted:" + path)."""
    want = committed_files(repo_dir, commit)
    have = _disk_tree(root)
    diffs = [f"deleted: {p}" for p in sorted(set(want) - set(have))]
    diffs += [f"added: {p}" for p in sorted(set(have) - set(want))]
    diffs += [f"modified: {p}" for p in sorted(set(want) & set(have)) if want[p] != have[p]]
    return diffs


def _make_read_only(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            if not p.is_symlink():
                p.chmod(stat.S_IMODE(p.stat().st_mode) & ~0o222)
        Path(dirpath).chmod(0o555)


def verified_checkout(repo_dir: Path | str, commit: str, parent: Path | str) -> Path:
    """`parent/<commit>`: the substrate at `commit`, read-only, verified now. Raises on any difference."""
    repo, parent = Path(repo_dir), Path(parent)
    dest = parent / commit
    if not dest.is_dir():
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{commit[:12]}.", dir=parent))
        archive = subprocess.run(["git", f"--git-dir={repo}", "archive", "--format=tar", commit],
                                 capture_output=True, check=False)
        if archive.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise EvotrainError(f"substrate commit {commit[:12]}: cannot extract: {archive.stderr.decode()[:200]}")
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive.stdout, check=True)
        _make_read_only(tmp)
        try:
            tmp.rename(dest)
        except OSError:  # another thread made it first: keep theirs, verify below
            shutil.rmtree(tmp, ignore_errors=True)
    diffs = verify_checkout(dest, repo, commit)
    if diffs:
        raise EvotrainError(f"{dest}: the judge's substrate checkout does not match commit {commit[:12]}: "
                            f"{diffs[0]} ({len(diffs)} differences); refusing to score")
    return dest
