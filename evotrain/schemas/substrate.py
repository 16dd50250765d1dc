"""`substrate.yaml`: how evotrain drives a substrate (a self-contained training workspace).

A substrate is a program, not a library: evotrain runs its commands as subprocesses (locally, on
Ray or in a Kubernetes Job), so a GPU substrate can swap in without touching evotrain.
Placeholders in commands: {python} {recipe} {out} {seed} {adapter} {items} {report};
generate_command also takes {n} {mix} {difficulty} (mix and difficulty as JSON strings).
run_command may name {train_data} (one argument with its flag, `--train-data={train_data}`): a JSONL
file of TrainDataRecord lines to train on instead of the recipe's generated data. Callers without data
(campaigns) leave it unset and the argument is dropped (workers/substrate_contract.py: render_command).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from evotrain.schemas.common import Artifact

# A Kubernetes resource quantity (also read by the Ray executor): 512Mi, 16Gi, 2G, 1000000.
QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?")
_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def quantity_bytes(value: str) -> int:
    """Bytes in a quantity string (`16Gi` -> 17179869184); the string was validated by QUANTITY."""
    m = QUANTITY.fullmatch(value)
    if m is None:
        raise ValueError(f"{value!r} is not a quantity like 512Mi or 16Gi")
    return int(float(value[: m.start(2)] if m.group(2) else value) * _UNITS[m.group(2) or ""])


class CommandResources(Artifact):
    """What one kind of job needs. None = the executor's / evotrain's default for that field.

    `timeout_s` counts from when the job starts running (a job waiting for a GPU is not timed out).
    `image` overrides the executor's image (Kubernetes) for this command only.
    """

    gpus: int = Field(default=0, ge=0)
    cpus: int | None = Field(default=None, ge=1)  # None: cpu_threads_per_job
    memory: str | None = None  # request = limit on Kubernetes; Ray `memory`; not enforced locally
    shm: str | None = None  # size of the /dev/shm memory volume (PyTorch DataLoader workers, NCCL)
    timeout_s: float | None = Field(default=None, gt=0)
    image: str | None = None

    @field_validator("memory", "shm")
    @classmethod
    def _quantity(cls, v: str | None) -> str | None:
        if v is not None:
            quantity_bytes(v)
        return v


class SubstrateResources(Artifact):
    """Per command. validate runs on the orchestrator host (only its timeout applies); smoke and train
    run `run_command` as executor jobs; evaluate is the leaderboard's scoring of an adapter."""

    validate_: CommandResources = Field(default_factory=CommandResources, alias="validate")
    smoke: CommandResources = Field(default_factory=CommandResources)
    train: CommandResources = Field(default_factory=CommandResources)
    evaluate: CommandResources = Field(default_factory=CommandResources)

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)


class SubstrateInput(Artifact):
    """A file the user brings (e.g. the challenge's train.csv), given by host path in the campaign config's
    `inputs`. Jobs read it at the path in env `EVOTRAIN_INPUT_<NAME>` (bound read-only under isolation).
    `worker_view_command` ({python} {input} {out}) is frozen substrate code the orchestrator runs outside
    any sandbox to write the part workers may read (e.g. without held-out rows); empty: the whole file."""

    description: str = ""
    worker_view_command: list[str] = Field(default_factory=list)


class SubstrateSpec(Artifact):
    schema_version: int = 1
    name: str
    description: str = ""
    recipe_file: str = "recipe.yaml"
    axes_file: str = "axes.yaml"  # the search space (orchestrator/meta reads it to form round 1's policy)
    results_file: str = "results.json"
    # train + evaluate every checkpoint, write results.json (RunResults) into {out}
    run_command: list[str]
    # validate a recipe only: exit 0, or exit 2 with a one-line error naming the key
    validate_command: list[str]
    # score one adapter on an items file (JSONL of generated puzzles), write an EvalReport to {report}
    evaluate_command: list[str]
    # generate an items file: used by the leaderboard to build its hidden split outside any sandbox
    generate_command: list[str]
    # the frozen judge ({run} {report}): scores every checkpoint a run saved on the dev split and writes
    # a JudgeReport; evotrain runs it from a verified checkout in an isolated process. Without it the
    # run's own scores are used and the manifest says they were not judged.
    judge_command: list[str] = Field(default_factory=list)
    families: list[str]
    editable: list[str] = Field(default_factory=list)  # glob patterns a worker may write
    frozen: list[str] = Field(default_factory=list)  # glob patterns verified by hash after a run
    cpu_threads_per_job: int = 1
    max_lora_rank: int = 32
    resources: SubstrateResources = Field(default_factory=SubstrateResources)
    inputs: dict[str, SubstrateInput] = Field(default_factory=dict)  # name (a-z0-9_) -> a user-given file

    @field_validator("inputs")
    @classmethod
    def _input_names(cls, v: dict[str, SubstrateInput]) -> dict[str, SubstrateInput]:
        for name in v:  # becomes an env var name and a mount point
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
                raise ValueError(f"input name {name!r}: use a-z, 0-9 and _ (starting with a letter)")
        return v


class TrainDataRecord(Artifact):
    """One line of a `{train_data}` file (the continuous cycle writes them): a prompt -> response pair.
    `item` is a substrate-native record (a puzzle of the embedded substrate, `Puzzle.to_json()`) that
    the substrate encodes its own way; without it the pair is trained as plain text. `source` and
    `category` are provenance only."""

    prompt: str
    response: str
    item: dict[str, Any] | None = None
    source: str = ""
    category: str = ""
