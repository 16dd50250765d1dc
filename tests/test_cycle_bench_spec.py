"""A user's benchmark spec: the challenge / exact / judge scorers on hand-made answers on both sides of
each rule, the judge through the OpenAI backend against the loopback fake, and the benchmark stage
running a spec's answer command."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from fakes.llm_servers import FakeOpenAIServer, Reply
from pydantic import ValidationError

from evotrain.errors import EvotrainError
from evotrain.io import write_model
from llm.config import AgentConfig
from orchestrator.cycle.bench_spec import BenchmarkSpec, JudgeSpec, read_answers
from orchestrator.cycle.config import CycleConfig
from orchestrator.cycle.models import BenchmarkOutput, TrainOutput
from orchestrator.cycle.scorers import challenge_correct, exact_correct, last_boxed, llm_judge, score_answers
from orchestrator.cycle.stages import StageContext, stage_benchmark
from orchestrator.cycle.store import CyclePaths


@pytest.mark.parametrize(("answer", "gold", "correct"), [
    ("so \\boxed{201.8}", "200", True),  # 0.9 % off: inside rel. tol 1e-2
    ("so \\boxed{203}", "200", False),  # 1.5 % off
    ("\\boxed{-2.49}", "-2.5", True),
    ("\\boxed{5} no wait \\boxed{200}", "200", True),  # the last box counts
    ("\\boxed{200} no wait \\boxed{5}", "200", False),
    ("\\boxed{200} and \\boxed{ }", "200", True),  # an empty box is skipped
    ("the answer is 200", "200", False),  # no box, no answer
    ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}", True),  # nested braces balanced, compared exactly
    ("\\boxed{Paris}", "Paris", True),
    ("\\boxed{paris}", "Paris", True),  # not a number: exact up to case, as the challenge metric
    ("\\boxed{Pariss}", "Paris", False),
    ("\\boxed{101}", "0101", False),  # a binary gold needs the exact string
    ("\\boxed{0101}", "0101", True),
    ("\\boxed{100.5}", "100", False),  # "100" is a binary string too: no tolerance
    ("\\boxed{0.000001}", "0.0", True),  # the absolute floor for a gold of 0
    ("\\boxed{0.01}", "0.0", False),
])
def test_challenge_scorer(answer: str, gold: str, correct: bool) -> None:
    assert challenge_correct(answer, gold) is correct


def test_last_boxed_of_a_truncated_completion_runs_to_the_end() -> None:
    assert last_boxed("x \\boxed{12") == "12"
    assert last_boxed("no box") is None


@pytest.mark.parametrize(("answer", "gold", "correct"), [
    (" 42\n", "42", True), ("42.0", "42", False), ("Yes", "yes", False), ("def f(): pass", "def f(): pass", True),
])
def test_exact_scorer(answer: str, gold: str, correct: bool) -> None:
    assert exact_correct(answer, gold) is correct


def _spec(judge: JudgeSpec | None = None) -> BenchmarkSpec:
    categories = [
        {"name": "math", "scorer": "challenge", "prompts": [
            {"id": f"m{i}", "prompt": f"q{i}", "reference": ref} for i, ref in enumerate(["1", "2", "3", "4"])]},
        {"name": "words", "scorer": "exact", "prompts": [
            {"id": "w0", "prompt": "capital of France?", "reference": "Paris"},
            {"id": "w1", "prompt": "capital of Italy?", "reference": "Rome"}]},
    ]
    if judge:
        categories.append({"name": "review", "scorer": "judge", "prompts": [
            {"id": "r0", "prompt": "review: x=1/0", "reference": "mentions division by zero"},
            {"id": "r1", "prompt": "review: eval(input())", "reference": "mentions code injection"}]})
    return BenchmarkSpec.model_validate({"categories": categories, "answer_command": ["true"],
                                         "judge": judge.model_dump() if judge else None})


def test_score_answers_per_category_and_overall() -> None:
    answers = {"m0": "\\boxed{1}", "m1": "\\boxed{2.01}", "m2": "\\boxed{3}", "m3": "\\boxed{40}",
               "w0": "Paris"}  # w1 missing: scores 0
    out = score_answers(_spec(), answers)
    assert out.by_category == {"math": 0.75, "words": 0.5}
    assert out.n_by_category == {"math": 4, "words": 2}
    assert out.overall == pytest.approx(4 / 6) and out.n_items == 6


def test_spec_validation_and_schema() -> None:
    with pytest.raises(ValidationError, match="scorer 'judge' but the spec has no 'judge'"):
        BenchmarkSpec.model_validate({"answer_command": ["x"], "categories": [
            {"name": "r", "scorer": "judge", "prompts": [{"id": "a", "prompt": "p"}]}]})
    with pytest.raises(ValidationError, match="prompt id 'a' used twice"):
        BenchmarkSpec.model_validate({"answer_command": ["x"], "categories": [
            {"name": "r", "scorer": "exact", "prompts": [{"id": "a", "prompt": "p"}, {"id": "a", "prompt": "q"}]}]})
    with pytest.raises(ValidationError, match="scorer"):
        BenchmarkSpec.model_validate({"answer_command": ["x"], "categories": [
            {"name": "r", "scorer": "bleu", "prompts": [{"id": "a", "prompt": "p"}]}]})
    with pytest.raises(ValidationError, match="kind 'scripted' is not an LLM kind"):
        JudgeSpec(agent=AgentConfig(kind="scripted"))
    schema = BenchmarkSpec.json_schema()
    assert set(schema["$defs"]["BenchmarkCategory"]["properties"]["scorer"]["enum"]) == {"challenge", "exact", "judge"}


def test_judge_scorer_through_the_openai_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-test-" + secrets.token_hex(8)
    monkeypatch.setenv("OPENAI_API_KEY", key)
    script = [Reply.final(json.dumps({"correct": True, "reason": "names the division by zero"})),
              Reply.final(json.dumps({"correct": False, "reason": "misses the injection"}))]
    with FakeOpenAIServer(script, api_key=key) as server:
        judge = JudgeSpec(agent=AgentConfig(kind="openai", model="gpt-4.1-mini", base_url=server.base_url,
                                            max_retries=0))
        spec = _spec(judge)
        answers = {"m0": "\\boxed{1}", "w0": "Paris", "r0": "x=1/0 divides by zero", "r1": "looks fine"}
        out = score_answers(spec, answers, llm_judge(judge))
        server.assert_clean()
        bodies = [r.body for r in server.requests]
    assert out.by_category == {"math": 0.25, "words": 0.5, "review": 0.5}
    assert len(bodies) == 2
    first_user = bodies[0]["messages"][-1]["content"]
    assert "review: x=1/0" in first_user and "mentions division by zero" in first_user
    assert "x=1/0 divides by zero" in first_user
    assert "looks fine" in bodies[1]["messages"][-1]["content"]


def test_read_answers_names_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "a", "answer": "1"}\n{"id": "b"}\n')
    with pytest.raises(EvotrainError, match=r"a.jsonl:2: not an AnswerRecord"):
        read_answers(path)


ANSWER_SCRIPT = """
import json, sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
fixed = {"m0": "\\\\boxed{1}", "m1": "\\\\boxed{9}", "w0": "Paris", "w1": "Rome"}
with open(args["--prompts"]) as f, open(args["--out"], "w") as out:
    for line in f:
        rid = json.loads(line)["id"]
        out.write(json.dumps({"id": rid, "answer": fixed.get(rid, "")}) + "\\n")
open("seen_adapter.txt", "w").write(args["--adapter"])
"""


def test_benchmark_stage_runs_the_specs_answer_command(tmp_path: Path) -> None:
    (tmp_path / "answer.py").write_text(ANSWER_SCRIPT)
    spec = _spec().model_dump()
    spec["answer_command"] = ["{python}", "answer.py", "--adapter", "{adapter}", "--prompts", "{prompts}",
                              "--out", "{answers}"]
    (tmp_path / "bench.json").write_text(json.dumps(spec))
    config = CycleConfig(workdir=tmp_path / "w", benchmark={"kind": "spec", "spec": tmp_path / "bench.json"})
    paths = CyclePaths(config.state_dir)
    ctx = StageContext(config=config, paths=paths, cycle_id="c0001", number=1)
    ctx.dir.mkdir(parents=True)
    write_model(ctx.output("train"), TrainOutput(adapter_dir="train/run/abc", steps=1, train_seconds=1.0,
                                                 final_loss=None, n_train_examples=1, recipe_sha256=""))
    out = stage_benchmark(ctx)
    assert isinstance(out, BenchmarkOutput)
    # challenge: m0 right, m1 wrong, m2/m3 answered without a box; exact: both right
    assert out.by_category == {"math": 0.25, "words": 1.0}
    assert out.overall == pytest.approx(3 / 6)
    assert (tmp_path / "seen_adapter.txt").read_text() == str(ctx.dir / "train/run/abc")  # run in the spec's folder
    assert not (ctx.dir / "benchmark.tmp").exists()
    with pytest.raises(ValidationError, match="kind 'spec' needs 'spec'"):
        CycleConfig(benchmark={"kind": "spec"})
