"""The generator contract and registry: a Python entry-point group, so a user registers their own.

A generator is a callable `(ctx: GeneratorContext, options: dict) -> GeneratorResult`, registered
under the group `evotrain.cycle_generators` in the user's package metadata:

    [project.entry-points."evotrain.cycle_generators"]
    my-miner = "my_pkg.miner:generate"

and used from a cycle config as `generators: [{kind: my-miner, options: {...}}]`. Built-ins are
also declared in evotrain's pyproject; they are found here even before a reinstall refreshes the
metadata. A generator that raises is reported and the cycle goes on without its examples.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from evotrain.errors import EvotrainError
from evotrain.schemas.substrate import SubstrateSpec
from orchestrator.cycle.config import GeneratorConfig
from orchestrator.cycle.models import Example, GeneratorReport

GROUP = "evotrain.cycle_generators"
BUILTINS = {
    "substrate": "orchestrator.cycle.generators.substrate:generate_families",
    "targeted": "orchestrator.cycle.generators.substrate:generate_targeted",
    "python-ast": "orchestrator.cycle.generators.python_ast:generate",
    "git-diff": "orchestrator.cycle.generators.git_diff:generate",
    "jsonl": "orchestrator.cycle.generators.jsonl_folder:generate",
}


@dataclass(frozen=True)
class GeneratorContext:
    cycle_id: str
    cycle_number: int
    source: str  # this generator instance's source tag
    substrate_dir: Path
    spec: SubstrateSpec
    state_dir: Path  # relative options (folders) resolve here
    work_dir: Path  # scratch space of this generator in this cycle
    weak_categories: tuple[str, ...] = ()
    carry: dict[str, Any] = field(default_factory=dict)  # what this source handed on last cycle


@dataclass
class GeneratorResult:
    examples: list[Example]
    notes: dict[str, Any] = field(default_factory=dict)
    carry: dict[str, Any] = field(default_factory=dict)


GeneratorFn = Callable[[GeneratorContext, dict[str, Any]], GeneratorResult]


def _load_target(target: str) -> GeneratorFn:
    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def available() -> dict[str, str]:
    """kind -> 'module:attr' for the built-ins and every installed entry point (entry points win)."""
    found = dict(BUILTINS)
    for ep in entry_points(group=GROUP):
        found[ep.name] = ep.value
    return found


def resolve(kind: str) -> GeneratorFn:
    for ep in entry_points(group=GROUP):
        if ep.name == kind:
            return ep.load()
    if kind in BUILTINS:
        return _load_target(BUILTINS[kind])
    raise EvotrainError(f"generators: unknown kind '{kind}' (known: {', '.join(sorted(available()))})")


def check_kinds(configs: list[GeneratorConfig]) -> None:
    """Fail before anything runs when a config names a generator nobody registered."""
    known = available()
    for cfg in configs:
        if cfg.kind not in known:
            raise EvotrainError(f"generators: unknown kind '{cfg.kind}' (known: {', '.join(sorted(known))})")


def run_one(cfg: GeneratorConfig, ctx: GeneratorContext) -> tuple[list[Example], GeneratorReport, dict[str, Any]]:
    """Run one generator; any exception becomes a failed report (the cycle continues)."""
    try:
        result = resolve(cfg.kind)(ctx, dict(cfg.options))
        examples = [e if e.source == cfg.name else e.model_copy(update={"source": cfg.name}) for e in result.examples]
    except Exception as exc:
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        report = GeneratorReport(source=cfg.name, kind=cfg.kind, ok=False, error=last[:500])
        return [], report, dict(ctx.carry)
    report = GeneratorReport(source=cfg.name, kind=cfg.kind, ok=True, n_examples=len(examples), notes=result.notes)
    return examples, report, result.carry
