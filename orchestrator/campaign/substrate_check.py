"""`evotrain substrate check DIR`: does a folder honour the substrate contract (docs/SUBSTRATE.md)?

Static checks first (substrate.yaml schema, commands and their scripts, every file either editable or
frozen, recipe + axes parse and agree); only a substrate that passes them is run: its validate command
on its own recipe, then one smoke run whose results file must parse. Each problem is one line.
"""

from __future__ import annotations

import os
import string
import subprocess
import tempfile
from pathlib import Path

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.schemas.results import RunResults
from evotrain.schemas.substrate import SubstrateSpec
from orchestrator.meta import policy_store
from workers.substrate_contract import (
    OPTIONAL_PLACEHOLDERS,
    SPEC_FILE,
    check_recipe_values,
    load_spec,
    matches_any,
    render_command,
)

COMMANDS = ("run_command", "validate_command", "evaluate_command", "generate_command", "judge_command")
# placeholders each command may use (workers/substrate_contract.py renders them)
PLACEHOLDERS = {
    "run_command": {"python", "recipe", "out", "seed", "train_data"},  # train_data: optional (the cycle's data)
    "validate_command": {"python", "recipe", "out", "seed"},
    "evaluate_command": {"python", "adapter", "items", "report"},
    "generate_command": {"python", "n", "seed", "mix", "difficulty", "items"},
    "judge_command": {"python", "run", "report", "dev_items"},  # dev_items: optional (the campaign's frozen value)
}
INPUT_PLACEHOLDERS = {"python", "input", "out"}  # an input's worker_view_command (orchestrator/campaign/data_inputs.py)
# never part of the contract: caches and run outputs a developer leaves in the folder
IGNORED_PARTS = {"__pycache__", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache", "runs"}
SMOKE_TIMEOUT_S = 600.0


def _files(directory: Path) -> list[str]:
    out = []
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory)
        if path.is_file() and not IGNORED_PARTS.intersection(rel.parts):
            out.append(rel.as_posix())
    return out


def _command_problems(directory: Path, spec: SubstrateSpec) -> list[str]:
    problems = []
    for field in COMMANDS:
        command = getattr(spec, field)
        if not command:
            if field != "judge_command":  # optional: without it a run's own scores are used
                problems.append(f"{SPEC_FILE}: field '{field}': must name a command")
            continue
        for arg in command:
            names = {n for _, n, _, _ in string.Formatter().parse(arg) if n is not None}
            unknown = sorted(names - PLACEHOLDERS[field])
            if unknown:
                problems.append(f"{SPEC_FILE}: field '{field}': unknown placeholder {{{unknown[0]}}} in {arg!r}")
            elif names & OPTIONAL_PLACEHOLDERS and arg in {f"{{{n}}}" for n in names}:  # dropped when unset
                name = sorted(names)[0]
                problems.append(f"{SPEC_FILE}: field '{field}': write {{{name}}} with its flag in one argument "
                                f"(e.g. --{name.replace('_', '-')}={{{name}}}); it is left out when not given")
            elif not names and arg.endswith(".py") and not (directory / arg).is_file():
                problems.append(f"{SPEC_FILE}: field '{field}': script {arg} is not in the substrate folder")
    return problems


def _input_problems(directory: Path, spec: SubstrateSpec) -> list[str]:
    problems = []
    for name, decl in sorted(spec.inputs.items()):
        field = f"inputs.{name}.worker_view_command"
        for arg in decl.worker_view_command:
            names = {n for _, n, _, _ in string.Formatter().parse(arg) if n is not None}
            unknown = sorted(names - INPUT_PLACEHOLDERS)
            if unknown:
                problems.append(f"{SPEC_FILE}: field '{field}': unknown placeholder {{{unknown[0]}}} in {arg!r}")
            elif not names and arg.endswith(".py") and not (directory / arg).is_file():
                problems.append(f"{SPEC_FILE}: field '{field}': script {arg} is not in the substrate folder")
    return problems


def _coverage_problems(spec: SubstrateSpec, files: list[str]) -> list[str]:
    problems = []
    for rel in files:
        editable, frozen = matches_any(rel, spec.editable), matches_any(rel, spec.frozen)
        if editable and frozen:
            problems.append(f"{rel}: listed as both 'editable' and 'frozen' in {SPEC_FILE}")
        elif not editable and not frozen:
            problems.append(f"{rel}: in neither 'editable' nor 'frozen' of {SPEC_FILE} (add it to one of them)")
    for rel, must in ((SPEC_FILE, "frozen"), (spec.axes_file, "frozen"), (spec.recipe_file, "editable")):
        if rel in files and not matches_any(rel, spec.frozen if must == "frozen" else spec.editable):
            problems.append(f"{rel}: must be '{must}' in {SPEC_FILE}")
    return problems


def _recipe_axes_problems(directory: Path, spec: SubstrateSpec) -> list[str]:
    recipe_path, axes_path = directory / spec.recipe_file, directory / spec.axes_file
    try:
        recipe = policy_store.load_recipe(recipe_path)
        axes = policy_store.load_axes(axes_path)
    except EvotrainError as exc:
        return [exc.message.replace(str(directory) + "/", "")]
    return [f"{spec.axes_file}: axis '{a.name}' moves key '{a.key}', which {spec.recipe_file} does not have"
            for a in axes if a.key.split(".")[0] not in recipe]


def static_problems(directory: Path) -> tuple[SubstrateSpec | None, list[str]]:
    if not directory.is_dir():
        return None, [f"{directory}: not a folder"]
    try:
        spec = load_spec(directory)
    except EvotrainError as exc:
        return None, [exc.message.replace(str(directory) + "/", "")]
    files = _files(directory)
    problems = _command_problems(directory, spec) + _input_problems(directory, spec) + _coverage_problems(spec, files)
    return spec, problems + _recipe_axes_problems(directory, spec)


def _smoke(directory: Path, spec: SubstrateSpec, inputs: dict[str, Path]) -> list[str]:
    """One smoke run (`run_command ... --smoke`) into a temp folder; its results file must parse. Given
    `inputs`, it reads what a worker's job would: each input's worker view, named by EVOTRAIN_INPUT_<NAME>."""
    from orchestrator.campaign.data_inputs import worker_views

    timeout = spec.resources.smoke.timeout_s or SMOKE_TIMEOUT_S
    with tempfile.TemporaryDirectory(prefix="evotrain-check-") as tmp:
        out = Path(tmp) / "out"
        command = [*render_command(spec.run_command, recipe=str(directory / spec.recipe_file), out=str(out),
                                   seed=0), "--smoke"]
        env = {"PATH": os.environ.get("PATH", ""), "HOME": tmp, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYTHONDONTWRITEBYTECODE": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        try:
            views = worker_views(spec, directory, inputs, Path(tmp) / "inputs", isolated=False) if inputs else {}
        except EvotrainError as exc:
            return [exc.message]
        env.update({f"EVOTRAIN_INPUT_{name.upper()}": path for name, path in views.items()})
        try:
            proc = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return [f"smoke run: did not finish in {timeout:g}s (resources.smoke.timeout_s)"]
        if proc.returncode != 0:
            lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines() or ["(no output)"]
            return [f"smoke run: exit {proc.returncode}: {lines[-1][:300]}"]
        try:
            read_model(out / spec.results_file, RunResults)
        except EvotrainError as exc:
            return [f"smoke run: {exc.message.replace(str(out) + '/', '')}"]
    return []


def check_substrate(directory: Path, run: bool = True, inputs: dict[str, Path] | None = None) -> list[str]:
    """Every problem found, one line each; [] when the folder is a usable substrate. `inputs` (`--input
    NAME=PATH`): files for the substrate's declared inputs, given to the smoke run as a campaign would."""
    directory = directory.resolve()
    spec, problems = static_problems(directory)
    inputs = inputs or {}
    if spec is not None:
        declared = ", ".join(sorted(spec.inputs)) or "none"
        problems += [f"--input {name}: {SPEC_FILE} declares no such input (declared: {declared})"
                     for name in sorted(set(inputs) - set(spec.inputs))]
        problems += [f"--input {name}={path}: not a file" for name, path in sorted(inputs.items())
                     if name in spec.inputs and not path.is_file()]
        if inputs:  # then every declared input must be given, as `campaign start` requires
            problems += [f"--input {name}=PATH: missing ({SPEC_FILE} declares it)"
                         for name in sorted(set(spec.inputs) - set(inputs))]
    if problems or spec is None or not run:
        return problems
    try:  # the substrate's own validator must accept its own recipe
        check_recipe_values(directory, policy_store.load_recipe(directory / spec.recipe_file), spec.recipe_file)
    except EvotrainError as exc:
        return [exc.message]
    return _smoke(directory, spec, {name: path.resolve() for name, path in inputs.items()})
