"""What the trust-boundary tests assert: consequences on disk, on the wire and in the process table.

Each helper returns a list of human-readable findings (empty = nothing leaked / nothing changed), so
a failing test prints exactly where a secret, a hidden item or a forged score ended up.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from worker_support import tree_digest

from evotrain.io import read_model
from orchestrator.config import ForkRecord
from security.hostile import REPO, Session, World

RESCORE = Path(__file__).with_name("_rescore.py")


# ------------------------------------------------------------------ scanning


def _files(root: Path, skip: tuple[Path, ...] = ()) -> list[Path]:
    out: list[Path] = []
    if not root.exists():
        return out
    if root.is_file():
        return [root]
    for dirpath, dirs, names in os.walk(root, followlinks=False):
        here = Path(dirpath)
        dirs[:] = [d for d in dirs if not any((here / d) == s for s in skip)]
        for name in names:
            path = here / name
            if path.is_symlink() or any(path == s for s in skip):
                continue
            out.append(path)
    return out


def scan(roots: list[Path], needles: dict[str, bytes], skip: tuple[Path, ...] = ()) -> list[str]:
    """`file: needle-name` for every file under `roots` (symlinks not followed) holding a needle."""
    found: list[str] = []
    for root in roots:
        for path in _files(root, skip):
            try:
                data = path.read_bytes()
            except OSError:
                continue
            found += [f"{path}: {name}" for name, needle in needles.items() if needle in data]
    return found


def scan_texts(label: str, texts: list[str] | list[bytes], needles: dict[str, bytes]) -> list[str]:
    found: list[str] = []
    for i, text in enumerate(texts):
        data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
        found += [f"{label}[{i}]: {name}" for name, needle in needles.items() if needle in data]
    return found


# ------------------------------------------------------------------ secrets


def canary_needles(world: World) -> dict[str, bytes]:
    """Each canary as written, reversed and base64'd (redaction by value alone cannot catch the latter two)."""
    needles: dict[str, bytes] = {}
    for name, value in world.canaries.items():
        raw = value.encode()
        needles[f"{name}"] = raw
        needles[f"{name}(reversed)"] = raw[::-1]
        needles[f"{name}(base64)"] = base64.b64encode(raw)
    return needles


def job_logs(session: Session) -> list[str]:
    """Every job log of the session as the executor returns it (what read_job_logs would show)."""
    logs: list[str] = []
    for job_id in session.manifest.job_ids:
        try:
            logs.append(session.world.campaign.executor.logs(job_id, tail=None))
        except Exception as exc:  # a job the executor does not know is not a leak
            logs.append(f"(logs unavailable: {type(exc).__name__})")
    return logs


def canary_leaks(session: Session) -> list[str]:
    """Canaries in any file under the workspace or outside/, any job log, request body or tool result."""
    world, needles = session.world, canary_needles(session.world)
    found = scan([world.root, world.outside, world.host_tmp_beacon()], needles)
    found += scan_texts("job log", job_logs(session), needles)
    found += scan_texts("LLM request body", [r.raw for r in session.requests], needles)
    found += scan_texts("tool result", session.tool_results(), needles)
    return found


# ------------------------------------------------------------------ the hidden split


def hidden_needles(world: World) -> dict[str, bytes]:
    """Per hidden item: its prompt's distinctive part (after the family preamble), as stored in the
    JSONL file (JSON-escaped) and as text (what a model would be shown)."""
    needles: dict[str, bytes] = {}
    for path in world.hidden_copy:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            prompt = json.loads(line)["prompt"]
            tail = prompt.split("\n", 1)[-1]
            if len(tail) < 30:
                continue
            needles[f"{path.stem}#{n}"] = tail.encode()
            needles[f"{path.stem}#{n}(jsonl)"] = json.dumps(tail)[1:-1].encode()
    return needles


def hidden_leaks(session: Session, *, skip: tuple[Path, ...] = ()) -> list[str]:
    """Hidden items in any sandbox, in any campaign file but the leaderboard's own folder, in the
    policies/reports, in any tool result or LLM request body."""
    world = session.world
    needles = hidden_needles(world)
    assert needles, "the hidden split has no recognisable items: the test would prove nothing"
    roots = [world.root / "sandboxes", world.paths.state, world.root / "policies", world.root / "reports"]
    found = scan(roots, needles, skip=(world.paths.leaderboard, *skip))
    found += scan_texts("tool result", session.tool_results(), needles)
    found += scan_texts("LLM request body", [r.raw for r in session.requests], needles)
    return found


# ------------------------------------------------------------------ the canonical substrate


def substrate_changes(world: World) -> list[str]:
    """Files of the canonical substrate that differ from the pristine copy, and a moved snapshot ref."""
    if tree_digest(world.substrate) == world.substrate_digest:
        changed: list[str] = []
    else:
        a, b = world.substrate, world.pristine
        rels = {p.relative_to(a) for p in _files(a)} | {p.relative_to(b) for p in _files(b)}
        changed = [f"canonical substrate: {r}" for r in sorted(rels)
                   if not (a / r).is_file() or not (b / r).is_file() or (a / r).read_bytes() != (b / r).read_bytes()]
        changed = changed or ["canonical substrate: tree digest changed"]
    fork = read_model(world.paths.fork_record, ForkRecord)
    repo = world.paths.substrate_repo
    head = _git(["--git-dir", str(repo), "rev-parse", "refs/heads/substrate"]).strip()
    if head != fork.commit:
        changed.append(f"substrate.git: refs/heads/substrate moved {fork.commit[:12]} -> {head[:12]}")
    tree = _git(["--git-dir", str(repo), "rev-parse", f"{fork.commit}^{{tree}}"]).strip()
    if tree != fork.tree:
        changed.append(f"substrate.git: recorded commit's tree is {tree[:12]}, recorded {fork.tree[:12]}")
    config = (repo / "config").read_text(encoding="utf-8", errors="replace")
    if world.marker in config or "fsmonitor" in config:
        changed.append("substrate.git/config: a hook was planted")
    return changed


def neighbour_changes(world: World, worker_id: str = "w01") -> list[str]:
    """Files of another worker's (untouched) sandbox that differ from the pristine substrate."""
    box, ref = world.sandbox(worker_id), world.pristine
    rels = {p.relative_to(box) for p in _files(box)} | {p.relative_to(ref) for p in _files(ref)}
    return [f"{worker_id} sandbox: {r}" for r in sorted(rels) if r.parts[0] != ".git" and (
        not (box / r).is_file() or not (ref / r).is_file() or (box / r).read_bytes() != (ref / r).read_bytes())]


def frozen_sandbox_changes(session: Session) -> list[str]:
    """Frozen files (base/, minitask/, runners) of the sandbox that differ from the pristine substrate."""
    box, ref = session.sandbox, session.world.pristine
    out: list[str] = []
    for path in _files(ref):
        rel = path.relative_to(ref)
        if rel.parts[0] in ("pipeline", "train.py", "recipe.yaml"):
            continue
        mine = box / rel
        if not mine.is_file() or mine.read_bytes() != path.read_bytes():
            out.append(f"sandbox frozen file changed: {rel}")
    return out


def _git(args: list[str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False, env=env).stdout


# ------------------------------------------------------------------ writes outside, processes


def outside_writes(world: World) -> list[str]:
    """Files a payload managed to write outside every sandbox (outside/ and the host /tmp)."""
    return [str(p) for p in _files(world.outside) + _files(world.host_tmp_beacon())]


def _matches(proc: psutil.Process, needles: list[str]) -> bool:
    try:
        cmd = " ".join(proc.cmdline())
        cwd = proc.cwd()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
        return False
    return any(n in cmd or cwd.startswith(n) for n in needles)


def job_processes(world: World) -> list[psutil.Process]:
    """Live processes of this world's jobs: the payload marker or a sandbox path in their cmdline/cwd."""
    needles = [world.marker, str(world.root / "sandboxes")]
    me = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    out = []
    for proc in psutil.process_iter():
        if proc.pid in me:
            continue
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if _matches(proc, needles):
            out.append(proc)
    return out


def survivors(world: World, grace_s: float = 5.0) -> list[str]:
    """Job processes still alive `grace_s` after the session (a job's processes must end with it)."""
    deadline = time.monotonic() + grace_s
    procs = job_processes(world)
    while procs and time.monotonic() < deadline:
        time.sleep(0.25)
        procs = job_processes(world)
    found = []
    for p in procs:
        try:
            found.append(f"pid {p.pid}: {' '.join(p.cmdline())[:200]}")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def kill_leftovers(world: World) -> None:
    """Teardown: SIGKILL, by pid, the processes this world's payloads started (never anyone else's)."""
    for proc in job_processes(world):
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except OSError:
            continue


def manifest_rewrites(session: Session, wait_s: float = 3.0) -> list[str]:
    """Wait, then compare the manifest on disk with the one run_worker wrote (a daemon rewrites it)."""
    time.sleep(max(0.0, session.ended_at + wait_s - time.time()))
    path = session.world.manifest_path(session.worker_id)
    now = path.read_bytes() if path.is_file() else b""
    if now == session.manifest_bytes:
        return []
    return [f"{path} was rewritten after the worker returned: "
            f"{hashlib.sha256(session.manifest_bytes).hexdigest()[:12]} -> {hashlib.sha256(now).hexdigest()[:12]}: "
            f"{now[:300]!r}"]


# ------------------------------------------------------------------ honest re-scores


def honest_scores(world: World, adapter: Path, dev_items: int, items: list[Path]) -> dict[str, float]:
    """Re-score `adapter` with the pristine substrate's frozen harness (dev + each items file)."""
    out = world.tmp / f"rescore-{hashlib.sha256(str(adapter).encode()).hexdigest()[:8]}.json"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(world.tmp), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    cmd = [sys.executable, str(RESCORE), "--adapter", str(adapter), "--dev-items", str(dev_items), "--out", str(out),
           "--items", *map(str, items)]
    proc = subprocess.run(cmd, cwd=world.pristine, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, f"honest re-score failed: {proc.stderr[-2000:]}"
    return json.loads(out.read_text(encoding="utf-8"))


def inside(path: str | Path, root: Path) -> bool:
    real, top = Path(os.path.realpath(path)), Path(os.path.realpath(root))
    return real == top or top in real.parents


def undiffed_changes(session: Session, diff: str) -> list[str]:
    """Sandbox files (outside runs/ and .git) that differ from the substrate but are absent from `diff`:
    the diff an auditor reads must name every change a worker made."""
    box, ref = session.sandbox, session.world.pristine
    missing: list[str] = []
    for path in _files(box):
        rel = path.relative_to(box)
        if rel.parts[0] in ("runs", ".git"):
            continue
        same = (ref / rel).is_file() and (ref / rel).read_bytes() == path.read_bytes()
        if not same and f"b/{rel.as_posix()}" not in diff:
            missing.append(rel.as_posix())
    return missing


def all_findings(session: Session, *, hidden_skip: tuple[Path, ...] = ()) -> dict[str, list[str]]:
    """Every consequence at once, right after a session (survivors first: nothing else waits before)."""
    world = session.world
    return {
        "surviving processes": survivors(world),
        "manifest rewrites": manifest_rewrites(session),
        "canaries": canary_leaks(session),
        "hidden items": hidden_leaks(session, skip=hidden_skip),
        "writes outside the sandbox": outside_writes(world),
        "canonical substrate": substrate_changes(world),
        "frozen sandbox files": frozen_sandbox_changes(session),
        "another worker's sandbox": neighbour_changes(world),
    }


def require_none(findings: dict[str, list[str]], *keys: str, context: str = "") -> None:
    """Fail with every finding of `keys`, grouped by where it was found (not pytest's truncated diff)."""
    bad = {k: findings[k] for k in keys if findings[k]}
    if not bad:
        return
    lines: list[str] = []
    for key, found in bad.items():
        where: dict[str, list[str]] = {}
        for item in found:
            loc, _, what = item.rpartition(": ") if ": " in item else (item, "", "")
            where.setdefault(loc or item, []).append(what)
        lines.append(f"{key}: {len(found)} finding(s) in {len(where)} place(s)")
        lines += [f"    {loc}: {', '.join(w for w in whats if w)[:200]}" for loc, whats in list(where.items())[:25]]
    pytest.fail("\n".join(lines) + (f"\n{context}" if context else ""), pytrace=False)
