"""The worker's tool set: one pydantic argument model per tool, its JSON Schema sent to the agent.

Arguments are validated against the same model that produced the schema, so what the agent is
told and what the worker accepts can never drift apart.
"""

from __future__ import annotations

from pydantic import Field, JsonValue, ValidationError, model_validator

from evotrain.errors import first_validation_error
from evotrain.schemas.common import Artifact
from llm.base import ToolSpec


class NoArgs(Artifact):
    pass


class ListFilesArgs(Artifact):
    path: str = Field(default=".", description="directory relative to the sandbox root")


class ReadFileArgs(Artifact):
    path: str = Field(description="file path relative to the sandbox root (or _outputs/<id>.txt: a saved long output)")
    offset: int = Field(default=0, ge=0, description="first character to return (page through long files)")
    max_chars: int = Field(default=20_000, ge=1, le=200_000)


class WriteFileArgs(Artifact):
    path: str = Field(description="editable file path relative to the sandbox root")
    content: str = Field(description="the complete new file content")


class PatchFileArgs(Artifact):
    path: str = Field(description="editable file path relative to the sandbox root")
    diff: str | None = Field(default=None, description="a unified diff for this one file (@@ hunks)")
    search: str | None = Field(default=None, description="exact text to replace (must occur once)")
    replace: str | None = Field(default=None, description="replacement text for 'search'")

    @model_validator(mode="after")
    def _one_form(self) -> PatchFileArgs:
        if (self.diff is None) == (self.search is None):
            raise ValueError("give either 'diff' or 'search' + 'replace'")
        if self.search is not None and self.replace is None:
            raise ValueError("'search' needs 'replace'")
        return self


class LaunchTrainingArgs(Artifact):
    note: str = Field(default="", description="why this run (recorded in the trace)")


class JobArgs(Artifact):
    job_id: str


class PollJobArgs(Artifact):
    job_id: str
    wait_s: float = Field(default=0.0, ge=0, le=600, description="block up to this long for the job to end")


class ReadLogsArgs(Artifact):
    job_id: str
    tail: int = Field(default=80, ge=1, le=2000)


class FinishArgs(Artifact):
    step: int | None = Field(
        default=None, description="chosen checkpoint step; omitted = the objective's selection rule"
    )
    rationale: str = Field(min_length=1, description="hypothesis tested and what the results say")
    job_id: str | None = Field(default=None, description="run whose checkpoint is chosen (default: last)")


_TOOLS: dict[str, tuple[type[Artifact], str]] = {
    "list_files": (ListFilesArgs, "List files under a sandbox directory (recursive, .git excluded)."),
    "read_file": (ReadFileArgs, "Read a text file inside the sandbox."),
    "write_file": (WriteFileArgs, "Overwrite an editable file in the sandbox with new content."),
    "patch_file": (PatchFileArgs, "Edit an editable file by unified diff or exact search/replace."),
    "show_diff": (NoArgs, "Unified diff of the sandbox against the substrate commit."),
    "validate_recipe": (NoArgs, "Run the substrate's recipe validator on the sandbox recipe."),
    "smoke_run": (NoArgs, "A tiny end-to-end run of the recipe (--smoke) with a short timeout."),
    "launch_training": (LaunchTrainingArgs, "Validate the recipe, then launch a full train+eval job."),
    "poll_job": (PollJobArgs, "State of a job; optionally wait for it to finish."),
    "read_job_logs": (ReadLogsArgs, "Tail of a job's captured output."),
    "read_results": (JobArgs, "Typed results of a finished training job: per-checkpoint dev scores."),
    "finish": (FinishArgs, "End the work: choose a checkpoint and state the rationale."),
}

TOOL_NAMES = tuple(_TOOLS)


def tool_specs() -> list[ToolSpec]:
    specs: list[ToolSpec] = []
    for name, (model, description) in _TOOLS.items():
        schema = model.model_json_schema()
        schema.pop("title", None)
        specs.append(ToolSpec(name=name, description=description, parameters=schema))
    return specs


def parse_args(name: str, arguments: dict[str, JsonValue]) -> Artifact:
    """Validate a call's arguments; ValueError with a one-line reason naming the field."""
    if name not in _TOOLS:
        raise ValueError(f"unknown tool {name!r}; tools: {', '.join(TOOL_NAMES)}")
    model = _TOOLS[name][0]
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        raise ValueError(first_validation_error(exc, f"{name} arguments")) from exc
