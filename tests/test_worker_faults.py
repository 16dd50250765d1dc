"""Every fault ends as the right failure mode in a valid manifest; nothing escapes run_worker."""

from __future__ import annotations

from pathlib import Path

from worker_support import FAKE_RECIPE, ListAgent, Setup, make_setup

from evotrain.io import read_model
from evotrain.schemas.brief import Brief, WorkerBudget
from evotrain.schemas.manifest import FailureMode, Manifest
from llm.base import AgentTurn, BudgetExceeded, ToolCall, ToolResult, ToolSpec, Usage
from workers.agents.scripted import ScriptedAgent
from workers.executors.base import JobState
from workers.loop import run_worker
from workers.trace import read_trace


def _run(setup: Setup, brief: Brief, agent: object | None = None) -> Manifest:
    manifest = run_worker(brief, executor=setup.executor, agent=agent or ScriptedAgent(),  # type: ignore[arg-type]
                          manifest_path=setup.manifest(brief), trace_path=setup.trace(brief))
    assert read_model(setup.manifest(brief), Manifest) == manifest  # valid and on disk
    return manifest


def _fatal(manifest: Manifest) -> list[FailureMode]:
    return [f.mode for f in manifest.failures if f.fatal]


def test_training_crash_retries_once_then_reports_crash(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    brief = setup.brief("w01", recipe={**FAKE_RECIPE, "fault": "crash"})
    m = _run(setup, brief)
    assert m.status == "failed" and _fatal(m) == [FailureMode.CRASH]
    assert [f.mode for f in m.failures] == [FailureMode.CRASH, FailureMode.CRASH]
    assert "simulated CUDA-free crash" in m.failures[0].message  # the log line made it into the reason
    assert [j for j in m.job_ids if "-a" in j] == ["tc-r001-w01-a1", "tc-r001-w01-a2"]
    events = read_trace(setup.trace(brief))
    launched = [e.args["recipe"] for e in events
                if e.kind == "job_state" and e.args.get("phase") == "train" and "recipe" in e.args]
    lrs = [r["learning_rate"] for r in launched]  # type: ignore[index]
    assert len(lrs) == 2 and abs(lrs[1] - 0.003) < abs(lrs[0] - 0.003)  # the retry backed off  # type: ignore[operator]
    assert "read_job_logs" in [e.tool for e in events if e.kind == "tool_call"]


def test_hang_past_timeout_is_timeout(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    brief = setup.brief("w02", recipe={**FAKE_RECIPE, "fault": "hang"},
                        budget=WorkerBudget(job_timeout_s=3, wall_clock_s=120))
    m = _run(setup, brief)
    assert m.status == "failed" and _fatal(m) == [FailureMode.TIMEOUT]
    assert setup.executor.status("tc-r001-w02-a1").state == JobState.TIMEOUT


def test_nan_loss_is_nan_loss(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    m = _run(setup, setup.brief("w03", recipe={**FAKE_RECIPE, "fault": "nan"}))
    assert m.status == "failed" and _fatal(m) == [FailureMode.NAN_LOSS]
    assert m.training.nan_loss and m.chosen_step is None


def test_invalid_standing_recipe_is_invalid_recipe(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    m = _run(setup, setup.brief("w04", recipe={**FAKE_RECIPE, "lora_r": 999}))
    assert m.status == "failed" and _fatal(m) == [FailureMode.INVALID_RECIPE]
    assert "lora_r" in m.failures[-1].message and not [j for j in m.job_ids if "-a" in j]


def test_malformed_yaml_written_by_the_agent_is_invalid_recipe(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    agent = ListAgent([[("write_file", {"path": "recipe.yaml", "content": "learning_rate: [0.1\n"})],
                       [("launch_training", {})], [("finish", {"rationale": "try it"})]])
    m = _run(setup, setup.brief("w05"), agent)
    assert _fatal(m) == [FailureMode.INVALID_RECIPE] and "cannot parse" in m.failures[-1].message
    assert agent.seen[1].ok is False and m.job_ids == []


class GarbageAgent:
    """Emits unknown tools, non-JSON arguments and schema-violating calls."""

    name = "garbage"

    def __init__(self) -> None:
        self.n = 0

    def start(self, system: str, user: str, tools: list[ToolSpec]) -> None:
        self.n = 0

    def step(self, results: list[ToolResult]) -> AgentTurn:
        self.n += 1
        calls = [ToolCall(id="a", name="rm_rf", arguments={"path": "/"}),
                 ToolCall(id="b", name="write_file", parse_error="Expecting ',' delimiter: line 1 column 9"),
                 ToolCall(id="c", name="poll_job", arguments={"wait_s": "forever"})]
        return AgentTurn(text="garbage", tool_calls=calls, usage=Usage(calls=1))

    def complete_json(self, system, user, schema, max_attempts=3):  # pragma: no cover - not used by workers
        raise NotImplementedError


def test_invalid_tool_calls_end_as_agent_error(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    m = _run(setup, setup.brief("w06"), GarbageAgent())
    assert m.status == "failed" and _fatal(m) == [FailureMode.AGENT_ERROR]
    assert "invalid tool calls in a row" in m.failures[-1].message
    errors = [e for e in read_trace(setup.trace(setup.brief("w06"))) if e.kind == "error"]
    assert len(errors) >= 3 and all("invalid tool call" in e.detail for e in errors[:3])


class ExplodingAgent(ScriptedAgent):
    def step(self, results: list[ToolResult]) -> AgentTurn:
        if len(results) and results[-1].name == "validate_recipe":
            raise ZeroDivisionError("backend bug")
        return super().step(results)


def test_backend_exception_is_agent_error_not_a_crash_of_the_worker(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    m = _run(setup, setup.brief("w07"), ExplodingAgent())
    assert _fatal(m) == [FailureMode.AGENT_ERROR] and "ZeroDivisionError" in m.failures[-1].message


def test_turn_limit_is_budget_exceeded(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    m = _run(setup, setup.brief("w08", budget=WorkerBudget(max_turns=3)))
    assert m.status == "failed" and _fatal(m) == [FailureMode.BUDGET_EXCEEDED]
    assert "turn limit" in m.failures[-1].message and m.cost.agent_calls == 3


def test_token_and_dollar_limits_are_budget_exceeded(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    chatty = ListAgent([[("list_files", {})]], usage=Usage(input_tokens=600, output_tokens=100, dollars=0.01))
    m = _run(setup, setup.brief("w09", budget=WorkerBudget(max_tokens=1000)), chatty)
    assert _fatal(m) == [FailureMode.BUDGET_EXCEEDED] and "token limit" in m.failures[-1].message
    assert m.cost.input_tokens == 1200 and m.cost.output_tokens == 200
    pricey = ListAgent([[("list_files", {})]], usage=Usage(dollars=0.75))
    m2 = _run(setup, setup.brief("w10", budget=WorkerBudget(max_dollars=1.0)), pricey)
    assert _fatal(m2) == [FailureMode.BUDGET_EXCEEDED] and "dollar limit" in m2.failures[-1].message


class BackendBudgetStop(ScriptedAgent):
    def step(self, results: list[ToolResult]) -> AgentTurn:
        raise BudgetExceeded("next call would cost $2.10 > $2.00")


def test_backend_budget_stop_and_wall_clock_with_running_job(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    m = _run(setup, setup.brief("w11"), BackendBudgetStop())
    assert _fatal(m) == [FailureMode.BUDGET_EXCEEDED] and "$2.10" in m.failures[-1].message
    brief = setup.brief("w12", recipe={**FAKE_RECIPE, "fault": "hang"},
                        budget=WorkerBudget(wall_clock_s=6, job_timeout_s=600))
    m2 = _run(setup, brief)
    assert _fatal(m2) == [FailureMode.BUDGET_EXCEEDED] and "wall-clock" in m2.failures[-1].message
    assert setup.executor.status("tc-r001-w12-a1").state == JobState.CANCELLED  # not left running
    assert m2.wall_time_s < 30


def test_broken_sandbox_still_yields_a_manifest(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    brief = setup.brief("w13").model_copy(update={"sandbox": str(tmp_path / "missing")})
    m = _run(setup, brief)
    assert m.status == "failed" and _fatal(m) == [FailureMode.AGENT_ERROR]
    assert "not a git worktree" in m.failures[0].message
