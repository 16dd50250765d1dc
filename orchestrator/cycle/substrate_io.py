"""Running the substrate's commands (from its substrate.yaml) as child processes.

Children get PR_SET_PDEATHSIG=SIGKILL: when the cycle process is killed -9 mid-training, its
training job dies with it instead of living on as an orphan that would race the resumed run for
the same output folder.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from evotrain.errors import EvotrainError
from evotrain.schemas.substrate import SubstrateSpec
from workers.substrate_contract import load_spec, render_command

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def spec_of(substrate_dir: Path) -> SubstrateSpec:
    return load_spec(substrate_dir)


def run_command(command: list[str], cwd: Path, what: str, timeout_s: float, log: Path | None = None,
                threads: int = 1, extra_env: dict[str, str] | None = None) -> None:
    """Run one substrate command; non-zero exit -> one-line EvotrainError with its last stderr line."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "EVOTRAIN_THREADS": str(threads), "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    out = open(log, "w", encoding="utf-8") if log else subprocess.PIPE  # noqa: SIM115 - closed below
    try:
        proc = subprocess.run(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.PIPE, text=True,
                              timeout=timeout_s, check=False, preexec_fn=_die_with_parent)
    except subprocess.TimeoutExpired as exc:
        raise EvotrainError(f"substrate: {what} timed out after {timeout_s:.0f}s") from exc
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        raise EvotrainError(f"substrate: {what} failed (exit {proc.returncode}): {tail}")


def generate_items(substrate_dir: Path, out: Path, n: int, seed: int, mix: dict[str, float],
                   difficulty: int | dict[str, int], timeout_s: float = 300.0) -> list[dict[str, object]]:
    """Items (one JSON object per puzzle) through the substrate's generate command."""
    spec = spec_of(substrate_dir)
    values = {"n": n, "seed": seed, "mix": json.dumps(mix), "difficulty": json.dumps(difficulty), "items": str(out)}
    out.parent.mkdir(parents=True, exist_ok=True)
    run_command(render_command(spec.generate_command, **values), substrate_dir, f"generate {out.name}", timeout_s)
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
