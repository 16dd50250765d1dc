"""Path confinement for agent tools: relative paths inside the sandbox, editable paths for writes.

Enforced in code, not in a prompt: `..`, absolute paths, `~`, `.git` internals, symlinks whose
target leaves the sandbox, and writes outside the substrate's editable globs (or into frozen ones)
are refused with a one-line reason the agent sees and the trace records.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from workers.substrate_contract import matches_any

# Files that would let a worker hide changes from the diff or the tamper check.
GIT_CONTROL_FILES = frozenset({".gitignore", ".gitattributes", ".gitmodules", ".git"})


class Refusal(Exception):
    """A tool call the sandbox will not perform (reported to the agent, never raised out of a worker)."""


class PathGuard:
    def __init__(self, root: Path, editable: list[str], frozen: list[str]) -> None:
        self.root = Path(root).absolute()
        self.real_root = Path(os.path.realpath(self.root))
        self.editable = editable
        self.frozen = frozen

    def relative(self, raw: object) -> str:
        """Normalise an agent-supplied path to a clean POSIX relative path, or refuse."""
        if not isinstance(raw, str) or not raw.strip():
            raise Refusal("path must be a non-empty string")
        if "\0" in raw or "\\" in raw:
            raise Refusal(f"path {raw!r}: NUL bytes and backslashes are not allowed")
        if raw.startswith(("/", "~")) or (len(raw) > 1 and raw[1] == ":"):
            raise Refusal(f"path {raw!r}: absolute paths are not allowed; use a path relative to the sandbox")
        parts = [p for p in PurePosixPath(raw).parts if p not in ("", ".")]
        if ".." in parts:
            raise Refusal(f"path {raw!r}: '..' is not allowed")
        if ".git" in parts:
            raise Refusal(f"path {raw!r}: git internals are off limits")
        if parts and parts[-1] in GIT_CONTROL_FILES:
            raise Refusal(f"path {raw!r}: {parts[-1]} would change what the diff shows; not allowed")
        return "/".join(parts) or "."

    def _inside(self, path: Path) -> bool:
        real = Path(os.path.realpath(path))
        return real == self.real_root or self.real_root in real.parents

    def resolve(self, raw: object, *, write: bool = False) -> tuple[str, Path]:
        """(clean relative path, absolute path) for a read, or for a write if `write`."""
        rel = self.relative(raw)
        full = self.root if rel == "." else self.root / rel
        # every existing component must stay inside the sandbox once symlinks are followed
        probe = self.root
        for part in [] if rel == "." else rel.split("/"):
            probe = probe / part
            if probe.is_symlink() and not self._inside(probe):
                raise Refusal(f"path {rel!r}: symlink {probe.relative_to(self.root)} points outside the sandbox")
        if not self._inside(full):
            raise Refusal(f"path {rel!r}: resolves outside the sandbox")
        if write:
            self._check_writable(rel, full)
        elif full.is_file() and not full.is_symlink() and full.stat().st_nlink > 1:
            # a hard link can make any file of this filesystem look like a sandbox file
            raise Refusal(f"path {rel!r}: hard-linked files are not readable through tools")
        return rel, full

    def _check_writable(self, rel: str, full: Path) -> None:
        if rel == ".":
            raise Refusal("cannot write the sandbox root")
        # writes never go through a symlinked folder, even one inside the sandbox: the frozen check
        # must see the path the bytes land on
        probe = self.root
        for part in rel.split("/")[:-1]:
            probe = probe / part
            if probe.is_symlink():
                raise Refusal(f"path {rel!r}: folder {probe.relative_to(self.root)} is a symlink; writes through "
                              "symlinked folders are not allowed")
        real_rel = Path(os.path.realpath(full)).relative_to(self.real_root).as_posix() if self._inside(full) else rel
        if matches_any(real_rel, self.frozen):
            raise Refusal(f"path {rel!r} is frozen (substrate/constitution): it may be read, never written")
        if matches_any(rel, self.frozen):
            raise Refusal(f"path {rel!r} is frozen (substrate/constitution): it may be read, never written")
        if not matches_any(rel, self.editable):
            raise Refusal(f"path {rel!r} is not editable; editable globs: {', '.join(self.editable) or '(none)'}")
        if full.is_symlink():
            raise Refusal(f"path {rel!r} is a symlink; writes through symlinks are not allowed")
        if full.is_dir():
            raise Refusal(f"path {rel!r} is a directory")
