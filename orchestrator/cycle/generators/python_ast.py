"""`python-ast`: code-understanding pairs from a Python repository's functions and classes.

Per documented function/class: "what does it do" (answer: its docstring), "what is its
signature" (answer: the def line), and "where is it called" (answer: the callers found by walking
every call in the repository). Category `code_understanding`. Files that do not parse are counted
in the notes, not fatal.
"""

from __future__ import annotations

import ast
import random
from pathlib import Path
from typing import Any

from evotrain.errors import EvotrainError
from orchestrator.cycle.generators.base import GeneratorContext, GeneratorResult
from orchestrator.cycle.models import Example

CATEGORY = "code_understanding"
SKIP_DIRS = {".venv", "venv", ".git", "__pycache__", "node_modules", "build", "dist", ".cache", "runs"}


def _py_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if not SKIP_DIRS.intersection(p.relative_to(root).parts))


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    ret = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    return f"{prefix} {node.name}({ast.unparse(node.args)}){ret}"


def _first_paragraph(doc: str) -> str:
    return " ".join(doc.strip().split("\n\n")[0].split())


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _scan(path: Path, module: str, defs: list[tuple[str, ast.AST, str]], callers: dict[str, set[str]]) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and ast.get_docstring(node):
            defs.append((module, node, ast.get_docstring(node) or ""))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Call) and (name := _called_name(inner)) and name != node.name:
                    callers.setdefault(name, set()).add(f"{module}.{node.name}")


def _pairs(module: str, node: ast.AST, doc: str, callers: dict[str, set[str]]) -> list[tuple[str, str]]:
    name = getattr(node, "name", "?")
    kind = "class" if isinstance(node, ast.ClassDef) else "function"
    pairs = [(f"What does the {kind} `{name}` in `{module}` do?", _first_paragraph(doc))]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        purpose = _first_paragraph(doc).split(". ")[0]
        pairs.append((f"Write the signature of `{name}` in `{module}` ({purpose}).", _signature(node)))
    sites = sorted(callers.get(name, ()))[:6]
    if sites:
        answer = f"`{name}` is called from " + ", ".join(sites) + "."
        pairs.append((f"Where is `{name}` from `{module}` called?", answer))
    return pairs


def generate(ctx: GeneratorContext, options: dict[str, Any]) -> GeneratorResult:
    """options: root (a folder; default the state dir's parent repository), max_examples (default 300)."""
    root = Path(str(options.get("root", "."))).expanduser()
    root = root if root.is_absolute() else ctx.state_dir / root
    if not root.is_dir():
        raise EvotrainError(f"options.root: {root}: not a folder")
    max_examples = int(options.get("max_examples", 300))
    defs: list[tuple[str, ast.AST, str]] = []
    callers: dict[str, set[str]] = {}
    unparsable = 0
    files = _py_files(root)
    for path in files:
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        try:
            _scan(path, module, defs, callers)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            unparsable += 1
    pairs = [p for module, node, doc in defs for p in _pairs(module, node, doc, callers)]
    # a different sample each cycle, reproducible within one
    random.Random(f"{ctx.cycle_number}:{ctx.source}").shuffle(pairs)
    examples = [
        Example(id=f"{ctx.source}-{i:05d}", source=ctx.source, category=CATEGORY, prompt=q, response=a)
        for i, (q, a) in enumerate(pairs[:max_examples])
    ]
    return GeneratorResult(examples, notes={"files": len(files), "definitions": len(defs), "unparsable": unparsable,
                                            "pairs_available": len(pairs)})
