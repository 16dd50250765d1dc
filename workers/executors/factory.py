"""Pick an executor backend by name: `make_executor("local"|"ray"|"kubernetes", state_dir, **options)`.

Backends are imported only when chosen, so `ray` / `kubernetes` stay optional dependencies.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Literal

from evotrain.errors import EvotrainError
from workers.executors.base import Executor

ExecutorKind = Literal["local", "ray", "kubernetes"]
KINDS: tuple[str, ...] = ("local", "ray", "kubernetes")


def _backend(kind: str) -> type:
    if kind == "local":
        from workers.executors.local import LocalExecutor

        return LocalExecutor
    try:
        if kind == "ray":
            from workers.executors.ray_executor import RayExecutor

            return RayExecutor
        from workers.executors.kubernetes_executor import KubernetesExecutor

        return KubernetesExecutor
    except ImportError as exc:
        extra = "ray" if kind == "ray" else "k8s"
        hint = f"pip install 'evotrain[{extra}]'"
        raise EvotrainError(f"executor '{kind}': {exc.name} is not installed ({hint})") from exc


def _check_options(kind: str, cls: type, options: dict[str, Any]) -> None:
    """Unknown option names are user errors, named in one line (not a TypeError deep in a backend)."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return  # the backend validates its pass-through options itself
    allowed = {name for name in params if name not in {"self", "state_dir"}}
    for name in options:
        if name not in allowed:
            raise EvotrainError(
                f"executor options: field '{name}': not an option of the {kind} executor "
                f"(known: {', '.join(sorted(allowed))})"
            )


def make_executor(kind: str, state_dir: Path | str, **options: Any) -> Executor:
    """The executor `kind`, keeping its job table in `state_dir` (a campaign's `jobs/` folder)."""
    if kind not in KINDS:
        raise EvotrainError(f"executor: field 'kind': {kind!r} is not one of {', '.join(KINDS)}")
    cls = _backend(kind)
    if kind == "ray" and str(options.get("address") or "").startswith(("http://", "https://")):
        # the dashboard's address: Ray *jobs* (Jobs API) that outlive the orchestrator
        from workers.executors.ray_jobs_executor import RayJobsExecutor

        cls = RayJobsExecutor
    _check_options(kind, cls, options)
    executor: Executor = cls(Path(state_dir), **options)
    return executor
