"""A recorded, realistic LLM worker session (played by the loopback Anthropic server) that changes code:
it reads train.py, adds label smoothing behind a new recipe knob (`extras.label_smoothing`), validates,
smoke-runs, launches, reads the results and finishes, on the real default substrate. The manifest's
diff shows the code change, the tamper check passes, and the collector reports the change."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest
from _meta_synth import FakeLeaderboard, rules
from fakes.llm_servers import FakeAnthropicServer, Reply

from evotrain.io import write_model
from evotrain.paths import CampaignPaths
from evotrain.schemas.brief import Brief, WorkerBudget
from evotrain.schemas.manifest import FailureMode, Manifest
from evotrain.schemas.policy import Axis, AxisRange, Policy
from llm.call_log import read_call_log
from orchestrator.campaign import llm_spend
from orchestrator.collect.collector import collect_round
from workers.agents.factory import AgentConfig, make_agent
from workers.executors.local import LocalExecutor
from workers.loop import run_worker
from workers.sandbox import create_sandbox, fork_substrate, spec_at
from workers.substrate_contract import load_recipe

DEFAULT = Path(__file__).resolve().parents[1] / "substrate" / "default"
pytestmark = pytest.mark.slow
OLD_LOSS = "loss = lm_loss(model(input_ids=ids, attention_mask=mask).logits, labels) / recipe.grad_accum"
NEW_LOSS = ("logits = model(input_ids=ids, attention_mask=mask).logits\n"
            "            smoothing = recipe.extras.get(\"label_smoothing\", 0.0)\n"
            "            loss = smoothed_lm_loss(logits, labels, smoothing) / recipe.grad_accum")
HELPER = '''def smoothed_lm_loss(logits: torch.Tensor, labels: torch.Tensor, smoothing: float) -> torch.Tensor:
    """lm_loss with label smoothing (recipe extras.label_smoothing); 0 is the plain next-token loss."""
    if smoothing <= 0:
        return lm_loss(logits, labels)
    return torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.size(-1)), labels[:, 1:].reshape(-1), ignore_index=-100,
        label_smoothing=smoothing,
    )


def lr_factor('''
JOB = "code-r001-w02-a1"
SESSION = [
    ("I will look at the training loop first.", "read_file", {"path": "train.py"}),
    ("Label smoothing may regularise the tiny adapter; I add it behind a recipe knob.", "patch_file",
     {"path": "train.py", "search": "def lr_factor(", "replace": HELPER}),
    ("", "patch_file", {"path": "train.py", "search": OLD_LOSS, "replace": NEW_LOSS}),
    ("", "patch_file", {"path": "recipe.yaml", "search": "trace_style: step_by_step",
                        "replace": "trace_style: step_by_step\nextras: {label_smoothing: 0.1}"}),
    ("", "validate_recipe", {}),
    ("The recipe validates; a smoke run checks that the new loss runs.", "smoke_run", {}),
    ("", "launch_training", {"note": "label smoothing 0.1 in train.py"}),
    ("", "poll_job", {"job_id": JOB, "wait_s": 240}),
    ("", "read_results", {"job_id": JOB}),
    ("", "finish", {"rationale": "Hypothesis: label smoothing 0.1 (new train.py feature, recipe "
                                 "extras.label_smoothing) regularises the adapter; dev scores as read."}),
]
SMALL = {"max_steps": 16, "save_steps": [16], "num_train_examples": 256, "dev_items": 24, "batch_size": 8}


def test_llm_worker_adds_label_smoothing_to_train_py_end_to_end(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    started = time.monotonic()
    paths = CampaignPaths(root=tmp_path / "ws", campaign="code")
    commit, _ = fork_substrate(DEFAULT, paths.substrate_repo)
    spec = spec_at(paths.substrate_repo, commit)
    sandbox = create_sandbox(paths.substrate_repo, commit, paths.sandbox(1, "w02"))
    standing = {**load_recipe(sandbox / spec.recipe_file), **SMALL}
    axis = Axis(name="loss_shaping", category="objective", key="extras.label_smoothing",
                range=AxisRange(kind="linear", low=0.0, high=0.3))
    brief = Brief(campaign="code", round=1, worker_id="w02", seed=1, axis=axis, standing_recipe=standing,
                  budget=WorkerBudget(max_turns=20, wall_clock_s=600, job_timeout_s=400), sandbox=str(sandbox),
                  substrate_commit=commit)
    key = "sk-test-" + secrets.token_hex(10)
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    script = [_turn(text, name, args) for text, name, args in SESSION]
    with FakeAnthropicServer(script, api_key=key) as server:
        config = AgentConfig(kind="anthropic", model="claude-sonnet-4-5", base_url=server.base_url)
        agent = make_agent("anthropic", config, brief.budget, recorder=llm_spend.recorder(paths, "worker", "r001/w02"))
        manifest = run_worker(brief, executor=LocalExecutor(paths.jobs, total_slots=2), agent=agent,
                              manifest_path=paths.manifest(1, "w02"), trace_path=paths.trace(1, "w02"))
        server.assert_clean()
        bodies = [r.body for r in server.requests]
    # the model saw train.py before editing it, and every edit's result came back ok
    assert "def train(" in str(bodies[1]["messages"][-1]["content"][0]["content"])
    assert manifest.status == "ok", manifest.failures
    assert not [f for f in manifest.failures if f.mode == FailureMode.TAMPERED]
    assert "+def smoothed_lm_loss(" in manifest.recipe_diff and "label_smoothing=smoothing" in manifest.recipe_diff
    assert "diff --git a/train.py b/train.py" in manifest.recipe_diff
    assert manifest.recipe["extras"] == {"label_smoothing": 0.1}
    assert manifest.chosen_step == 16 and manifest.job_ids[-1] == JOB
    assert len(read_call_log(paths.llm_calls)) == len(SESSION)

    # the collector reports the candidate's recipe knob and its code change next to the anchor
    policy = Policy(campaign="code", round=1, standing_recipe=standing, axes=[axis])
    anchor = Manifest.model_validate({**manifest.model_dump(), "worker_id": "w01", "axis": "baseline",
                                      "axis_category": "baseline", "is_baseline": True, "recipe": standing,
                                      "recipe_changes": [], "recipe_diff": "", "rationale": "anchor"})
    write_model(paths.manifest(1, "w01"), anchor)
    board = FakeLeaderboard(3)
    board.scores[str(anchor.chosen_adapter)] = (0.10, {})
    report = collect_round(paths, 1, policy, board, rules())
    cand = next(c for c in report.candidates if c.worker_id == "w02")
    assert [(k.key, k.new) for k in cand.changes] == [("extras.label_smoothing", 0.1)]
    assert cand.code_changes == ["train.py"] and "code: train.py" in cand.summary
    audit = next(a for a in report.rationale_audit if a.worker_id == "w02")
    assert "label smoothing" in audit.rationale
    print(f"\ncode-change session end to end: {time.monotonic() - started:.1f} s")


def _turn(text: str, name: str, args: dict) -> Reply:
    reply = Reply.tool(name, args)
    reply.text = text
    return reply
