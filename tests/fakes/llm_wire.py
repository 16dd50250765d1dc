"""Wire formats for the fake LLM servers: request checks and response bodies per API.

The checks mirror what the real services reject (wrong path, missing/wrong key, malformed tools,
a tool_use without its tool_result, ...), so a backend that passes against the fake sends requests
the real API would accept in those respects.
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from fakes.llm_servers import FakeLLMServer, Reply

_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def default_output_tokens(reply: Reply) -> int:
    if reply.output_tokens is not None:
        return reply.output_tokens
    chars = len(reply.text) + sum(len(json.dumps(c.arguments)) for c in reply.tool_calls)
    return 10 + math.ceil(chars / 4)


class Wire(Protocol):
    name: str

    def check(
        self, method: str, path: str, headers: dict[str, str], body: Any, key: str, issued: set[str]
    ) -> list[str]: ...

    def received_key(self, headers: dict[str, str]) -> str: ...

    def error_body(self, status: int, message: str) -> Any: ...

    def render(self, server: FakeLLMServer, reply: Reply, body: Any, input_tokens: int) -> Any: ...


def _check_object_schema(schema: Any, where: str) -> list[str]:
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return [f"{where}: must be a JSON Schema with type 'object'"]
    return []


# ---------------------------------------------------------------- Anthropic Messages API


_ANTHROPIC_ERRORS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


class AnthropicWire:
    name = "anthropic"

    def received_key(self, headers: dict[str, str]) -> str:
        # Older SDKs send x-api-key; the installed 2.x SDK sends Authorization: Bearer <key>.
        return headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")

    def check(
        self, method: str, path: str, headers: dict[str, str], body: Any, key: str, issued: set[str]
    ) -> list[str]:
        v: list[str] = []
        if method != "POST" or path.split("?")[0] != "/v1/messages":
            return [f"path: expected POST /v1/messages, got {method} {path}"]
        if self.received_key(headers) != key:
            v.append("auth: API key (x-api-key or Authorization: Bearer) missing or wrong")
        if not headers.get("anthropic-version"):
            v.append("headers: anthropic-version missing")
        if not isinstance(body, dict):
            return [*v, "body: not a JSON object"]
        if not isinstance(body.get("model"), str) or not body["model"]:
            v.append("body.model: required string")
        if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
            v.append("body.max_tokens: required positive integer")
        if "system" in body and not isinstance(body["system"], str | list):
            v.append("body.system: must be a string or a list of text blocks")
        v += self._check_tools(body)
        v += self._check_messages(body.get("messages"), issued)
        return v

    def _check_tools(self, body: dict[str, Any]) -> list[str]:
        v: list[str] = []
        tools = body.get("tools", [])
        names = set()
        for i, tool in enumerate(tools if isinstance(tools, list) else [None]):
            if not isinstance(tool, dict):
                v.append(f"body.tools[{i}]: must be an object")
                continue
            extra = set(tool) - {"name", "description", "input_schema", "cache_control"}
            if extra:
                v.append(f"body.tools[{i}]: unexpected keys {sorted(extra)}")
            if not _TOOL_NAME.match(str(tool.get("name", ""))):
                v.append(f"body.tools[{i}].name: invalid")
            names.add(tool.get("name"))
            if not isinstance(tool.get("description", ""), str):
                v.append(f"body.tools[{i}].description: must be a string")
            v += _check_object_schema(tool.get("input_schema"), f"body.tools[{i}].input_schema")
        choice = body.get("tool_choice")
        if choice is not None:
            if not isinstance(choice, dict) or choice.get("type") not in {"auto", "any", "tool", "none"}:
                v.append("body.tool_choice: invalid")
            elif choice["type"] == "tool" and choice.get("name") not in names:
                v.append("body.tool_choice.name: not one of the tools")
        return v

    def _check_messages(self, messages: Any, issued: set[str]) -> list[str]:
        if not isinstance(messages, list) or not messages:
            return ["body.messages: required non-empty list"]
        v: list[str] = []
        if messages[0].get("role") != "user":
            v.append("body.messages[0].role: must be 'user'")
        for i, msg in enumerate(messages):
            role, content = msg.get("role"), msg.get("content")
            if role not in {"user", "assistant"}:
                v.append(f"body.messages[{i}].role: must be user or assistant")
            if i and role == messages[i - 1].get("role"):
                v.append(f"body.messages[{i}].role: roles must alternate")
            if not isinstance(content, str | list) or not content:
                v.append(f"body.messages[{i}].content: required non-empty string or list")
                continue
            blocks = content if isinstance(content, list) else []
            for j, block in enumerate(blocks):
                if block.get("type") == "text" and not block.get("text"):
                    v.append(f"body.messages[{i}].content[{j}]: text blocks must be non-empty")
            uses = [b["id"] for b in blocks if b.get("type") == "tool_use"]
            for use_id in uses:
                if role != "assistant" or use_id not in issued:
                    v.append(f"body.messages[{i}]: tool_use {use_id} was not issued by the server")
            if uses:
                nxt = messages[i + 1] if i + 1 < len(messages) else None
                given = (
                    {b.get("tool_use_id") for b in nxt["content"] if b.get("type") == "tool_result"}
                    if nxt and isinstance(nxt.get("content"), list)
                    else set()
                )
                if set(uses) - given:
                    v.append(f"body.messages[{i + 1}]: missing tool_result for {sorted(set(uses) - given)}")
        return v

    def error_body(self, status: int, message: str) -> Any:
        kind = _ANTHROPIC_ERRORS.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def render(self, server: FakeLLMServer, reply: Reply, body: Any, input_tokens: int) -> Any:
        content: list[dict[str, Any]] = []
        if reply.text:
            content.append({"type": "text", "text": reply.text})
        for call in reply.tool_calls:
            call_id = call.id or server.next_id("toolu_")
            server._issued_ids.add(call_id)
            content.append({"type": "tool_use", "id": call_id, "name": call.name, "input": call.arguments})
        stop = reply.stop_reason or ("tool_use" if reply.tool_calls else "end_turn")
        return {
            "id": server.next_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": body.get("model", ""),
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            # the Messages API reports the uncached remainder in input_tokens, cache use apart
            "usage": {
                "input_tokens": input_tokens - reply.cache_read_tokens - reply.cache_write_tokens,
                "cache_read_input_tokens": reply.cache_read_tokens,
                "cache_creation_input_tokens": reply.cache_write_tokens,
                "output_tokens": default_output_tokens(reply),
            },
        }


# ---------------------------------------------------------------- OpenAI Chat Completions API


class OpenAIWire:
    name = "openai"

    def received_key(self, headers: dict[str, str]) -> str:
        return headers.get("authorization", "").removeprefix("Bearer ")

    def check(
        self, method: str, path: str, headers: dict[str, str], body: Any, key: str, issued: set[str]
    ) -> list[str]:
        v: list[str] = []
        if method != "POST" or path.split("?")[0] != "/v1/chat/completions":
            return [f"path: expected POST /v1/chat/completions, got {method} {path}"]
        if headers.get("authorization") != f"Bearer {key}":
            v.append("auth: Authorization: Bearer <key> header missing or wrong")
        if not isinstance(body, dict):
            return [*v, "body: not a JSON object"]
        if not isinstance(body.get("model"), str) or not body["model"]:
            v.append("body.model: required string")
        limits = [k for k in ("max_completion_tokens", "max_tokens") if k in body]
        if any(not isinstance(body[k], int) or body[k] < 1 for k in limits):
            v.append("body.max_completion_tokens: must be a positive integer")
        v += self._check_tools(body)
        v += self._check_response_format(body.get("response_format"))
        v += self._check_messages(body.get("messages"), issued)
        return v

    def _check_tools(self, body: dict[str, Any]) -> list[str]:
        v: list[str] = []
        tools = body.get("tools", [])
        for i, tool in enumerate(tools if isinstance(tools, list) else [None]):
            if not isinstance(tool, dict) or tool.get("type") != "function":
                v.append(f"body.tools[{i}]: must be {{type: function, function: ...}}")
                continue
            fn = tool.get("function")
            if not isinstance(fn, dict) or not _TOOL_NAME.match(str(fn.get("name", ""))):
                v.append(f"body.tools[{i}].function.name: invalid")
                continue
            extra = set(fn) - {"name", "description", "parameters", "strict"}
            if extra:
                v.append(f"body.tools[{i}].function: unexpected keys {sorted(extra)}")
            v += _check_object_schema(fn.get("parameters"), f"body.tools[{i}].function.parameters")
        return v

    def _check_response_format(self, fmt: Any) -> list[str]:
        if fmt is None:
            return []
        if not isinstance(fmt, dict) or fmt.get("type") not in {"text", "json_object", "json_schema"}:
            return ["body.response_format.type: invalid"]
        if fmt["type"] == "json_schema":
            spec = fmt.get("json_schema")
            if not isinstance(spec, dict) or not _TOOL_NAME.match(str(spec.get("name", ""))):
                return ["body.response_format.json_schema.name: required, [A-Za-z0-9_-]{1,64}"]
            return _check_object_schema(spec.get("schema"), "body.response_format.json_schema.schema")
        return []

    def _check_messages(self, messages: Any, issued: set[str]) -> list[str]:
        if not isinstance(messages, list) or not messages:
            return ["body.messages: required non-empty list"]
        v: list[str] = []
        open_calls: set[str] = set()
        for i, msg in enumerate(messages):
            role = msg.get("role")
            if role not in {"system", "developer", "user", "assistant", "tool"}:
                v.append(f"body.messages[{i}].role: invalid")
            if role != "tool" and open_calls:
                v.append(f"body.messages[{i}]: tool calls {sorted(open_calls)} have no tool message")
                open_calls = set()
            if role == "assistant":
                for j, call in enumerate(msg.get("tool_calls") or []):
                    fn = call.get("function") or {}
                    if call.get("type") != "function" or not isinstance(fn.get("arguments"), str):
                        v.append(f"body.messages[{i}].tool_calls[{j}]: needs type function + string arguments")
                    if call.get("id") not in issued:
                        v.append(f"body.messages[{i}].tool_calls[{j}]: id not issued by the server")
                    open_calls.add(call.get("id"))
            elif role == "tool":
                call_id = msg.get("tool_call_id")
                if call_id not in open_calls:
                    v.append(f"body.messages[{i}].tool_call_id: {call_id} answers no pending tool call")
                open_calls.discard(call_id)
                if not isinstance(msg.get("content"), str):
                    v.append(f"body.messages[{i}].content: tool content must be a string")
        if open_calls:
            v.append(f"body.messages: tool calls {sorted(open_calls)} have no tool message")
        return v

    def error_body(self, status: int, message: str) -> Any:
        kind = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(status, "server_error")
        if 400 <= status < 500 and status not in (401, 429):
            kind = "invalid_request_error"
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}

    def render(self, server: FakeLLMServer, reply: Reply, body: Any, input_tokens: int) -> Any:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        calls = []
        for call in reply.tool_calls:
            call_id = call.id or server.next_id("call_")
            server._issued_ids.add(call_id)
            args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
            calls.append({"id": call_id, "type": "function", "function": {"name": call.name, "arguments": args}})
        if calls:
            message["tool_calls"] = calls
        output_tokens = default_output_tokens(reply)
        return {
            "id": server.next_id("chatcmpl-"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": reply.stop_reason or ("tool_calls" if calls else "stop"),
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": input_tokens,
                "completion_tokens": output_tokens,
                "total_tokens": input_tokens + output_tokens,
                "prompt_tokens_details": {"cached_tokens": reply.cache_read_tokens},
            },
        }
