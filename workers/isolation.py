"""The one isolated runner for everything a worker wrote: validation, smoke runs, training jobs.

On the local (and local-Ray) executor a job runs as

    timeout … prlimit --as --fsize [--cpu] -- bwrap <namespaces> <read-only runtime> <sandbox rw> -- CMD

- only the worker's sandbox is writable, and inside it the frozen files are re-bound read-only;
- the interpreter, the venv and evotrain's typed-artifact package are visible read-only; nothing else
  of the host is: no campaign state, no hidden split, no other sandbox, no canonical substrate;
- no network (`--unshare-net`), its own PID namespace and `--die-with-parent`, so a detached daemon
  dies with the job (the namespace's init is gone) and nothing outlives it;
- limits on address space, CPU time and file size (prlimit); the environment is an allow-list
  (evotrain.secrets.job_environment), set by the caller.
Kubernetes gets the same boundary from the pod spec (non-root, read-only root fs, no token, only the
sandbox volume writable, egress denied).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field

from evotrain.errors import EvotrainError
from evotrain.schemas.common import Artifact
from workers.substrate_contract import matches_any

REPO_ROOT = Path(__file__).resolve().parents[1]
# The job imports the typed output contract (evotrain.schemas.results) and nothing else of ours.
SHARED_CODE = [REPO_ROOT / "evotrain"]
_RUNTIME = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc/alternatives", "/etc/ld.so.cache",
            "/etc/ssl", "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf"]
JOB_HOME = "/tmp/home"
# where a substrate's user-given inputs appear inside an isolated job (read-only, one entry per input)
INPUTS_ROOT = "/evotrain-inputs"


class ResourceLimits(Artifact):
    memory_mb: int | None = Field(default=12_288, ge=64)  # address space (RLIMIT_AS)
    cpu_seconds: int | None = Field(default=None, ge=1)  # RLIMIT_CPU; None: the job timeout governs
    file_size_mb: int = Field(default=1024, ge=1)  # largest single file a job may write (RLIMIT_FSIZE)


class Isolation(Artifact):
    """How to confine one job. `kind: none` only where the user allowed it (scripted agents, tests)."""

    kind: Literal["bwrap", "none"] = "bwrap"
    writable: list[str] = Field(default_factory=list)  # absolute dirs (the sandbox)
    readonly: list[str] = Field(default_factory=list)  # absolute paths re-bound read-only (frozen files)
    extra_readonly: list[str] = Field(default_factory=list)  # more host paths to show read-only
    inputs: dict[str, str] = Field(default_factory=dict)  # input name -> host path, shown at INPUTS_ROOT/<name>
    limits: ResourceLimits = Field(default_factory=ResourceLimits)


def _runtime_paths() -> list[str]:
    paths = [*_RUNTIME, sys.base_prefix, sys.prefix, *map(str, SHARED_CODE)]
    seen: list[str] = []
    for p in paths:
        if p not in seen and os.path.lexists(p):
            seen.append(p)
    # a symlinked venv (or interpreter folder) is recreated as a link inside the job: its target must be
    # there too, unless a bound folder already holds it (/bin -> usr/bin lives in /usr)
    for p in list(seen):
        real = os.path.realpath(p)
        if os.path.islink(p) and not any(real == q or real.startswith(q.rstrip("/") + "/") for q in seen):
            seen.append(real)
    return seen


def _bind_args(path: str, flag: str) -> list[str]:
    if os.path.islink(path):  # merged-/usr systems: /bin -> usr/bin
        return ["--symlink", os.readlink(path), path]
    return [flag, path, path]


def bwrap_argv(iso: Isolation, cwd: str) -> list[str]:
    """The bwrap (+ prlimit) prefix that confines a command to `iso`."""
    args = ["bwrap", "--die-with-parent", "--new-session", "--unshare-net", "--unshare-pid", "--unshare-ipc",
            "--unshare-uts", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", JOB_HOME]
    for p in [*_runtime_paths(), *iso.extra_readonly]:
        args += _bind_args(p, "--ro-bind")
    for name, host in sorted(iso.inputs.items()):  # read-only at a fixed path: the job cannot write its data
        args += ["--ro-bind", host, f"{INPUTS_ROOT}/{name}"]
    for p in iso.writable:
        args += ["--bind", p, p]
    for p in iso.readonly:  # after the writable binds: frozen files inside the sandbox stay read-only
        if os.path.lexists(p) and not os.path.islink(p):
            args += ["--ro-bind", p, p]
    args += ["--chdir", cwd, "--"]
    limits = ["prlimit", f"--fsize={iso.limits.file_size_mb << 20}"]
    if iso.limits.memory_mb is not None:
        limits.append(f"--as={iso.limits.memory_mb << 20}")
    if iso.limits.cpu_seconds is not None:
        limits.append(f"--cpu={iso.limits.cpu_seconds}")
    return [*limits, "--", *args]


def input_env(iso: Isolation | None) -> dict[str, str]:
    """EVOTRAIN_INPUT_<NAME> = where the job reads each input (the mount under bwrap, else the host path)."""
    if iso is None:
        return {}
    bound = iso.kind == "bwrap"
    return {f"EVOTRAIN_INPUT_{name.upper()}": f"{INPUTS_ROOT}/{name}" if bound else host
            for name, host in iso.inputs.items()}


def isolate(command: list[str], iso: Isolation | None, cwd: str) -> list[str]:
    """`command` wrapped in the isolation `iso` asks for (unchanged for kind none / None)."""
    if iso is None or iso.kind == "none":
        return command
    return [*bwrap_argv(iso, cwd), *command]


@lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """None if bwrap can confine a job on this machine, else why not (one line)."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bwrap not found (Debian: apt-get install bubblewrap)"
    try:
        proc = subprocess.run(
            [exe, "--die-with-parent", "--unshare-net", "--unshare-pid", "--ro-bind", "/", "/", "--proc", "/proc",
             "--dev", "/dev", "true"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap failed to start: {exc}"
    if proc.returncode != 0:
        return f"bwrap cannot create namespaces here: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}"
    if shutil.which("prlimit") is None:
        return "prlimit not found (Debian: util-linux)"
    return None


def describe_isolation() -> str:
    """What `evotrain doctor` prints about job isolation."""
    problem = bwrap_problem()
    if problem is None:
        return ("local jobs: bubblewrap (no network, own PID namespace, only the sandbox writable, "
                "frozen files read-only, allow-listed env, prlimit)")
    return f"local jobs: NOT isolated ({problem}); LLM workers need --allow-unisolated"


IsolationMode = Literal["auto", "bwrap", "none"]


def resolve_mode(mode: IsolationMode, *, llm_agent: bool, allow_unisolated: bool) -> Literal["bwrap", "none"]:
    """The isolation a worker's jobs get. An LLM worker never runs unconfined unless the user said so."""
    problem = bwrap_problem()
    if mode == "none" or (mode == "auto" and problem is not None):
        if llm_agent and not allow_unisolated:
            reason = problem or "isolation was turned off"
            raise EvotrainError(f"isolation: LLM workers run only isolated ({reason}); pass --allow-unisolated "
                                "(or allow_unisolated: true) to run them unconfined at your own risk")
        return "none"
    if problem is not None:
        raise EvotrainError(f"isolation: bwrap was required but {problem}")
    return "bwrap"


def sandbox_isolation(sandbox: Path, frozen: list[str], kind: Literal["bwrap", "none"],
                      inputs: dict[str, str] | None = None) -> Isolation:
    """Only `sandbox` writable; its frozen files and folders (and its .git link) re-bound read-only;
    `inputs` (the worker-visible copies of the substrate's data) shown read-only at INPUTS_ROOT."""
    bad = [n for n in (inputs or {}) if not n.isidentifier() or not n.islower()]
    if bad:  # a name becomes a mount point and an env var name (a brief is a file: never trust it blindly)
        raise EvotrainError(f"brief field 'inputs': bad input name {bad[0]!r}")
    readonly: list[str] = [str(sandbox / ".git")]
    frozen_dirs = [sandbox / p[:-3] for p in frozen if p.endswith("/**")]
    readonly += [str(d) for d in frozen_dirs if d.is_dir() and not d.is_symlink()]
    for root, dirs, files in os.walk(sandbox, followlinks=False):
        rel_root = Path(root).relative_to(sandbox)
        dirs[:] = [d for d in dirs if not (rel_root == Path(".") and d in {".git", "runs"})
                   and (Path(root) / d) not in frozen_dirs]
        for name in files:
            rel = (rel_root / name).as_posix()
            if rel != ".git" and matches_any(rel, frozen):
                readonly.append(str(sandbox / rel))
    return Isolation(kind=kind, writable=[str(sandbox)], readonly=readonly, inputs=dict(inputs or {}))
