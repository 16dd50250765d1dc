"""Built-in generators backed by the substrate's generate command: its task families, and
`targeted` (more examples for the categories the last benchmark found weak).

Each example keeps the substrate's native item, so the substrate trains on it in its own encoding;
prompt/response (the challenge prompt and its reasoning trace) are what the quality gate judges.
Seeds depend on the cycle number and the source name, never on the held-out benchmark's seed.
"""

from __future__ import annotations

import zlib
from typing import Any

from evotrain.errors import EvotrainError
from orchestrator.cycle.generators.base import GeneratorContext, GeneratorResult
from orchestrator.cycle.models import Example
from orchestrator.cycle.substrate_io import generate_items

SEED_BASE = 7_000_000


def cycle_seed(ctx: GeneratorContext) -> int:
    return SEED_BASE + ctx.cycle_number * 1000 + zlib.crc32(ctx.source.encode()) % 1000


def item_example(item: dict[str, Any], source: str, index: int) -> Example:
    trace = item.get("trace") or []
    return Example(
        id=f"{source}-{index:05d}",
        source=source,
        category=str(item["family"]),
        prompt=str(item.get("prompt", "")),
        response="\n".join(str(line) for line in trace),
        item=item,
    )


def _families(ctx: GeneratorContext, options: dict[str, Any]) -> list[str]:
    families = list(options.get("families") or ctx.spec.families)
    unknown = [f for f in families if f not in ctx.spec.families]
    if unknown:
        raise EvotrainError(f"options.families: unknown family '{unknown[0]}'")
    return families


def _items(ctx: GeneratorContext, families: list[str], n: int, options: dict[str, Any]) -> list[Example]:
    if n <= 0 or not families:
        return []
    items = generate_items(
        ctx.substrate_dir,
        ctx.work_dir / "items.jsonl",
        n=n,
        seed=int(options.get("seed", cycle_seed(ctx))),
        mix=dict.fromkeys(families, 1.0),
        difficulty=options.get("difficulty", 0),
    )
    return [item_example(item, ctx.source, i) for i, item in enumerate(items)]


def generate_families(ctx: GeneratorContext, options: dict[str, Any]) -> GeneratorResult:
    """options: n_per_family (default 100), families (default all), difficulty (int or per family)."""
    families = _families(ctx, options)
    n = int(options.get("n_per_family", 100)) * len(families)
    examples = _items(ctx, families, n, options)
    return GeneratorResult(examples, notes={"families": families})


def generate_targeted(ctx: GeneratorContext, options: dict[str, Any]) -> GeneratorResult:
    """options: n_per_category (default 100), difficulty. Only weak categories the substrate can
    generate are served; others are listed in the notes."""
    weak = [c for c in ctx.weak_categories if c in ctx.spec.families]
    skipped = [c for c in ctx.weak_categories if c not in ctx.spec.families]
    n = int(options.get("n_per_category", 100)) * len(weak)
    examples = _items(ctx, weak, n, options)
    return GeneratorResult(examples, notes={"weak_categories": weak, "not_generable": skipped})
