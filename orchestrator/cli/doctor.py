"""`evotrain doctor`: what this machine can do for a campaign (isolation first)."""

from __future__ import annotations

import importlib.util
import platform
import shutil
import subprocess
import sys

import typer

from workers.isolation import bwrap_problem, describe_isolation

OPTIONAL = {"ray": "ray", "kubernetes": "k8s", "kaggle": "kaggle", "anthropic": "(core)", "openai": "(core)",
            "mlflow": "mlflow", "trl": "nemotron", "vllm": "vllm-cpu / gpu"}


def doctor() -> None:
    """Print which job isolation is active and which optional backends are installed."""
    typer.echo(f"python {platform.python_version()} at {sys.executable}")
    typer.echo(describe_isolation())
    if bwrap_problem() is None:
        version = subprocess.run(["bwrap", "--version"], capture_output=True, text=True, check=False).stdout.strip()
        typer.echo(f"  {version} at {shutil.which('bwrap')}")
    for module, extra in OPTIONAL.items():
        found = importlib.util.find_spec(module) is not None
        typer.echo(f"{module:<11} {'installed' if found else 'missing'}" + ("" if found else f"  (extra: {extra})"))
    if bwrap_problem() is not None:
        raise typer.Exit(1)
