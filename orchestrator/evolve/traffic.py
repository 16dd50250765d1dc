"""Request streams for `evotrain evolve simulate`: a JSONL file of requests, or a phased spec (YAML)
whose requests are written by the substrate's generators in the real prompt wording.

The embedded default (`default_traffic.yaml`) has the seed's shape: two families first, others
later, and one family whose wording changes part-way (a re-worded header, introduced gradually,
then re-worded again), the "generate SQL" -> "optimize SQL" drift of the write-up.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from evotrain.errors import EvotrainError, first_validation_error
from evotrain.io import read_model
from evotrain.schemas.common import Artifact
from orchestrator.evolve.schemas import TrafficRequest
from orchestrator.evolve.substrate_bridge import Minitask

DEFAULT_TRAFFIC = Path(__file__).resolve().parent / "default_traffic.yaml"


class Rewording(Artifact):
    family: str
    old: str  # the header sentence as the generator writes it
    steps: list[str] = Field(min_length=1)  # successive re-wordings; the phase walks through them


class Phase(Artifact):
    name: str
    requests: int = Field(ge=1)
    mix: dict[str, float] = Field(min_length=1)
    rewording: Rewording | None = None

    @model_validator(mode="after")
    def _positive(self) -> Phase:
        if sum(self.mix.values()) <= 0 or any(w < 0 for w in self.mix.values()):
            raise ValueError("mix: weights must be >= 0 and sum to more than 0")
        return self


class TrafficSpec(Artifact):
    name: str
    seed: int = 0
    difficulty: int = Field(default=0, ge=0, le=2)
    phases: list[Phase] = Field(min_length=1)


def _reworded(prompt: str, rw: Rewording, progress: float) -> tuple[str, int]:
    """Step 0 = original wording; the phase is cut into len(steps)+1 equal parts, one wording each."""
    step = min(len(rw.steps), int(progress * (len(rw.steps) + 1)))
    if step == 0:
        return prompt, 0
    if rw.old not in prompt:
        raise EvotrainError(f"rewording.old: {rw.old[:40]!r}... does not occur in a {rw.family} prompt")
    return prompt.replace(rw.old, rw.steps[step - 1]), step


def generate_stream(mt: Minitask, spec: TrafficSpec) -> list[TrafficRequest]:
    out: list[TrafficRequest] = []
    t = 0
    for p_index, phase in enumerate(spec.phases):
        for family in phase.mix:
            if family not in mt.puzzle.FAMILIES:
                raise EvotrainError(f"phases.{p_index}.mix: unknown family '{family}'")
        rng = random.Random(f"{spec.seed}:{phase.name}")
        families = list(phase.mix)
        weights = [phase.mix[f] for f in families]
        for k in range(phase.requests):
            family = rng.choices(families, weights)[0]
            puzzle = mt.families.generate_puzzle(family, random.Random(f"{spec.seed}:{phase.name}:{k}"),
                                                 spec.difficulty)
            prompt, step = puzzle.prompt, 0
            if phase.rewording and phase.rewording.family == family:
                prompt, step = _reworded(prompt, phase.rewording, k / phase.requests)
            t += 1
            out.append(TrafficRequest(
                id=f"{phase.name}-{k:04d}", t=float(t), prompt=prompt, label=family, answer=puzzle.answer,
                phase=f"{phase.name}" + (f"/wording-{step}" if step else ""),
            ))
    return out


def load_stream(mt: Minitask, path: Path | None) -> tuple[str, list[TrafficRequest]]:
    """(name, requests) from a spec (.yaml) or a JSONL file of TrafficRequest lines."""
    path = path or DEFAULT_TRAFFIC
    if not path.is_file():
        raise EvotrainError(f"TRAFFIC: {path}: file not found")
    if path.suffix in {".yaml", ".yml"}:
        spec = read_model(path, TrafficSpec)
        return spec.name, generate_stream(mt, spec)
    requests = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            requests.append(TrafficRequest.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise EvotrainError(f"{path}:{lineno}: not JSON: {exc.msg}") from exc
        except ValidationError as exc:
            raise EvotrainError(first_validation_error(exc, f"{path}:{lineno}")) from exc
    if not requests:
        raise EvotrainError(f"TRAFFIC: {path}: no requests")
    if any(b.t < a.t for a, b in itertools.pairwise(requests)):
        raise EvotrainError(f"TRAFFIC: {path}: requests must be in time order (field 't')")
    return path.stem, requests
