"""The campaign as a LangGraph: prepare → plan → fork → work×N → collect → meta → (plan | finish).

Every node reads its inputs from disk, writes its outputs atomically and is idempotent; the SQLite
checkpointer records which node finished last. After kill -9, resuming the thread re-runs at most
the interrupted node (and, inside the fan-out, only the workers whose manifest is missing), which
is safe because re-running a finished piece of work finds its artifact and returns it.
"""

from __future__ import annotations

import operator
import sqlite3
from pathlib import Path
from typing import Annotated, Any, Protocol, TypedDict

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Overwrite, Send

from evotrain.paths import candidate_label


class CampaignState(TypedDict, total=False):
    round: int
    workers: list[str]
    finished_workers: Annotated[list[str], operator.add]
    stop_reason: str


class WorkerTask(TypedDict):
    round: int
    worker_id: str


class CampaignSteps(Protocol):
    """What the graph needs from the campaign; `orchestrator.campaign.Campaign` implements it."""

    def prepare(self) -> None: ...
    def plan(self, round_no: int) -> list[str]: ...
    def fork(self, round_no: int) -> None: ...
    def work(self, round_no: int, worker_id: str) -> None: ...
    def collect(self, round_no: int) -> None: ...
    def meta(self, round_no: int) -> None: ...
    def stop_reason(self, round_no: int) -> str | None: ...
    def finish(self, round_no: int, reason: str) -> None: ...


def build_graph(steps: CampaignSteps, max_parallel_workers: int) -> StateGraph:
    def prepare(state: CampaignState) -> CampaignState:
        steps.prepare()
        return {"round": state.get("round") or 1}

    def plan(state: CampaignState) -> CampaignState:
        return {"workers": steps.plan(state["round"])}

    def fork(state: CampaignState) -> CampaignState:
        steps.fork(state["round"])
        return {}

    def fan_out(state: CampaignState) -> list[Send]:
        return [Send("work", WorkerTask(round=state["round"], worker_id=w)) for w in state["workers"]]

    def work(task: WorkerTask) -> dict[str, Any]:
        steps.work(task["round"], task["worker_id"])
        return {"finished_workers": [candidate_label(task['round'], task['worker_id'])]}

    def collect(state: CampaignState) -> CampaignState:
        steps.collect(state["round"])
        return {}

    def meta(state: CampaignState) -> CampaignState:
        steps.meta(state["round"])
        reason = steps.stop_reason(state["round"])
        return {"stop_reason": reason or ""}

    def after_meta(state: CampaignState) -> str:
        return "finish" if state.get("stop_reason") else "next_round"

    def next_round(state: CampaignState) -> CampaignState:
        # finished_workers holds one round: kept campaign-long, every checkpoint carried every candidate
        # so far (checkpoint bytes O(N·R²) over a campaign; docs/BENCHMARKS.md, issue #17)
        return {"round": state["round"] + 1, "finished_workers": Overwrite([])}  # type: ignore[typeddict-item]

    def finish(state: CampaignState) -> CampaignState:
        steps.finish(state["round"], state.get("stop_reason") or "completed")
        return {}

    g = StateGraph(CampaignState)
    g.add_node("prepare", prepare)
    g.add_node("plan", plan)
    g.add_node("fork", fork)
    g.add_node("work", work)
    g.add_node("collect", collect)
    g.add_node("meta", meta)
    g.add_node("next_round", next_round)
    g.add_node("finish", finish)
    g.add_edge(START, "prepare")
    g.add_edge("prepare", "plan")
    g.add_edge("plan", "fork")
    g.add_conditional_edges("fork", fan_out, ["work"])
    g.add_edge("work", "collect")
    g.add_edge("collect", "meta")
    g.add_conditional_edges("meta", after_meta, {"finish": "finish", "next_round": "next_round"})
    g.add_edge("next_round", "plan")
    g.add_edge("finish", END)
    return g


def run_graph(steps: CampaignSteps, checkpoint_db: Path, thread_id: str, max_parallel_workers: int,
              resume: bool, start_round: int = 1) -> CampaignState:
    """Start (resume=False) or continue (resume=True) the campaign thread to its end.

    Checkpoints are written synchronously after every step ("sync" durability), so a kill -9 never
    leaves the thread pointing past work whose checkpoint was still in flight."""
    conn = sqlite3.connect(str(checkpoint_db), check_same_thread=False)
    try:
        saver = SqliteSaver(conn)
        graph = build_graph(steps, max_parallel_workers).compile(checkpointer=saver)
        config: dict[str, Any] = {
            "configurable": {"thread_id": thread_id},
            "max_concurrency": max_parallel_workers,
            "recursion_limit": 10_000,
        }
        snapshot = graph.get_state(config)
        if resume and snapshot.next:
            result = graph.invoke(None, config, durability="sync")
        elif resume and snapshot.values and not snapshot.next:
            result = snapshot.values  # the thread already ended
        else:
            result = graph.invoke({"round": start_round, "finished_workers": []}, config, durability="sync")
        return result  # type: ignore[return-value]
    finally:
        conn.close()
