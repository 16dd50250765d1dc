"""Read the challenge CSV (id,prompt,answer) into validated rows; write id,prediction files."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

csv.field_size_limit(sys.maxsize)


class Row(BaseModel):
    """One challenge row; answer is absent in test.csv."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    prompt: str
    answer: str | None = None


class Prediction(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    prediction: str


class DataError(ValueError):
    """A malformed CSV: the message names the file, the row and the field."""


def read_rows(path: Path) -> list[Row]:
    """Rows of a challenge CSV; DataError naming path:line and the field when a row is malformed."""
    if not path.is_file():
        raise DataError(f"{path}: no such CSV file")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"id", "prompt"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"{path}: header lacks column(s) {sorted(missing)}")
        rows: list[Row] = []
        for record in reader:
            try:
                rows.append(Row(**{k: v for k, v in record.items() if k in ("id", "prompt", "answer")}))
            except ValidationError as exc:
                field = ".".join(str(p) for p in exc.errors()[0]["loc"])
                raise DataError(f"{path}:{reader.line_num}: field {field!r} invalid") from None
    return rows


def write_predictions(path: Path, preds: list[Prediction]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "prediction"])
        for p in preds:
            writer.writerow([p.id, p.prediction])
    tmp.replace(path)
