"""The substrate's user-given inputs: substrate.yaml declares them (`inputs`), the campaign config names
their host paths (`inputs`, relative to the workspace root).

- `campaign start` checks them: every declared input given, every given one declared, each path present
  (one line naming the config field otherwise, exit 2).
- Workers never read a file the orchestrator did not prepare for them: each input's frozen
  `worker_view_command` (run from the verified substrate checkout, outside every sandbox) writes the part
  workers may read (e.g. the CSV without its held-out leaderboard rows) into campaigns/<c>/inputs/<name>/;
  briefs carry that copy, which isolation binds read-only into every job (workers/isolation.py).
- The leaderboard, orchestrator-side, reads the full files.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from evotrain.errors import EvotrainError
from evotrain.io import atomic_write_text
from evotrain.schemas.substrate import SubstrateSpec
from evotrain.secrets import job_environment
from orchestrator.config import CampaignConfig, resolve_under
from workers.isolation import JOB_HOME, Isolation, isolate
from workers.substrate_contract import render_command

VIEW_TIMEOUT_S = 600.0
DONE = ".complete"  # holds the sha256 of the input the view was written from


def resolve_inputs(root: Path, cfg: CampaignConfig, spec: SubstrateSpec) -> dict[str, Path]:
    """Host path of every input the substrate declares; EvotrainError naming the config field otherwise."""
    unknown = sorted(set(cfg.inputs) - set(spec.inputs))
    if unknown:
        declared = ", ".join(sorted(spec.inputs)) or "none"
        raise EvotrainError(f"config field 'inputs.{unknown[0]}': substrate '{spec.name}' declares no such input "
                            f"(declared: {declared})")
    resolved: dict[str, Path] = {}
    for name, decl in sorted(spec.inputs.items()):
        if name not in cfg.inputs:
            what = f" ({decl.description.strip()})" if decl.description.strip() else ""
            raise EvotrainError(f"config field 'inputs.{name}': missing: substrate '{spec.name}' needs this "
                                f"input{what}; give its path")
        resolved[name] = resolve_under(root, cfg.inputs[name], f"inputs.{name}")
    return resolved


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    if path.is_file():
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _write_view(command: list[str], name: str, source: Path, folder: Path, view: Path, substrate_dir: Path,
                isolated: bool) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rendered = render_command(command, input=str(source), out=str(view))
    # frozen substrate code, but still confined: it sees the checkout and the input, writes only the folder
    iso = Isolation(kind="bwrap" if isolated else "none", writable=[str(folder)],
                    extra_readonly=[str(substrate_dir), str(source)])
    env = job_environment({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
                          home=JOB_HOME if isolated else str(folder), python_bin=None)
    try:
        proc = subprocess.run(isolate(rendered, iso, str(substrate_dir)), cwd=substrate_dir, env=env,
                              capture_output=True, text=True, timeout=VIEW_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise EvotrainError(f"input '{name}': worker_view_command timed out after {VIEW_TIMEOUT_S:.0f}s") from exc
    if proc.returncode != 0 or not view.exists():
        tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines() or [f"exit {proc.returncode}, no {view.name}"]
        raise EvotrainError(f"input '{name}': worker_view_command failed: {tail[-1][:300]}")


def worker_views(spec: SubstrateSpec, substrate_dir: Path, full: dict[str, Path], dest: Path,
                 isolated: bool) -> dict[str, str]:
    """name -> host path of what workers may read of each input (written once per input content)."""
    views: dict[str, str] = {}
    for name, decl in sorted(spec.inputs.items()):
        source = full[name]
        if not decl.worker_view_command:
            views[name] = str(source)  # the substrate says workers may read all of it
            continue
        folder = dest / name
        view = folder / source.name
        sha = _sha256(source)
        done = folder / DONE
        if not (done.is_file() and done.read_text(encoding="utf-8").strip() == sha and view.exists()):
            _write_view(decl.worker_view_command, name, source, folder, view, substrate_dir, isolated)
            atomic_write_text(done, sha + "\n")
        views[name] = str(view)
    return views
