"""Atomic writes and typed loads.

Every artifact is written to a temp file in the same directory, fsynced, then renamed over the
target, so a reader (or a resumed campaign after kill -9) sees the old file or the new one, never
half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from evotrain.errors import EvotrainError, first_validation_error

M = TypeVar("M", bound=BaseModel)


def atomic_write_text(path: Path | str, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_model(path: Path | str, model: BaseModel) -> Path:
    """Write a pydantic artifact as pretty JSON, atomically."""
    return atomic_write_text(path, model.model_dump_json(indent=2) + "\n")


def read_model(path: Path | str, model_type: type[M]) -> M:
    """Load a JSON or YAML artifact; any problem becomes a one-line EvotrainError naming path+field."""
    path = Path(path)
    if not path.is_file():
        raise EvotrainError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) if path.suffix in {".yaml", ".yml"} else json.loads(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise EvotrainError(f"{path}: cannot parse: {reason}") from exc
    if data is None:
        data = {}
    try:
        return model_type.model_validate(data)
    except ValidationError as exc:
        raise EvotrainError(first_validation_error(exc, str(path))) from exc


def append_jsonl(path: Path | str, line: str) -> None:
    """Append one JSON line and flush it to disk now (traces are the crash-recovery source)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line.rstrip("\n") + "\n")
        fh.flush()
        os.fsync(fh.fileno())
