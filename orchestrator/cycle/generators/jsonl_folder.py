"""`jsonl`: pairs a user or a session miner drops into a folder as `*.jsonl` files.

One JSON object per line: {"prompt": ..., "response": ..., "category": ... (optional), "item": {...}
(optional, a substrate-native record)}. Each file is consumed once (its sha256 is carried to the
next cycle); lines that are not valid records are skipped and counted with the first error.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from orchestrator.cycle.generators.base import GeneratorContext, GeneratorResult
from orchestrator.cycle.models import Example

DEFAULT_CATEGORY = "general"


def generate(ctx: GeneratorContext, options: dict[str, Any]) -> GeneratorResult:
    """options: folder (default 'inbox', relative to the cycle state dir), category (default 'general')."""
    folder = Path(str(options.get("folder", "inbox"))).expanduser()
    folder = folder if folder.is_absolute() else ctx.state_dir / folder
    default_category = str(options.get("category", DEFAULT_CATEGORY))
    seen = set(ctx.carry.get("seen", []))
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)  # so users see where to drop files
    examples: list[Example] = []
    bad, first_error, consumed = 0, "", []
    for path in sorted(folder.glob("*.jsonl")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in seen:
            continue
        consumed.append(digest)
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("expected a JSON object")
                examples.append(Example(
                    id=f"{ctx.source}-{digest[:8]}-{lineno:05d}", source=ctx.source,
                    category=str(record.get("category") or default_category),
                    prompt=record["prompt"], response=record["response"], item=record.get("item"),
                ))
            except (ValueError, KeyError, TypeError, ValidationError) as exc:
                bad += 1
                if not first_error:
                    reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
                    first_error = f"{path.name}:{lineno}: {reason}"
    notes = {"files": len(consumed), "bad_lines": bad, "first_error": first_error or None}
    return GeneratorResult(examples, notes=notes, carry={"seen": sorted(seen | set(consumed))})
