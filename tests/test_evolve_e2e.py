"""End to end with real parts at tiny sizes: MiniLM embeddings, FAISS, the substrate's run and
evaluate commands, the CLI sub-app (CliRunner) and the OpenAI-compatible server (official `openai`
client on loopback, restarted once).

Sizes: the generalist is a deliberately broken 3-step run (learning rate 1.0) so that a 20-step
numeral student beats it. One birth only (each costs three substrate processes); the gate's other
side is in test_evolve_router.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("faiss")
pytest.importorskip("sentence_transformers")
pytest.importorskip("fastapi")

from typer.testing import CliRunner

from orchestrator.evolve.cli import build_evolve_app

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

TINY_CONFIG = {
    "generalist_recipe": {"max_steps": 3, "save_steps": [3], "learning_rate": 1.0, "dev_items": 12,
                          "num_train_examples": 64},
    "birth": {
        "volume": 6, "window": 1000, "teacher_items_per_request": 6, "teacher_max_items": 64,
        "heldout_items": 24, "calibration_items": 8,
        "student_recipe": {"max_steps": 20, "save_steps": [20], "learning_rate": 0.003, "max_grad_norm": 1.0,
                           "dev_items": 12},
    },
    "threads": 1,
}
STREAM = {
    "name": "tiny", "seed": 1,
    "phases": [
        # bit manipulation stays under the birth volume (6): served by the generalist throughout
        {"name": "mixed", "requests": 16, "mix": {"numeral_system": 1.0, "bit_manipulation": 0.25}},
        {"name": "numerals", "requests": 16, "mix": {"numeral_system": 1.0}},
    ],
}


def write_config(path: Path, state: Path, **changes: object) -> Path:
    path.write_text(yaml.safe_dump({**TINY_CONFIG, "state_dir": str(state), **changes}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("evolve")
    config = write_config(root / "evolve.yaml", root / "state")
    stream = root / "tiny.yaml"
    stream.write_text(yaml.safe_dump(STREAM), encoding="utf-8")
    t0 = time.perf_counter()
    result = CliRunner().invoke(build_evolve_app(), ["simulate", str(stream), "--config", str(config), "--batch", "4"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    report = json.loads((root / "state" / "simulate-report.json").read_text())
    return {"root": root, "config": config, "output": result.output, "report": report,
            "seconds": time.perf_counter() - t0}


def test_simulate_births_one_specialist_and_routes_to_it(simulated: dict) -> None:
    report = simulated["report"]
    (birth,) = report["births"]
    assert birth["outcome"] == "registered" and birth["intent"] == "numeral_system"
    assert set(birth["cluster_labels"]) == {"numeral_system"}
    assert birth["gate"]["student"] > birth["gate"]["generalist"]
    assert birth["reward"]["n_kept"] == -(-birth["reward"]["n_scored"] * 3 // 4)  # ceil(75 %)
    assert birth["reward"]["dropped_flawed"] >= birth["reward"]["kept_flawed"]
    assert report["specialists"] == 1 and report["duplicates"] == 0
    assert report["purity"] >= 0.9
    numerals = report["per_label"]["numeral_system"]
    assert numerals[birth["agent_id"]]["served"] >= 16  # the numeral-only phase goes to the specialist
    assert numerals[birth["agent_id"]]["correct"] > 0
    assert set(report["per_label"]["bit_manipulation"]) == {"generalist"}
    assert "[birth] b001" in simulated["output"]


def test_status_and_births_commands(simulated: dict) -> None:
    app = build_evolve_app()
    status = CliRunner().invoke(app, ["status", "--config", str(simulated["config"]), "--json"])
    assert status.exit_code == 0, status.output
    data = json.loads(status.output)
    assert [a["intent"] for a in data["agents"]] == ["numeral_system"] and data["births"] == 1
    births = CliRunner().invoke(app, ["births", "--config", str(simulated["config"])])
    assert births.exit_code == 0 and "registered" in births.output and "vs generalist" in births.output


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    app = build_evolve_app()
    bad = tmp_path / "bad.yaml"
    bad.write_text("birth: {volume: 6, voulme: 3}\n")
    res = CliRunner().invoke(app, ["status", "--config", str(bad)])
    assert res.exit_code == 2 and "birth.voulme" in res.output and len(res.output.strip().splitlines()) == 1
    res = CliRunner().invoke(app, ["status", "--state", str(tmp_path / "none")])
    assert res.exit_code == 2 and "no registry yet" in res.output
    traffic = tmp_path / "t.jsonl"
    traffic.write_text('{"id": "a", "t": 1, "prompt": "x"}\n{"id": "b", "t": -1, "prompt": "y"}\n')
    from orchestrator.evolve.substrate_bridge import load_minitask
    from orchestrator.evolve.traffic import load_stream

    with pytest.raises(Exception, match=r"t.jsonl:2: field 't'"):
        load_stream(load_minitask(REPO / "substrate" / "default"), traffic)


# -- the server ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(config: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.evolve.cli", "--config", str(config), "--port", str(port)],
        cwd=REPO, env=env, stdout=open(log, "a"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )
    import httpx

    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail("server did not come up")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_serve_routes_to_the_specialist_and_keeps_its_registry_across_a_restart(
    simulated: dict, tmp_path: Path
) -> None:
    import httpx
    from openai import BadRequestError, OpenAI

    from orchestrator.evolve.substrate_bridge import load_minitask

    state = tmp_path / "serve-state"
    shutil.copytree(simulated["root"] / "state", state)  # the registry the simulation built
    config = write_config(tmp_path / "serve.yaml", state)
    mt = load_minitask(REPO / "substrate" / "default")
    numerals = [p.prompt for p in mt.generate.generate_items(2, {"numeral_system": 1.0}, 42, 0)]
    bits = [p.prompt for p in mt.generate.generate_items(1, {"bit_manipulation": 1.0}, 42, 0)]
    port = free_port()
    log = tmp_path / "server.log"
    proc = start_server(config, port, log)
    try:
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0, timeout=120)
        raw = client.chat.completions.with_raw_response.create(
            model="evotrain", messages=[{"role": "system", "content": "be brief"},
                                        {"role": "user", "content": numerals[0]}])
        reply = raw.parse()
        assert reply.model.startswith("numeral_system-") and raw.headers["x-evotrain-agent"] == reply.model
        assert reply.model_extra["evotrain"]["specialist"] is True
        assert "\\boxed{" in reply.choices[0].message.content
        other = client.chat.completions.create(model="evotrain", messages=[{"role": "user", "content": bits[0]}])
        assert other.model == "generalist" and other.model_extra["evotrain"]["specialist"] is False
        with pytest.raises(BadRequestError, match="stream: not supported"):
            client.chat.completions.create(model="evotrain", messages=[{"role": "user", "content": "x"}],
                                           extra_body={"stream": True})
    finally:
        stop(proc)
    proc = start_server(config, port, log)
    try:
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0, timeout=120)
        reply = client.chat.completions.create(model="evotrain", messages=[{"role": "user", "content": numerals[1]}])
        assert reply.model.startswith("numeral_system-")  # the registry survived the restart
        assert reply.model in [m.id for m in client.models.list()]
        assert reply.model in httpx.get(f"http://127.0.0.1:{port}/evolve").text
    finally:
        stop(proc)
