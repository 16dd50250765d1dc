"""`substrate.yaml`: how evotrain drives a substrate (a self-contained training workspace).

A substrate is a program, not a library: evotrain runs its commands as subprocesses (locally, on
Ray or in a Kubernetes Job), so a GPU substrate can swap in without touching evotrain.
Placeholders in commands: {python} {recipe} {out} {seed} {adapter} {items} {report};
generate_command also takes {n} {mix} {difficulty} (mix and difficulty as JSON strings).
"""

from __future__ import annotations

from pydantic import Field

from evotrain.schemas.common import Artifact


class SubstrateSpec(Artifact):
    schema_version: int = 1
    name: str
    description: str = ""
    recipe_file: str = "recipe.yaml"
    results_file: str = "results.json"
    # train + evaluate every checkpoint, write results.json (RunResults) into {out}
    run_command: list[str]
    # validate a recipe only: exit 0, or exit 2 with a one-line error naming the key
    validate_command: list[str]
    # score one adapter on an items file (JSONL of generated puzzles), write an EvalReport to {report}
    evaluate_command: list[str]
    # generate an items file: used by the leaderboard to build its hidden split outside any sandbox
    generate_command: list[str]
    families: list[str]
    editable: list[str] = Field(default_factory=list)  # glob patterns a worker may write
    frozen: list[str] = Field(default_factory=list)  # glob patterns verified by hash after a run
    cpu_threads_per_job: int = 1
    max_lora_rank: int = 32
