"""The file and job tools as an agent sees them (through run_worker with a replaying agent)."""

from __future__ import annotations

import json
from pathlib import Path

from worker_support import ListAgent, make_setup

from evotrain.schemas.trace import TraceEvent
from workers.loop import run_worker
from workers.trace import TraceWriter, read_trace

DIFF = """--- a/recipe.yaml
+++ b/recipe.yaml
@@ -3,3 +3,3 @@
 lora_r: 16
-max_steps: 30
+max_steps: 20
 save_steps: [10, 20, 30]
"""


def test_file_tools_diff_and_job_ownership(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    brief = setup.brief("w07")
    agent = ListAgent([
        [("list_files", {"path": "."})],
        [("patch_file", {"path": "recipe.yaml", "search": "lora_r: 8", "replace": "lora_r: 16"}),
         ("patch_file", {"path": "recipe.yaml", "diff": DIFF}),
         ("patch_file", {"path": "recipe.yaml", "diff": "@@ -1,1 +1,1 @@\n-not there\n+x\n"}),
         ("write_file", {"path": "data/new/notes.txt", "content": "hello\n"})],
        [("show_diff", {}), ("validate_recipe", {})],
        [("poll_job", {"job_id": "tc-r001-w01-a1"}), ("read_results", {"job_id": "nope"})],
        [("finish", {"rationale": "tools only"})],
    ])
    run_worker_result = run_worker(
        brief, executor=setup.executor, agent=agent, manifest_path=setup.manifest(brief),
        trace_path=setup.trace(brief))
    by_id = {r.call_id: r for r in agent.seen}
    listing = by_id["c1-0"].content
    assert "eval/harness.py" in listing and "[frozen]" in listing.split("eval/harness.py")[1].splitlines()[0]
    assert "recipe.yaml" in listing and ".git" not in listing.split()
    assert by_id["c2-0"].ok and by_id["c2-1"].ok and by_id["c2-3"].ok
    assert not by_id["c2-2"].ok and "does not match" in by_id["c2-2"].content
    diff = by_id["c3-0"].content
    assert "+lora_r: 16" in diff and "+max_steps: 20" in diff and "+++ b/data/new/notes.txt" in diff
    assert by_id["c3-1"].ok and json.loads(by_id["c3-1"].content)["valid"] is True
    assert not by_id["c4-0"].ok and "unknown job" in by_id["c4-0"].content  # another worker's job
    assert not by_id["c4-1"].ok
    recipe = (Path(brief.sandbox) / "recipe.yaml").read_text()
    assert "lora_r: 16" in recipe and "max_steps: 20" in recipe and "# fake recipe" in recipe
    assert run_worker_result.status == "failed"  # never trained


def test_trace_survives_a_torn_last_line_and_continues_seq(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    writer = TraceWriter(path, "w01")
    writer.emit("start", detail="x")
    writer.emit("tool_call", tool="read_file", args={"path": "recipe.yaml"})
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"seq": 2, "ts": 1.0, "worker_id": "w0')  # kill -9 mid-append
    events = read_trace(path)
    assert [e.seq for e in events] == [0, 1] and isinstance(events[1], TraceEvent)
    resumed = TraceWriter(path, "w01")
    assert resumed.emit("start").seq == 2
