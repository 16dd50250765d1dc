"""Champion pointer and archive: promotion and rollback, each step idempotent.

Every promoted model is copied into `archive/<cycle id>/` (adapter + entry.json) before the pointer
`champion.json` is switched to it, and archived models are never deleted: "archiving the previous
champion" is the pointer moving on while the old entry stays. A crash between the copy and the
pointer write is completed by the retry (the copy is skipped when present); the pointer is one
atomic file, so there is never a second champion.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from evotrain.errors import EvotrainError
from evotrain.io import write_model
from orchestrator.cycle.models import BenchmarkOutput, ChampionEntry, now_iso
from orchestrator.cycle.store import CyclePaths, archive_entries, load_entry, load_pointer, save_pointer


def current_entry(paths: CyclePaths) -> ChampionEntry | None:
    pointer = load_pointer(paths)
    return load_entry(paths, pointer.champion) if pointer.champion else None


def champion_adapter(paths: CyclePaths) -> Path | None:
    """The served adapter folder (what `submit --champion` and the router load), or None."""
    entry = current_entry(paths)
    return paths.root / entry.adapter_dir if entry else None


def archive(paths: CyclePaths, cycle_id: str, adapter: Path, bench: BenchmarkOutput) -> ChampionEntry:
    folder = paths.archived(cycle_id)
    entry_file = folder / "entry.json"
    if entry_file.is_file():
        return load_entry(paths, cycle_id)
    if not adapter.is_dir():
        raise EvotrainError(f"promote: adapter {adapter}: not found")
    paths.archive.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=paths.archive, prefix=f".{cycle_id}."))
    try:
        shutil.copytree(adapter, tmp / "adapter")
        entry = ChampionEntry(id=cycle_id, adapter_dir=f"archive/{cycle_id}/adapter", overall=bench.overall,
                              by_category=bench.by_category)
        write_model(tmp / "entry.json", entry)
        if folder.exists():  # a copy without entry.json: an earlier attempt died before its rename
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return entry


def _point_to(paths: CyclePaths, champion_id: str, action: str, by: str) -> None:
    pointer = load_pointer(paths)
    if pointer.champion == champion_id:
        return
    previous = [*pointer.previous, pointer.champion] if pointer.champion else list(pointer.previous)
    history = [*pointer.history, {"at": now_iso(), "action": action, "champion": champion_id, "by": by}]
    save_pointer(paths, pointer.model_copy(update={"champion": champion_id, "since": now_iso(),
                                                   "previous": previous, "history": history}))


def promote(paths: CyclePaths, cycle_id: str, adapter: Path, bench: BenchmarkOutput) -> ChampionEntry:
    entry = archive(paths, cycle_id, adapter, bench)
    _point_to(paths, cycle_id, "promote", "gate")
    return entry


def rollback(paths: CyclePaths, champion_id: str | None) -> ChampionEntry:
    """Point back to an archived champion (default: the one before the current)."""
    pointer = load_pointer(paths)
    if champion_id is None:
        if not pointer.previous:
            raise EvotrainError(f"rollback: no earlier champion to roll back to ({paths.champion})")
        champion_id = pointer.previous[-1]
    entry = load_entry(paths, champion_id)
    if pointer.champion == champion_id:
        raise EvotrainError(f"rollback: '{champion_id}' is already the champion")
    _point_to(paths, champion_id, "rollback", "user")
    return entry


def archived_ids(paths: CyclePaths) -> list[str]:
    return [e.id for e in archive_entries(paths)]
