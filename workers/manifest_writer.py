"""Turn a finished worker run into its typed Manifest and write it atomically.

Status: `tampered` if any frozen path changed (the candidate is excluded whatever it scored), else
`ok` when a checkpoint was chosen, else `failed`. Failures seen along the way stay listed; only the
one that ended the run is fatal (a crash followed by a successful retry is not).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evotrain.io import write_model
from evotrain.schemas.brief import Brief
from evotrain.schemas.common import RecipeValues, diff_values
from evotrain.schemas.manifest import Cost, Failure, FailureMode, Manifest, TrainingMetrics
from evotrain.secrets import redact_secrets
from llm.base import Usage
from workers.worker_state import JobRecord, WorkerState


@dataclass
class RunOutcome:
    """Everything besides the WorkerState the manifest needs."""

    substrate_recipe: RecipeValues
    final_recipe: RecipeValues
    final_diff: str
    usage: Usage
    wall_time_s: float
    trace_path: Path
    tampered: list[str]
    stop: Failure | None = None  # what ended the run early (budget, agent error), if anything


def _chosen_job(state: WorkerState) -> JobRecord | None:
    choice = state.finished
    if choice is None or choice.job_id is None:
        return None
    return state.jobs.get(choice.job_id)


def _last_train_with_results(state: WorkerState) -> JobRecord | None:
    with_results = [j for j in state.train_jobs() if j.results is not None]
    return with_results[-1] if with_results else None


def _failures(state: WorkerState, outcome: RunOutcome, usable: bool) -> list[Failure]:
    seen = [f.model_copy(update={"fatal": False}) for f in state.failures]
    if outcome.tampered:
        seen.append(Failure(mode=FailureMode.TAMPERED, message="frozen paths changed: " + "; ".join(outcome.tampered)))
    elif outcome.stop is not None:
        seen.append(outcome.stop)
    elif not usable:
        if seen:
            seen[-1] = seen[-1].model_copy(update={"fatal": True})
        else:
            seen.append(Failure(mode=FailureMode.NO_RESULTS, message="finished without a trained checkpoint"))
    return seen


def build_manifest(brief: Brief, state: WorkerState, outcome: RunOutcome) -> Manifest:
    chosen_job = _chosen_job(state)
    choice = state.finished
    chosen = None
    if chosen_job is not None and chosen_job.results is not None and choice is not None:
        chosen = next((c for c in chosen_job.results.checkpoints if c.step == choice.step), None)
    usable = chosen is not None and not outcome.tampered and outcome.stop is None
    shown = chosen_job or _last_train_with_results(state)
    results = shown.results if shown is not None else None
    recipe = shown.recipe if shown is not None and shown.recipe else outcome.final_recipe
    base_dir = shown.out_dir.resolve() if shown is not None else None
    checkpoints = []
    if results is not None and base_dir is not None:
        checkpoints = [c.model_copy(update={"adapter_dir": str(base_dir / c.adapter_dir)}) for c in results.checkpoints]
    training = TrainingMetrics()
    if results is not None:
        training = TrainingMetrics(steps=results.steps, final_loss=results.final_loss, loss_curve=results.loss_curve,
                                   nan_loss=results.nan_loss, train_seconds=results.train_seconds,
                                   eval_seconds=results.eval_seconds)
    status = "tampered" if outcome.tampered else ("ok" if usable else "failed")
    return Manifest.for_brief(
        brief,
        status=status,
        recipe=recipe,
        recipe_changes=diff_values(outcome.substrate_recipe, recipe),
        recipe_diff=shown.recipe_diff if shown is not None else outcome.final_diff,
        training=training,
        checkpoints=checkpoints,
        chosen_step=chosen.step if chosen is not None else None,
        chosen_adapter=str(base_dir / chosen.adapter_dir) if chosen is not None and base_dir else None,
        dev_score=chosen.overall if chosen is not None else None,
        scores_judged=bool(shown is not None and shown.judged),
        failures=_failures(state, outcome, usable),
        cost=Cost(input_tokens=outcome.usage.input_tokens, output_tokens=outcome.usage.output_tokens,
                  dollars=outcome.usage.dollars, cpu_seconds=round(state.cpu_seconds, 3),
                  gpu_seconds=round(state.gpu_seconds, 3),
                  agent_calls=outcome.usage.calls),
        wall_time_s=round(outcome.wall_time_s, 3),
        job_ids=list(state.jobs),
        rationale=choice.rationale if choice is not None else "",
        trace_path=str(outcome.trace_path.resolve()),
    )


def write_manifest(path: Path | str, manifest: Manifest) -> Path:
    """Write the manifest atomically, with every secret value redacted (diffs and messages included)."""
    clean = Manifest.model_validate_json(redact_secrets(manifest.model_dump_json()))
    return write_model(path, clean)
