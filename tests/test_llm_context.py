"""Bounded context: a 60-turn worker session keeps its request size flat; long results are paged;
turn and token budgets end the session with a named failure."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from fakes.llm_servers import FakeAnthropicServer, FakeLLMServer, FakeOpenAIServer, Reply
from worker_support import make_setup

from evotrain.schemas.brief import WorkerBudget
from evotrain.schemas.manifest import FailureMode, Manifest
from llm.base import ToolCall
from llm.call_log import CallRecorder, read_call_log
from llm.context import ContextPolicy, Conversation
from workers.agents.factory import AgentConfig, make_agent
from workers.context import OUTPUTS_PREFIX, BoundedTools, outputs_dir
from workers.loop import run_worker

BACKENDS: dict[str, tuple[type[FakeLLMServer], str, str]] = {
    "anthropic": (FakeAnthropicServer, "claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
    "openai": (FakeOpenAIServer, "gpt-4.1-mini", "OPENAI_API_KEY"),
}
JOB = "tc-r001-w01-a1"
EXPLORE = [
    ("read_file", {"path": "recipe.yaml"}),
    ("read_file", {"path": "run.py"}),
    ("list_files", {"path": "."}),
    ("read_file", {"path": "eval/harness.py", "max_chars": 3000}),
    ("read_file", {"path": "run.py", "offset": 2000, "max_chars": 1500}),
]
TURNS = {"anthropic": 60, "openai": 24}  # the acceptance session is Anthropic's; OpenAI's is shorter (CI time)
FINISH = [
    ("patch_file", {"path": "recipe.yaml", "search": "learning_rate: 0.003", "replace": "learning_rate: 0.005"}),
    ("validate_recipe", {}),
    ("launch_training", {"note": "lr up"}),
    ("poll_job", {"job_id": JOB, "wait_s": 60}),
    ("read_results", {"job_id": JOB}),
    ("finish", {"rationale": "Hypothesis: a higher learning rate helps; dev moved as the results show."}),
]


def long_session(turns: int) -> list[tuple[str, dict]]:
    explore = [EXPLORE[i % len(EXPLORE)] for i in range(turns - len(FINISH))]
    return [*explore, *FINISH]


@pytest.mark.parametrize("kind", sorted(BACKENDS))
def test_sixty_turn_session_request_size_stays_bounded(kind: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    server_cls, model, env = BACKENDS[kind]
    key = "sk-test-" + secrets.token_hex(12)
    monkeypatch.setenv(env, key)
    setup = make_setup(tmp_path)
    budget = WorkerBudget(max_turns=70, max_tokens=5_000_000, max_dollars=50.0, job_timeout_s=60, wall_clock_s=300)
    brief = setup.brief("w01", budget=budget)
    recorder = CallRecorder(tmp_path / "calls.jsonl", role="worker", label="r001/w01")
    with server_cls.from_tool_calls(long_session(TURNS[kind]), api_key=key, final_text=None) as server:
        config = AgentConfig(kind=kind, model=model, base_url=server.base_url)  # type: ignore[arg-type]
        agent = make_agent(kind, config, brief.budget, recorder=recorder)  # type: ignore[arg-type]
        manifest = run_worker(brief, executor=setup.executor, agent=agent, manifest_path=setup.manifest(brief),
                              trace_path=setup.trace(brief))
        server.assert_clean()
        sizes = [len(r.raw) for r in server.requests]
    n = TURNS[kind]
    assert len(sizes) == n and server.remaining == 0
    turn10, last = sizes[9], sizes[-1]
    print(f"\n[{kind}] request bytes: turn 10 = {turn10}, turn {n} = {last} ({last / turn10:.2f}x), "
          f"max after turn 10 = {max(sizes[9:])}")
    assert last <= 1.5 * turn10
    # the session really was long: without compaction turn 60 would carry ~6x turn 10's exchanges
    assert max(sizes[9:]) <= 1.8 * turn10
    assert manifest.status == "ok" and manifest.failures == [], manifest.failures
    assert [(c.key, c.new) for c in Manifest.model_validate(manifest.model_dump()).recipe_changes] == [
        ("learning_rate", 0.005)]
    calls = read_call_log(recorder.path)
    assert len(calls) == n and all(c.role == "worker" and c.label == "r001/w01" for c in calls)
    assert [c.request_chars for c in calls][-1] > 0
    # the latest request carries the compacted summary and the state note with the current diff
    body = json.dumps(server.requests[-1].body)
    assert "<earlier_turns>" in body and "Current diff of the sandbox" in body and "learning_rate: 0.005" in body


def test_compaction_keeps_brief_latest_turns_and_a_bounded_summary() -> None:
    conv = Conversation("BRIEF", ContextPolicy(keep_turns=3, compact_every=2, summary_lines=4))
    for i in range(1, 31):
        call = ToolCall(id=f"c{i}", name="read_file" if i % 2 else "show_diff", arguments={"path": f"f{i}"})
        conv.add_assistant([{"role": "assistant", "content": f"a{i}"}], f"turn {i} text", [call])
        from llm.base import ToolResult

        conv.add_follow([{"role": "tool", "content": f"r{i}"}],
                        [ToolResult(call_id=f"c{i}", name=call.name, ok=True, content=f"result {i} " * 50)])
        conv.maybe_compact()
    assert [ex.number for ex in conv.exchanges][-3:] == [28, 29, 30]
    assert len(conv.exchanges) <= 5
    head = conv.head()
    assert head.startswith("BRIEF") and "<earlier_turns>" in head
    assert len(conv.summary.lines) == 4 and conv.summary.folded_turns > 0
    assert "read_file x" in head and "show_diff x" in head  # older lines folded into counts
    assert len(head) < 4 * 220 + 600


def test_long_tool_output_is_saved_and_paged(tmp_path: Path) -> None:
    class Big:
        def call(self, call: ToolCall):
            from llm.base import ToolResult

            text = "".join(f"{i:05d}\n" for i in range(5000))
            return ToolResult(call_id=call.id, name=call.name, ok=True, content=text)

    from workers.trace import TraceWriter

    trace_path = tmp_path / "traces" / "w01.jsonl"
    tools = BoundedTools(Big(), outputs_dir(trace_path), TraceWriter(trace_path, "w01"))  # type: ignore[arg-type]
    first = tools.call(ToolCall(id="call-7", name="read_job_logs", arguments={"job_id": "j"}))
    assert len(first.content) < 2_000 and f"{OUTPUTS_PREFIX}call-7.txt" in first.content
    saved = outputs_dir(trace_path) / "call-7.txt"
    assert saved.read_text().count("\n") == 5000
    page = tools.call(ToolCall(id="c8", name="read_file",
                               arguments={"path": f"{OUTPUTS_PREFIX}call-7.txt", "offset": 6 * 4000, "max_chars": 12}))
    assert page.ok and page.content.startswith("04000\n04001\n") and "next offset 24012" in page.content
    missing = tools.call(ToolCall(id="c9", name="read_file", arguments={"path": f"{OUTPUTS_PREFIX}../x"}))
    assert not missing.ok
    # a long read_file result is cut to one page with the offset of the next
    paged = tools.call(ToolCall(id="c10", name="read_file", arguments={"path": "whatever", "offset": 100}))
    assert "call read_file with offset=8100" in paged.content and len(paged.content) < 8_200


@pytest.mark.parametrize(("budget", "expect"), [
    (WorkerBudget(max_turns=5, job_timeout_s=60, wall_clock_s=120), "turn limit reached (5)"),
    (WorkerBudget(max_tokens=30_000, job_timeout_s=60, wall_clock_s=120), "token"),
])
def test_turn_and_token_budgets_stop_with_budget_exceeded(budget: WorkerBudget, expect: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-test-" + secrets.token_hex(12)
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    setup = make_setup(tmp_path)
    brief = setup.brief("w01", budget=budget)
    script = [Reply.tool("read_file", {"path": "recipe.yaml"}, input_tokens=6_000) for _ in range(12)]
    with FakeAnthropicServer(script, api_key=key) as server:
        config = AgentConfig(kind="anthropic", model="claude-haiku-4-5", base_url=server.base_url,
                             max_tokens_per_call=2000)
        agent = make_agent("anthropic", config, brief.budget)
        manifest = run_worker(brief, executor=setup.executor, agent=agent, manifest_path=setup.manifest(brief),
                              trace_path=setup.trace(brief))
        server.assert_clean()
    assert [f.mode for f in manifest.failures] == [FailureMode.BUDGET_EXCEEDED]
    assert expect in manifest.failures[0].message
    assert manifest.cost.input_tokens == 6_000 * manifest.cost.agent_calls > 0
