"""Substrate permissions are visible and total: every file is editable or frozen (exactly one), and
the frozen evaluation code never imports a module a worker may edit."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workers.substrate_contract import load_spec, matches_any

ROOT = Path(__file__).resolve().parents[1]
SUBSTRATES = [ROOT / "substrate" / "default", ROOT / "substrate" / "noop"]
# The frozen code that judges a candidate: it must not execute anything a worker wrote.
EVALUATING = ["validate.py", "evaluate.py", "generate_items.py", "minitask"]


def tracked_files(substrate: Path) -> list[str]:
    out = subprocess.run(["git", "ls-files", "--", "."], cwd=substrate, capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if line]


@pytest.mark.parametrize("substrate", SUBSTRATES, ids=lambda p: p.name)
def test_every_file_is_editable_or_frozen_exactly_once(substrate: Path) -> None:
    spec = load_spec(substrate)
    files = tracked_files(substrate)
    assert len(files) > 10
    neither = [f for f in files if not matches_any(f, spec.editable) and not matches_any(f, spec.frozen)]
    both = [f for f in files if matches_any(f, spec.editable) and matches_any(f, spec.frozen)]
    assert neither == [] and both == []


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_frozen_evaluation_code_imports_no_editable_module() -> None:
    substrate = SUBSTRATES[0]
    spec = load_spec(substrate)
    editable_roots = {Path(g).parts[0].removesuffix(".py") for g in spec.editable if g.endswith((".py", "/**"))}
    assert editable_roots == {"train", "pipeline"}
    offenders = []
    for name in EVALUATING:
        target = substrate / name
        for path in [target] if target.is_file() else sorted(target.rglob("*.py")):
            bad = _imported_roots(path) & editable_roots
            if bad:
                offenders.append(f"{path.relative_to(substrate)} imports {sorted(bad)}")
    assert offenders == []


def test_validation_runs_no_worker_code(tmp_path: Path) -> None:
    """A sabotaged editable pipeline (it would exit 7 on import) cannot change what validate.py says."""
    copy = tmp_path / "substrate"
    shutil.copytree(SUBSTRATES[0], copy, ignore=shutil.ignore_patterns("__pycache__", "runs", "base"))
    (copy / "base").symlink_to(SUBSTRATES[0] / "base")
    (copy / "pipeline" / "__init__.py").write_text("raise SystemExit(7)\n")
    (copy / "train.py").write_text("raise SystemExit(7)\n")
    proc = subprocess.run([sys.executable, "validate.py", "--recipe", "recipe.yaml"], cwd=copy,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok:")
