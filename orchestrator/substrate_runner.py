"""Load a substrate's `substrate.yaml` and fill its command placeholders.

Shared by the leaderboard and the `evotrain substrate` CLI: a substrate is driven only through
its commands, never imported.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from evotrain.errors import EvotrainError
from evotrain.io import read_model
from evotrain.schemas.substrate import SubstrateSpec

SPEC_FILE = "substrate.yaml"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def load_spec(substrate_dir: Path) -> SubstrateSpec:
    if not (substrate_dir / SPEC_FILE).is_file():
        raise EvotrainError(f"{substrate_dir}: not a substrate (no {SPEC_FILE})")
    return read_model(substrate_dir / SPEC_FILE, SubstrateSpec)


def format_command(template: list[str], values: dict[str, str]) -> list[str]:
    """Fill {python} {recipe} ... in each argument; an unknown placeholder is an error."""
    filled = {"python": sys.executable, **values}

    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in filled:
            raise EvotrainError(f"substrate command: placeholder '{{{key}}}' has no value")
        return filled[key]

    return [_PLACEHOLDER.sub(sub, arg) for arg in template]
