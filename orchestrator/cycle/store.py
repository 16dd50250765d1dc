"""Where a cycle's files live and how its state is read and written (atomically, typed)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from evotrain.errors import EvotrainError
from evotrain.io import append_jsonl, read_model, write_model
from orchestrator.cycle.models import ChampionEntry, ChampionPointer, CycleState, now_iso

_CYCLE_ID = re.compile(r"^c(\d{4,})$")


@dataclass(frozen=True)
class CyclePaths:
    root: Path  # <workdir>/<config name>

    @property
    def cycles(self) -> Path:
        return self.root / "cycles"

    def cycle(self, cycle_id: str) -> Path:
        return self.cycles / cycle_id

    def state(self, cycle_id: str) -> Path:
        return self.cycle(cycle_id) / "state.json"

    @property
    def events(self) -> Path:
        return self.root / "events.jsonl"

    @property
    def champion(self) -> Path:
        return self.root / "champion.json"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    def archived(self, champion_id: str) -> Path:
        return self.archive / champion_id

    @property
    def heldout(self) -> Path:
        return self.root / "heldout"

    @property
    def cycle_lock(self) -> Path:
        return self.root / "cycle.lock"

    @property
    def daemon_lock(self) -> Path:
        return self.root / "daemon.lock"


def cycle_ids(paths: CyclePaths) -> list[str]:
    """Existing cycles, oldest first (a folder without state.json was never started)."""
    if not paths.cycles.is_dir():
        return []
    found = [p.name for p in paths.cycles.iterdir() if _CYCLE_ID.match(p.name) and (p / "state.json").is_file()]
    return sorted(found, key=lambda name: int(name[1:]))


def load_state(paths: CyclePaths, cycle_id: str) -> CycleState:
    return read_model(paths.state(cycle_id), CycleState)


def save_state(paths: CyclePaths, state: CycleState) -> None:
    write_model(paths.state(state.id), state)


def all_states(paths: CyclePaths) -> list[CycleState]:
    return [load_state(paths, c) for c in cycle_ids(paths)]


def new_cycle(paths: CyclePaths, config_name: str) -> CycleState:
    ids = cycle_ids(paths)
    number = int(ids[-1][1:]) + 1 if ids else 1
    state = CycleState(id=f"c{number:04d}", number=number, config_name=config_name)
    save_state(paths, state)
    log_event(paths, state.id, "cycle", "created")
    return state


def log_event(paths: CyclePaths, cycle_id: str, stage: str, event: str, **extra: object) -> None:
    """Append-only record of stage starts/finishes (what the crash tests count)."""
    record = {"at": now_iso(), "cycle": cycle_id, "stage": stage, "event": event, **extra}
    append_jsonl(paths.events, json.dumps(record, sort_keys=True))


def read_events(paths: CyclePaths) -> list[dict[str, object]]:
    if not paths.events.is_file():
        return []
    lines = paths.events.read_text(encoding="utf-8").splitlines()
    # a kill -9 mid-append can leave a torn last line; it carries no finished event
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def load_pointer(paths: CyclePaths) -> ChampionPointer:
    if not paths.champion.is_file():
        return ChampionPointer()
    return read_model(paths.champion, ChampionPointer)


def save_pointer(paths: CyclePaths, pointer: ChampionPointer) -> None:
    write_model(paths.champion, pointer)


def archive_entries(paths: CyclePaths) -> list[ChampionEntry]:
    if not paths.archive.is_dir():
        return []
    folders = [p for p in paths.archive.iterdir() if (p / "entry.json").is_file()]
    entries = [read_model(p / "entry.json", ChampionEntry) for p in folders]
    return sorted(entries, key=lambda e: int(e.id[1:]) if _CYCLE_ID.match(e.id) else 0)


def load_entry(paths: CyclePaths, champion_id: str) -> ChampionEntry:
    path = paths.archived(champion_id) / "entry.json"
    if not path.is_file():
        known = ", ".join(e.id for e in archive_entries(paths)) or "none"
        raise EvotrainError(f"champion '{champion_id}': not in the archive {paths.archive} (archived: {known})")
    return read_model(path, ChampionEntry)
