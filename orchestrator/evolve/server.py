"""`evotrain serve`: an OpenAI-compatible chat endpoint in front of the generalist and the specialists.

POST /v1/chat/completions answers the last user message. The response's `model` field and the
`X-Evotrain-Agent` header name the agent that answered (`generalist` or a specialist id), and an
`evotrain` field adds the router's similarity. Unserved requests feed the clusters; a cluster over
the volume threshold is born in a background thread while requests keep being answered. The
registry (SQLite) and the births log live in the state folder, so a restarted server routes as before.

FastAPI is imported at module level on purpose: it resolves the endpoints' (postponed) annotations
against this module's globals. The CLI imports this module only when `serve` runs.
"""

from __future__ import annotations

import time
import uuid
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from evotrain.errors import EvotrainError
from evotrain.schemas.common import Artifact
from orchestrator.evolve.config import EvolveConfig
from orchestrator.evolve.schemas import GENERALIST, EvolveStatus


class ChatMessage(BaseModel):
    # OpenAI clients send optional keys (name, tool_calls, ...) that this server does not use
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.get("text", "") for part in self.content or [] if part.get("type") == "text")


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")  # sampling options (temperature, ...) are accepted and ignored

    model: str = "evotrain"
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


class ErrorDetail(Artifact):
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None


class ErrorBody(Artifact):
    """OpenAI's error shape: official clients show `error.message` in the exception they raise."""

    error: ErrorDetail


class ChoiceMessage(Artifact):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(Artifact):
    index: int = 0
    message: ChoiceMessage
    finish_reason: Literal["stop"] = "stop"


class Usage(Artifact):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class RouteInfo(Artifact):
    agent: str
    specialist: bool
    similarity: float


class ChatCompletion(Artifact):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str  # the agent that answered
    choices: list[Choice]
    usage: Usage
    evotrain: RouteInfo


def create_app(cfg: EvolveConfig, births: bool = True):
    from orchestrator.evolve.engine import Engine

    state: dict[str, Engine] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        state["engine"] = Engine(cfg)
        try:
            yield
        finally:
            state["engine"].wait_births(timeout=0)
            state["engine"].close()

    app = FastAPI(title="evotrain serve", lifespan=lifespan)

    @app.exception_handler(HTTPException)
    async def openai_error(_request: Request, exc: HTTPException) -> JSONResponse:
        message = str(exc.detail)
        body = ErrorBody(error=ErrorDetail(message=message, param=message.split(":", 1)[0]))
        return JSONResponse(status_code=exc.status_code, content=body.model_dump())

    @app.post("/v1/chat/completions", response_model=ChatCompletion)
    def chat(request: ChatCompletionRequest, response: Response) -> ChatCompletion:
        if request.stream:
            raise HTTPException(status_code=400, detail="stream: not supported by this server (use stream=false)")
        users = [m for m in request.messages if m.role == "user"]
        if not users or not users[-1].text().strip():
            raise HTTPException(status_code=400, detail="messages: needs a user message with text")
        prompt = users[-1].text()
        engine = state["engine"]
        served = engine.process([prompt])[0]
        if births:
            engine.start_births()
        response.headers["X-Evotrain-Agent"] = served.agent_id
        completion_tokens = len(served.completion)
        return ChatCompletion(
            id=f"chatcmpl-{uuid.uuid4().hex[:24]}", created=int(time.time()), model=served.agent_id,
            choices=[Choice(message=ChoiceMessage(content=served.completion))],
            usage=Usage(prompt_tokens=len(prompt), completion_tokens=completion_tokens,
                        total_tokens=len(prompt) + completion_tokens),
            evotrain=RouteInfo(agent=served.agent_id, specialist=served.agent_id != GENERALIST,
                               similarity=round(served.similarity, 4)),
        )

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        ids = [GENERALIST, *(a.agent_id for a in state["engine"].router.records())]
        return {"object": "list", "data": [{"id": i, "object": "model", "owned_by": "evotrain"} for i in ids]}

    @app.get("/v1/evolve/status", response_model=EvolveStatus)
    def status() -> EvolveStatus:
        return state["engine"].status()

    @app.get("/evolve", response_class=HTMLResponse)
    def dashboard() -> str:
        from orchestrator.evolve.dashboard import render_dashboard

        engine = state["engine"]
        return render_dashboard(engine.status(), engine.births.records())

    return app


def serve(cfg: EvolveConfig, host: str = "127.0.0.1", port: int = 8000, births: bool = True) -> None:
    try:
        import uvicorn
    except ImportError as exc:
        raise EvotrainError("serve: needs fastapi and uvicorn (pip install -e '.[evolve]')") from exc
    uvicorn.run(create_app(cfg, births=births), host=host, port=port, log_level="warning")
