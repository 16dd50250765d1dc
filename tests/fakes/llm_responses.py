"""Loopback fake of the OpenAI Responses API (POST /v1/responses), for the `openai_api: responses` backend.

Every reply carries a reasoning item with encrypted content; the next request must send it back
(with `store: false` that is the only way reasoning survives between turns), which the checks enforce.
`Reply.stop_reason` selects the status: None -> completed, "incomplete:<reason>", "failed", "cancelled".
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from fakes.llm_servers import FakeLLMServer
from fakes.llm_wire import _TOOL_NAME, _check_object_schema, default_output_tokens

if TYPE_CHECKING:
    from fakes.llm_servers import Reply


class ResponsesWire:
    name = "openai-responses"

    def __init__(self) -> None:
        self.reasoning_issued: set[str] = set()

    def received_key(self, headers: dict[str, str]) -> str:
        return headers.get("authorization", "").removeprefix("Bearer ")

    def check(
        self, method: str, path: str, headers: dict[str, str], body: Any, key: str, issued: set[str]
    ) -> list[str]:
        if method != "POST" or path.split("?")[0] != "/v1/responses":
            return [f"path: expected POST /v1/responses, got {method} {path}"]
        v: list[str] = []
        if headers.get("authorization") != f"Bearer {key}":
            v.append("auth: Authorization: Bearer <key> header missing or wrong")
        if not isinstance(body, dict):
            return [*v, "body: not a JSON object"]
        if not isinstance(body.get("model"), str) or not body["model"]:
            v.append("body.model: required string")
        for i, tool in enumerate(body.get("tools") or []):
            if tool.get("type") != "function" or not _TOOL_NAME.match(str(tool.get("name", ""))):
                v.append(f"body.tools[{i}]: must be {{type: function, name, parameters}}")
            else:
                v += _check_object_schema(tool.get("parameters"), f"body.tools[{i}].parameters")
        items = body.get("input")
        if not isinstance(items, list) or not items:
            return [*v, "body.input: required non-empty list"]
        open_calls: set[str] = set()
        for i, item in enumerate(items):
            kind = item.get("type", "message")
            if kind == "function_call":
                if item.get("call_id") not in issued:
                    v.append(f"body.input[{i}]: function_call {item.get('call_id')} was not issued")
                open_calls.add(item.get("call_id"))
            elif kind == "function_call_output":
                if item.get("call_id") not in open_calls:
                    v.append(f"body.input[{i}]: output for {item.get('call_id')} answers no function_call")
                open_calls.discard(item.get("call_id"))
                if not isinstance(item.get("output"), str):
                    v.append(f"body.input[{i}].output: must be a string")
            elif kind == "reasoning":
                if item.get("id") not in self.reasoning_issued or not item.get("encrypted_content"):
                    v.append(f"body.input[{i}]: reasoning item not issued or without encrypted_content")
            elif item.get("role") not in {"user", "assistant", "system", "developer"}:
                v.append(f"body.input[{i}]: unknown item")
        if open_calls:
            v.append(f"body.input: function calls {sorted(open_calls)} have no output")
        return v

    def error_body(self, status: int, message: str) -> Any:
        return {"error": {"message": message, "type": "invalid_request_error" if status == 400 else "server_error",
                          "param": None, "code": None}}

    def render(self, server: FakeLLMServer, reply: Reply, body: Any, input_tokens: int) -> Any:
        rid = server.next_id("rs_")
        self.reasoning_issued.add(rid)
        reasoning = {"type": "reasoning", "id": rid, "summary": [], "encrypted_content": f"enc:{rid}"}
        output: list[dict[str, Any]] = [reasoning]
        if reply.text:
            output.append({"type": "message", "id": server.next_id("msg_"), "role": "assistant", "status": "completed",
                           "content": [{"type": "output_text", "text": reply.text, "annotations": []}]})
        for call in reply.tool_calls:
            call_id = call.id or server.next_id("call_")
            server._issued_ids.add(call_id)
            args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
            output.append({"type": "function_call", "id": server.next_id("fc_"), "call_id": call_id,
                           "name": call.name, "arguments": args, "status": "completed"})
        status, _, reason = (reply.stop_reason or "completed").partition(":")
        out_tokens = default_output_tokens(reply)
        return {
            "id": server.next_id("resp_"), "object": "response", "created_at": int(time.time()),
            "model": body.get("model", ""), "status": status, "output": output,
            "incomplete_details": {"reason": reason} if reason else None,
            "error": {"code": "server_error", "message": "scripted failure"} if status == "failed" else None,
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": body.get("tools", []),
            "usage": {"input_tokens": input_tokens, "output_tokens": out_tokens,
                      "input_tokens_details": {"cached_tokens": reply.cache_read_tokens},
                      "output_tokens_details": {"reasoning_tokens": 5}, "total_tokens": input_tokens + out_tokens},
        }


class FakeResponsesServer(FakeLLMServer):
    base_path = "/v1"  # the SDK appends /responses

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wire = ResponsesWire()  # per server: it remembers the reasoning items it issued
