"""A loopback stand-in for the Kaggle API endpoints `kaggle competitions submit` uses.

Speaks the kagglesdk wire format (POST <endpoint>/api/v1/<Service>/<Method> with camelCase JSON;
the file goes up by PUT to the `createUrl` the server hands out), records every request, and
reports a submission as PENDING for `pending_polls` list calls before it is COMPLETE (or ERROR).
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SERVICE = "/api/v1/competitions.CompetitionApiService/"


@dataclass
class SeenRequest:
    method: str
    path: str
    auth_user: str
    body: Any


@dataclass
class KaggleState:
    competition: str
    public_score: str = "0.8123"
    pending_polls: int = 1
    final_status: str = "COMPLETE"
    requests: list[SeenRequest] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    submissions: dict[int, dict[str, Any]] = field(default_factory=dict)
    list_calls: int = 0


class FakeKaggleServer:
    def __init__(self, competition: str = "test-comp", **kw: Any) -> None:
        self.state = KaggleState(competition=competition, **kw)
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _user(self) -> str:
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    return base64.b64decode(header[6:]).decode().split(":", 1)[0]
                return ""

            def _reply(self, code: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().strip(), 16)
                        if size == 0:
                            self.rfile.readline()
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length", "0")))

            def do_PUT(self) -> None:
                data = self._body()
                state.requests.append(SeenRequest("PUT", self.path, self._user(), len(data)))
                token = self.path.rsplit("/", 1)[-1]
                state.uploads[token] = data
                self._reply(200, {})

            def do_POST(self) -> None:
                body = json.loads(self._body() or b"{}")
                state.requests.append(SeenRequest("POST", self.path, self._user(), body))
                if self._user() == "":
                    return self._reply(401, {"code": 401, "message": "Unauthenticated"})
                method = self.path.removeprefix(SERVICE) if self.path.startswith(SERVICE) else ""
                if body.get("competitionName") not in (None, state.competition):
                    return self._reply(404, {"code": 404, "message": "Competition not found"})
                if method == "StartSubmissionUpload":
                    token = f"blob-{len(state.uploads) + 1}"
                    host, port = self.server.server_address[:2]
                    return self._reply(200, {"token": token, "createUrl": f"http://{host}:{port}/upload/{token}"})
                if method == "CreateSubmission":
                    tokens = body.get("blobFileTokens")
                    if tokens not in state.uploads:
                        return self._reply(400, {"code": 400, "message": "unknown blob token"})
                    ref = 4242 + len(state.submissions)
                    state.submissions[ref] = {"ref": ref, "fileName": "submission.zip",
                                              "description": body.get("submissionDescription", "")}
                    return self._reply(200, {"message": "Successfully submitted", "ref": ref})
                if method == "ListSubmissions":
                    state.list_calls += 1
                    done = state.list_calls > state.pending_polls
                    subs = []
                    for sub in state.submissions.values():
                        item = {**sub, "date": "2026-11-23T18:00:00.000Z",
                                "status": state.final_status if done else "PENDING"}
                        if done and state.final_status == "COMPLETE":
                            item["publicScore"] = state.public_score
                        if done and state.final_status == "ERROR":
                            item["errorDescription"] = "adapter failed to load"
                        subs.append(item)
                    return self._reply(200, {"submissions": subs, "nextPageToken": ""})
                return self._reply(404, {"code": 404, "message": f"no method {self.path}"})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeKaggleServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
