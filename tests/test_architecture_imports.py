"""The layers, computed from the code: evotrain ← llm ← workers ← orchestrator, no cycles, nothing upward.

The import graph is read with `ast` (every import statement, lazy ones inside functions included),
so a cycle cannot hide behind a function-level import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("evotrain", "llm", "workers", "orchestrator")
# A package may import only packages at its own layer or below.
LAYER = {"evotrain": 0, "llm": 1, "workers": 2, "orchestrator": 3}


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _project_modules() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in (REPO / pkg).rglob("*.py"):
            mods[_module_name(path)] = path
    return mods


def _resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The project module an import names (`a.b.c` may be a module or a name inside `a.b`)."""
    while target:
        if target in modules:
            return target
        target = target.rpartition(".")[0]
    return None


def import_graph() -> dict[str, set[str]]:
    modules = _project_modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{a.name}" for a in node.names]
            for t in targets:
                dep = _resolve(t, modules)
                if dep is not None and dep != name and not name.startswith(dep + "."):
                    graph[name].add(dep)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules, or None (iterative DFS with colours)."""
    colour: dict[str, int] = dict.fromkeys(graph, 0)
    for start in sorted(graph):
        if colour[start]:
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        path = [start]
        colour[start] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                colour[node] = 2
                stack.pop()
                path.pop()
                continue
            nxt = todo.pop()
            if colour[nxt] == 1:
                return [*path[path.index(nxt):], nxt]
            if colour[nxt] == 0:
                colour[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(graph[nxt])))
    return None


def test_cycle_finder_finds_a_planted_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_no_upward_import() -> None:
    upward = [
        f"{mod} -> {dep}"
        for mod, deps in import_graph().items()
        for dep in deps
        if LAYER[dep.split(".")[0]] > LAYER[mod.split(".")[0]]
    ]
    assert upward == []


@pytest.mark.parametrize("pkg", PACKAGES)
def test_no_module_over_400_lines(pkg: str) -> None:
    long = [str(p.relative_to(REPO)) for p in (REPO / pkg).rglob("*.py") if len(p.read_text().splitlines()) > 400]
    assert long == []


def test_orchestrator_top_level_is_small() -> None:
    top = [p.name for p in (REPO / "orchestrator").iterdir() if p.name != "__pycache__" and not p.name.startswith(".")]
    assert len(top) <= 13, sorted(top)  # 13: bench/ (issue #13's `evotrain bench`)
