"""Loopback fakes of the Anthropic Messages API and the OpenAI Chat Completions API.

Each fake is a stdlib ThreadingHTTPServer on 127.0.0.1:<free port> that plays a SCRIPT: a list of
`Reply` objects answered in order (tool calls, final text, an HTTP error such as 429/500/529, a
delay). Every request is recorded and checked against the real API's shape — path, auth header,
body fields, tool schema shape, tool_use/tool_result pairing — and a violation is answered with a
400 (and kept in `server.violations`) so a wrong client fails loudly.

Reusable for end-to-end worker runs:

    with FakeAnthropicServer.from_tool_calls(
        [("read_file", {"path": "recipe.yaml"}), ("finish", {"step": 20, "rationale": "..."})],
        api_key="sk-test-123",
    ) as server:
        config = AgentConfig(kind="anthropic", model="claude-sonnet-4-5", base_url=server.base_url)
        ...   # with ANTHROPIC_API_KEY=sk-test-123 in the environment
        server.assert_clean()

OpenAI-compatible: `FakeOpenAIServer`, base_url ends in /v1 as for a vLLM server.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fakes.llm_wire import AnthropicWire, OpenAIWire, Wire


@dataclass
class FakeToolCall:
    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)  # a str is sent verbatim (may be invalid)
    id: str | None = None  # assigned by the server when None


@dataclass
class Reply:
    """One scripted answer. status != 200 → an API error body of that status."""

    text: str = ""
    tool_calls: list[FakeToolCall] = field(default_factory=list)
    status: int = 200
    error_message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    input_tokens: int | None = None  # None: ceil(request bytes / 4)
    output_tokens: int | None = None  # None: 10 + ceil(answer chars / 4)
    stop_reason: str | None = None  # None: tool_use/tool_calls or end_turn/stop
    delay_s: float = 0.0  # sleep before answering (client timeout tests)
    cache_read_tokens: int = 0  # of the input tokens: served from the prompt cache
    cache_write_tokens: int = 0  # of the input tokens: written to the prompt cache (Anthropic)

    @classmethod
    def tool(cls, name: str, arguments: dict[str, Any] | str | None = None, **kw: Any) -> Reply:
        return cls(tool_calls=[FakeToolCall(name, {} if arguments is None else arguments)], **kw)

    @classmethod
    def final(cls, text: str, **kw: Any) -> Reply:
        return cls(text=text, **kw)

    @classmethod
    def error(cls, status: int, message: str = "scripted error", retry_after_s: float | None = None) -> Reply:
        headers = {"retry-after-ms": str(int(retry_after_s * 1000))} if retry_after_s is not None else {}
        return cls(status=status, error_message=message, headers=headers)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any
    raw: bytes
    violations: list[str]
    status: int = 0


class FakeLLMServer:
    """Script player + request checker; subclasses pick the API (`wire`)."""

    wire: Wire
    base_path: str = ""  # appended to the root URL in `base_url`

    def __init__(
        self,
        script: Iterable[Reply] = (),
        *,
        api_key: str,
        echo_key_in_errors: bool = False,
    ) -> None:
        self.script: list[Reply] = list(script)
        self.api_key = api_key
        self.echo_key_in_errors = echo_key_in_errors  # a careless proxy: tests redaction
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._issued_ids: set[str] = set()
        self._id_counter = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_tool_calls(
        cls,
        calls: Sequence[tuple[str, dict[str, Any] | str]],
        *,
        api_key: str,
        final_text: str | None = "Done.",
    ) -> FakeLLMServer:
        """A server that plays the given tool calls one per turn, in order, then a final text."""
        script = [Reply.tool(name, args) for name, args in calls]
        if final_text is not None:
            script.append(Reply.final(final_text))
        return cls(script, api_key=api_key)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> FakeLLMServer:
        handler = _make_handler(self)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return self.root_url + self.base_path

    # ------------------------------------------------------------ inspection

    @property
    def violations(self) -> list[str]:
        return [v for r in self.requests for v in r.violations]

    def api_requests(self) -> list[RecordedRequest]:
        """Requests that reached the script (well-formed, authorised)."""
        return [r for r in self.requests if not r.violations]

    def assert_clean(self) -> None:
        if self.violations:
            raise AssertionError(f"fake {self.wire.name} server saw malformed requests: {self.violations}")

    @property
    def remaining(self) -> int:
        return len(self.script)

    # ------------------------------------------------------------ serving

    def next_id(self, prefix: str) -> str:
        self._id_counter += 1
        new_id = f"{prefix}{self._id_counter:04d}"
        self._issued_ids.add(new_id)
        return new_id

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict, Any]:
        with self._lock:
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = None
            violations = self.wire.check(method, path, headers, body, self.api_key, self._issued_ids)
            record = RecordedRequest(method, path, headers, body, raw, violations)
            self.requests.append(record)
            if violations:
                auth_failed = any(v.startswith("auth:") for v in violations)
                status = 401 if auth_failed else 400
                message = "; ".join(violations)
                if self.echo_key_in_errors and auth_failed:
                    message += f" (received credentials: {self.wire.received_key(headers)})"
                record.status = status
                return status, {}, self.wire.error_body(status, message)
            if not self.script:
                record.status = 400
                record.violations.append("script: no scripted reply left for this request")
                return 400, {}, self.wire.error_body(400, "fake script exhausted")
            reply = self.script.pop(0)
            record.status = reply.status
        if reply.delay_s:
            time.sleep(reply.delay_s)
        if reply.status != 200:
            message = reply.error_message
            if self.echo_key_in_errors:
                message += f" (key {self.wire.received_key(headers)})"
            return reply.status, reply.headers, self.wire.error_body(reply.status, message)
        input_tokens = reply.input_tokens if reply.input_tokens is not None else math.ceil(len(raw) / 4)
        return 200, reply.headers, self.wire.render(self, reply, body, input_tokens)


class FakeAnthropicServer(FakeLLMServer):
    wire = AnthropicWire()
    base_path = ""  # the SDK appends /v1/messages


class FakeOpenAIServer(FakeLLMServer):
    wire = OpenAIWire()
    base_path = "/v1"  # the SDK appends /chat/completions


def _make_handler(server: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra_headers, payload = server.handle(self.command, self.path, headers, raw)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in extra_headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_POST = _serve
        do_GET = _serve

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            return

    return Handler
