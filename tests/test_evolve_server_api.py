"""The OpenAI-compatible HTTP surface with a stand-in engine (fast): body schema, the agent named in
the `model` field and the X-Evotrain-Agent header, one-line 400s. The real engine behind a real
server is exercised in test_evolve_e2e.py."""

from __future__ import annotations

from typing import ClassVar

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient

from orchestrator.evolve import engine as engine_module
from orchestrator.evolve.config import EvolveConfig
from orchestrator.evolve.metrics import Served
from orchestrator.evolve.schemas import EvolveStatus
from orchestrator.evolve.server import create_app


class FakeEngine:
    instances: ClassVar[list[FakeEngine]] = []

    def __init__(self, cfg: EvolveConfig) -> None:
        self.prompts: list[str] = []
        self.closed = False
        self.births_started = 0
        FakeEngine.instances.append(self)

    def process(self, prompts: list[str]) -> list[Served]:
        self.prompts += prompts
        agent = "numeral_system-b001" if "numeral" in prompts[0] else "generalist"
        return [Served("r1", agent, 0.93, "roman→\\boxed{XII}", "XII", None, 30, 0.01)]

    def start_births(self) -> None:
        self.births_started += 1

    def wait_births(self, timeout: float | None = None) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def status(self) -> EvolveStatus:
        return EvolveStatus(state_dir="s", agents=[], clusters=[], births=0, generalist_adapter="g")


@pytest.fixture()
def client(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(engine_module, "Engine", FakeEngine)
    FakeEngine.instances.clear()
    with TestClient(create_app(EvolveConfig())) as c:
        yield c
    assert FakeEngine.instances[0].closed


def test_answer_names_the_agent(client: TestClient) -> None:
    body = {"model": "evotrain", "temperature": 0.2,
            "messages": [{"role": "system", "content": "be brief"},
                         {"role": "user", "content": [{"type": "text", "text": "a numeral puzzle"}]}]}
    res = client.post("/v1/chat/completions", json=body)
    assert res.status_code == 200, res.text
    data = res.json()
    assert data["model"] == res.headers["x-evotrain-agent"] == "numeral_system-b001"
    assert data["evotrain"] == {"agent": "numeral_system-b001", "specialist": True, "similarity": 0.93}
    assert data["choices"][0]["message"] == {"role": "assistant", "content": "roman→\\boxed{XII}"}
    assert data["object"] == "chat.completion" and data["usage"]["total_tokens"] > 0
    engine = FakeEngine.instances[0]
    assert engine.prompts == ["a numeral puzzle"] and engine.births_started == 1
    other = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hello"}]})
    assert other.json()["model"] == "generalist" and other.json()["evotrain"]["specialist"] is False


def test_bad_requests_are_400_naming_the_field(client: TestClient) -> None:
    res = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}], "stream": True})
    assert res.status_code == 400 and res.json()["error"]["message"].startswith("stream:")
    assert res.json()["error"]["param"] == "stream"
    res = client.post("/v1/chat/completions", json={"messages": [{"role": "system", "content": "x"}]})
    assert res.status_code == 400 and res.json()["error"]["message"].startswith("messages:")
    res = client.post("/v1/chat/completions", json={"messages": []})
    assert res.status_code == 422  # schema violation (FastAPI's validation body names 'messages')
    assert "messages" in res.text


def test_the_official_client_shows_the_error_message(client: TestClient) -> None:
    from openai import BadRequestError, OpenAI

    sdk = OpenAI(base_url=f"{client.base_url}/v1", api_key="unused", http_client=client, max_retries=0)
    reply = sdk.chat.completions.create(model="evotrain", messages=[{"role": "user", "content": "numeral?"}])
    assert reply.model == "numeral_system-b001" and reply.model_extra["evotrain"]["specialist"] is True
    with pytest.raises(BadRequestError, match="stream: not supported"):
        sdk.chat.completions.create(model="evotrain", messages=[{"role": "user", "content": "x"}],
                                    extra_body={"stream": True})
