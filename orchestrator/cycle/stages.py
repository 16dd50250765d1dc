"""The cycle's stages. Each reads the outputs of earlier stages from the cycle folder and writes its
own output file atomically as its last act; a stage whose output exists is done (runner.py).
Scratch work goes to `*.tmp` folders that a retry wipes first, so a half-finished stage leaves
nothing a retry could mistake for a result.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from evotrain.errors import EvotrainError
from evotrain.io import atomic_write_text, read_model, write_model
from evotrain.schemas.results import EvalReport, RunResults
from evotrain.schemas.substrate import TrainDataRecord
from orchestrator.cycle import generators
from orchestrator.cycle.config import CycleConfig
from orchestrator.cycle.gate import decide
from orchestrator.cycle.generators.base import GeneratorContext, run_one
from orchestrator.cycle.models import (
    BenchmarkOutput,
    Example,
    GateOutput,
    GenerateOutput,
    PromoteOutput,
    QualityOutput,
    TrainOutput,
)
from orchestrator.cycle.store import CyclePaths, all_states
from orchestrator.cycle.substrate_io import generate_items, run_command, spec_of
from orchestrator.cycle.tokens import base_dir, token_counter
from workers.substrate_contract import check_recipe_values, load_recipe, render_command

_ = generators  # the package docstring documents the registry


@dataclass(frozen=True)
class StageContext:
    config: CycleConfig
    paths: CyclePaths
    cycle_id: str
    number: int

    @property
    def dir(self) -> Path:
        return self.paths.cycle(self.cycle_id)

    def output(self, stage: str) -> Path:
        return self.dir / f"{stage}.json"


def _fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _write_examples(path: Path, examples: list[Example]) -> None:
    atomic_write_text(path, "".join(e.model_dump_json() + "\n" for e in examples))


def read_examples(path: Path) -> list[Example]:
    return [Example.model_validate_json(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _previous_finished(ctx: StageContext) -> tuple[GenerateOutput | None, GateOutput | None]:
    """The latest earlier cycle's generate output (carry) and gate output (weak categories)."""
    gen, gate = None, None
    for state in reversed(all_states(ctx.paths)):
        if state.number >= ctx.number:
            continue
        folder = ctx.paths.cycle(state.id)
        if gen is None and (folder / "generate.json").is_file():
            gen = read_model(folder / "generate.json", GenerateOutput)
        if gate is None and (folder / "gate.json").is_file():
            gate = read_model(folder / "gate.json", GateOutput)
        if gen and gate:
            break
    return gen, gate


def stage_generate(ctx: StageContext) -> GenerateOutput:
    spec = spec_of(ctx.config.substrate)
    previous, last_gate = _previous_finished(ctx)
    weak = tuple(last_gate.weak_categories) if last_gate else ()
    scratch = _fresh(ctx.dir / "generate.tmp")
    examples: list[Example] = []
    reports, carry = [], {}
    for cfg in ctx.config.generators:
        if not cfg.enabled:
            continue
        gctx = GeneratorContext(
            cycle_id=ctx.cycle_id, cycle_number=ctx.number, source=cfg.name, substrate_dir=ctx.config.substrate,
            spec=spec, state_dir=ctx.paths.root, work_dir=scratch / cfg.name, weak_categories=weak,
            carry=dict(previous.carry.get(cfg.name, {})) if previous else {},
        )
        got, report, carry[cfg.name] = run_one(cfg, gctx)
        examples += got
        reports.append(report)
    _write_examples(ctx.dir / "examples.jsonl", examples)
    shutil.rmtree(scratch, ignore_errors=True)
    return GenerateOutput(reports=reports, n_examples=len(examples), weak_categories=list(weak), carry=carry)


def recipe_values(config: CycleConfig) -> dict[str, object]:
    spec = spec_of(config.substrate)
    values = load_recipe(config.recipe or config.substrate / spec.recipe_file)
    values.update(config.recipe_overrides)
    return values


def stage_quality(ctx: StageContext) -> QualityOutput:
    from orchestrator.cycle.quality import run_gate

    examples = read_examples(ctx.dir / "examples.jsonl")
    counter = token_counter(base_dir(ctx.config.substrate, recipe_values(ctx.config)))
    coherence = None
    if ctx.config.quality.min_coherence is not None:
        from orchestrator.cycle.embedder import cosine_pairs

        def coherence(left: list[str], right: list[str]) -> list[float]:
            return cosine_pairs(ctx.config.quality.embedding_model, left, right)

    kept, output = run_gate(examples, ctx.config.quality, counter, coherence)
    if not kept:
        raise EvotrainError("quality gate: no example survived; nothing to train on (see the table)")
    _write_examples(ctx.dir / "train_data.jsonl", kept)
    return output


def require_train_data(substrate: Path) -> None:
    """The substrate contract's {train_data}: without it a substrate trains only on its recipe's own data."""
    if not any("{train_data}" in arg for arg in spec_of(substrate).run_command):
        raise EvotrainError(f"substrate {substrate}: its run_command does not name {{train_data}}, so it cannot "
                            "train on the cycle's data (docs/SUBSTRATE.md)")


def stage_train(ctx: StageContext) -> TrainOutput:
    config = ctx.config
    spec = spec_of(config.substrate)
    values = recipe_values(config)
    require_train_data(config.substrate)
    check_recipe_values(config.substrate, values, "cycle recipe")
    work = _fresh(ctx.dir / "train.tmp")
    recipe = work / Path(spec.recipe_file).name
    atomic_write_text(recipe, yaml.safe_dump(values, sort_keys=False))
    out = work / "run"
    seed = int(values.get("seed", 0) or 0)
    # the substrate contract's data file: the kept examples as TrainDataRecord lines
    data = work / "train_data.jsonl"
    kept = read_examples(ctx.dir / "train_data.jsonl")
    atomic_write_text(data, "".join(TrainDataRecord(prompt=e.prompt, response=e.response, item=e.item, source=e.source,
                                                    category=e.category).model_dump_json() + "\n" for e in kept))
    command = render_command(spec.run_command, recipe=str(recipe), out=str(out), seed=seed, train_data=str(data))
    run_command(command, config.substrate, "train", config.train_timeout_s, log=work / "train.log", threads=2)
    results = read_model(out / spec.results_file, RunResults)
    # saved adapters (the run no longer scores on dev unless asked; older runs listed evaluated ones)
    adapters = [c.adapter_dir for c in getattr(results, "saved", [])] or [c.adapter_dir for c in results.checkpoints]
    if results.nan_loss or not adapters:
        raise EvotrainError(f"train: run ended without a usable checkpoint (nan_loss={results.nan_loss})")
    final = ctx.dir / "train"
    if final.exists():
        shutil.rmtree(final)
    work.rename(final)
    n_train = len(kept)
    return TrainOutput(
        adapter_dir=str(Path("train") / "run" / adapters[-1]), steps=results.steps,
        train_seconds=results.train_seconds, final_loss=results.final_loss, n_train_examples=n_train,
        recipe_sha256=results.recipe_sha256,
    )


def heldout_items(config: CycleConfig, paths: CyclePaths) -> Path:
    """The held-out split, generated once per benchmark spec (seed disjoint from training seeds)."""
    bench = config.benchmark
    spec = spec_of(config.substrate)
    key = hashlib.sha256(bench.model_dump_json().encode() + str(config.substrate).encode()).hexdigest()[:12]
    items = paths.heldout / f"{key}.jsonl"
    if not items.is_file():
        generate_items(config.substrate, paths.heldout / f".{key}.jsonl.tmp", n=bench.n_items, seed=bench.seed,
                       mix=dict.fromkeys(spec.families, 1.0), difficulty=bench.difficulty)
        (paths.heldout / f".{key}.jsonl.tmp").rename(items)
        atomic_write_text(paths.heldout / f"{key}.json", bench.model_dump_json(indent=2) + "\n")
    return items


def _benchmark_user_spec(ctx: StageContext, adapter: Path) -> BenchmarkOutput:
    """A user's benchmark spec: its answer command answers the prompts, its scorers score them."""
    from orchestrator.cycle.bench_spec import load_spec_file, prompt_lines, read_answers
    from orchestrator.cycle.scorers import llm_judge, score_answers

    assert ctx.config.benchmark.spec is not None  # BenchmarkConfig requires it for kind 'spec'
    spec = load_spec_file(ctx.config.benchmark.spec)
    work = _fresh(ctx.dir / "benchmark.tmp")
    atomic_write_text(work / "prompts.jsonl", prompt_lines(spec))
    command = render_command(spec.answer_command, adapter=str(adapter), prompts=str(work / "prompts.jsonl"),
                             answers=str(work / "answers.jsonl"))
    run_command(command, ctx.config.benchmark.spec.parent, "benchmark answers", ctx.config.train_timeout_s, threads=2)
    answers = read_answers(work / "answers.jsonl")
    result = score_answers(spec, answers, llm_judge(spec.judge) if spec.judge else None)
    shutil.rmtree(work, ignore_errors=True)
    return result


def stage_benchmark(ctx: StageContext) -> BenchmarkOutput:
    config = ctx.config
    spec = spec_of(config.substrate)
    train = read_model(ctx.output("train"), TrainOutput)
    if config.benchmark.kind == "spec":
        return _benchmark_user_spec(ctx, ctx.dir / train.adapter_dir)
    items = heldout_items(config, ctx.paths)
    report = ctx.dir / "benchmark.tmp" / "report.json"
    _fresh(report.parent)
    command = render_command(spec.evaluate_command, adapter=str(ctx.dir / train.adapter_dir), items=str(items),
                             report=str(report))
    run_command(command, config.substrate, "benchmark", config.train_timeout_s, threads=2)
    result = read_model(report, EvalReport)
    shutil.rmtree(report.parent, ignore_errors=True)
    return BenchmarkOutput(overall=result.overall, by_category=result.by_family, n_items=result.n_items,
                           n_by_category=result.n_by_family, items_sha256=result.items_sha256)


def stage_gate(ctx: StageContext) -> GateOutput:
    from orchestrator.cycle.champion import current_entry

    bench = read_model(ctx.output("benchmark"), BenchmarkOutput)
    return decide(bench, ctx.config.gate, current_entry(ctx.paths))


def stage_promote(ctx: StageContext) -> PromoteOutput:
    from orchestrator.cycle.champion import promote

    gate = read_model(ctx.output("gate"), GateOutput)
    if not gate.promote:
        from orchestrator.cycle.store import load_pointer

        return PromoteOutput(champion=load_pointer(ctx.paths).champion, action="kept")
    train = read_model(ctx.output("train"), TrainOutput)
    bench = read_model(ctx.output("benchmark"), BenchmarkOutput)
    promote(ctx.paths, ctx.cycle_id, ctx.dir / train.adapter_dir, bench)
    return PromoteOutput(champion=ctx.cycle_id, action="promoted")


STAGE_FUNCS = {
    "generate": stage_generate,
    "quality": stage_quality,
    "train": stage_train,
    "benchmark": stage_benchmark,
    "gate": stage_gate,
    "promote": stage_promote,
}


def write_output(ctx: StageContext, stage: str, output: object) -> None:
    write_model(ctx.output(stage), output)  # type: ignore[arg-type]


def summary_json(ctx: StageContext, stage: str) -> dict[str, object]:
    path = ctx.output(stage)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
