"""The cycle's copy of the substrate (until the substrate contract can take a data file).

The canonical substrate has no way to train on a given data file: run.py always trains on
puzzles it generates from the recipe. Until the contract grows one (a `{train_data}` placeholder
in run_command, or a `train_data_file` recipe key), the cycle trains in a fork: a copy of the
substrate whose editable train.py is replaced by substrate_hook.py. Frozen files are copied
byte for byte (checked against the source after copying), and the fork is content-addressed
(substrate files + hook), built once per state dir, atomically.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from evotrain.errors import EvotrainError
from workers.substrate_contract import load_spec, matches_any

HOOK = Path(__file__).with_name("substrate_hook.py")
TRAIN_FILE = "train.py"
RENAMED = "substrate_train.py"
SKIP = {"runs", "__pycache__", ".pytest_cache", ".cache", ".evotrain"}


def _files(root: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP)
        out += [Path(dirpath, f) for f in sorted(filenames) if not f.endswith(".pyc")]
    return out


def content_hash(substrate_dir: Path) -> str:
    digest = hashlib.sha256(HOOK.read_bytes())
    for path in _files(substrate_dir):
        digest.update(str(path.relative_to(substrate_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_fork(substrate_dir: Path, forks_dir: Path) -> Path:
    """The fork folder for this substrate's current content (built if missing)."""
    spec = load_spec(substrate_dir)
    if not (substrate_dir / "minitask").is_dir():  # the hook speaks the embedded substrate's train() signature
        raise EvotrainError(
            f"substrate {substrate_dir}: cannot train on the cycle's data file yet (the hook in "
            "orchestrator/cycle/substrate_hook.py fits the embedded substrate only; needs a {train_data} "
            "placeholder in run_command)"
        )
    if not matches_any(TRAIN_FILE, spec.editable):
        raise EvotrainError(f"{substrate_dir}: {TRAIN_FILE} is not editable, the cycle cannot train on its data")
    if not (substrate_dir / TRAIN_FILE).is_file():
        raise EvotrainError(f"{substrate_dir / TRAIN_FILE}: not found")
    target = forks_dir / content_hash(substrate_dir)
    if (target / ".complete").is_file():
        return target
    forks_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=forks_dir, prefix=".fork."))
    try:
        for path in _files(substrate_dir):
            rel = path.relative_to(substrate_dir)
            dest = tmp / (RENAMED if str(rel) == TRAIN_FILE else rel)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
            if matches_any(rel.as_posix(), spec.frozen) and dest.read_bytes() != path.read_bytes():
                raise EvotrainError(f"fork: frozen file {rel} differs after copying")
        shutil.copy2(HOOK, tmp / TRAIN_FILE)
        (tmp / ".complete").write_text(f"fork of {substrate_dir}\n", encoding="utf-8")
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / ".complete").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
