"""Items files (JSONL): the rows an evaluation scores, written by generate_items.py and run.py (frozen)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from .data import Row
from .families import parse


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    family: str
    kind: str
    prompt: str
    answer: str


def item_of(row: Row) -> Item:
    if row.answer is None:
        raise ValueError(f"row {row.id}: no answer to score against")
    puzzle = parse(row.prompt)
    return Item(id=row.id, family=puzzle.family, kind=puzzle.kind, prompt=row.prompt, answer=row.answer)


def save_items(path: Path, items: list[Item]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text("".join(i.model_dump_json() + "\n" for i in items), encoding="utf-8")
    tmp.replace(path)


def load_items(path: Path) -> list[Item]:
    """Items of a JSONL file; ValueError naming path:line on a malformed line."""
    items: list[Item] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(Item.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise ValueError(f"{path}:{n}: not an item: {str(exc).splitlines()[0]}") from None
    return items
