"""OpenAI-compatible backend: Chat Completions with function tools, through the official `openai` SDK.

`base_url` points it at any OpenAI-compatible server (a local vLLM: `http://host:8000/v1`). Tool-call
arguments arrive as a JSON string; one that does not parse to an object becomes
`ToolCall.parse_error` (the worker loop reports an invalid call) instead of an exception.
"""

from __future__ import annotations

import math
import re
from types import ModuleType
from typing import Any

import openai
from pydantic import BaseModel

from llm.base import AgentError, ToolCall, ToolResult, ToolSpec
from llm.chat_base import LLMBackendBase, Outcome, ParsedReply, parse_arguments
from llm.common import Secret, json_instructions, retry_feedback

_SCHEMA_NAME = re.compile(r"[^A-Za-z0-9_-]")
# Chat Completions finish reasons -> outcome (llm/chat_base.py defines what each outcome does).
FINISH_OUTCOMES: dict[str, Outcome] = {
    "stop": "ok",
    "tool_calls": "ok",
    "function_call": "ok",  # legacy name of tool_calls
    "length": "truncated",
    "content_filter": "refused",
}


class OpenAIAgent(LLMBackendBase):
    name = "openai"
    default_key_env = "OPENAI_API_KEY"

    @property
    def sdk(self) -> ModuleType:
        return openai

    def _make_client(self, secret: Secret) -> openai.OpenAI:
        kwargs: dict[str, Any] = {"api_key": secret.reveal(), "max_retries": 0, "timeout": self.config.timeout_s}
        if self.config.base_url:
            kwargs["base_url"] = self.config.base_url
        return openai.OpenAI(**kwargs)

    # ------------------------------------------------------------ conversation

    def _reset_conversation(self, system: str, tools: list[ToolSpec]) -> None:
        self._system = system
        self._tools = [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
            }
            for t in tools
        ]

    def _text_native(self, text: str) -> list[dict[str, Any]]:
        return [{"role": "user", "content": text}]

    def _results_native(self, pending: list[ToolCall], results: dict[str, ToolResult]) -> list[dict[str, Any]]:
        # One `tool` message per call id, in order; the API has no error flag, so say it in the text.
        out = []
        for call in pending:
            result = results.get(call.id)
            if result is None:
                content = "ERROR: tool call was not executed"
            else:
                content = result.content if result.ok else f"ERROR: {result.content}"
            out.append({"role": "tool", "tool_call_id": call.id, "content": content})
        return out

    def _assistant_native(self, response: Any) -> list[dict[str, Any]]:
        return [_assistant_message(response)]

    def _merge_paused(self, held: list[dict[str, Any]], more: list[dict[str, Any]]) -> None:
        raise AgentError(f"{self.name}: Chat Completions has no paused turns")

    def _request(self, messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            self.config.max_tokens_param: self.config.max_tokens_per_call,
            **extra,
        }
        if self.config.temperature is not None:
            request["temperature"] = self.config.temperature
        return request

    def _step_request(self) -> dict[str, Any]:
        # OpenAI caches the longest previously seen prefix automatically (>= 1024 tokens): system, tools
        # and the brief+summary head come first and change only at a compaction.
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": self._system},
            {"role": "user", "content": self.conv.head()},
        ]
        for ex in self.conv.exchanges:
            messages += [*ex.assistant, *ex.follow]
        if self.conv.note and messages[-1]["role"] in {"user", "tool"}:
            messages.append({"role": "user", "content": self.conv.note})
        extra = {"tools": self._tools} if self._tools else {}
        return self._request(messages, **extra)

    def _send(self, request: dict[str, Any]) -> Any:
        return self._client.chat.completions.create(**request)

    # ------------------------------------------------------------ responses

    def _parse(self, response: Any, request_chars: int) -> ParsedReply:
        if not response.choices:
            raise AgentError(f"{self.name} {self.model}: response has no choices")
        choice = response.choices[0]
        message = choice.message
        calls: list[ToolCall] = []
        for raw in message.tool_calls or []:
            function = getattr(raw, "function", None)
            if getattr(raw, "type", "function") != "function" or function is None:
                calls.append(
                    ToolCall(id=raw.id, name=getattr(raw, "name", "unknown"), parse_error="not a function call")
                )
                continue
            arguments, error = parse_arguments(function.arguments)
            calls.append(ToolCall(id=raw.id, name=function.name, arguments=arguments, parse_error=error))
        text = message.content or ""
        finish = choice.finish_reason or ""
        outcome = FINISH_OUTCOMES.get(finish, "ok")
        if outcome == "truncated" and calls and calls[-1].parse_error is None:
            calls[-1] = calls[-1].model_copy(
                update={"parse_error": "tool call cut off at max_tokens_per_call; arguments may be incomplete"}
            )
        usage = response.usage
        cached = 0
        if usage is not None:
            input_tokens, output_tokens = int(usage.prompt_tokens), int(usage.completion_tokens)
            details = getattr(usage, "prompt_tokens_details", None)
            cached = int(getattr(details, "cached_tokens", 0) or 0)
        else:
            # Some compatible servers omit usage: charge an estimate rather than nothing.
            input_tokens = self.meter.estimate_input_tokens(request_chars)
            out_chars = len(text) + sum(len(str(c.arguments)) for c in calls)
            output_tokens = math.ceil(out_chars * self.meter.tokens_per_char)
        return ParsedReply(
            text=text,
            tool_calls=calls,
            stop_reason=finish,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_tokens=cached,
            outcome=outcome,
        )

    # ------------------------------------------------------------ complete_json

    def _json_request(self, system: str, user: str, schema: type[BaseModel]) -> dict[str, Any]:
        messages = [
            {"role": "system", "content": f"{system}\n\n{json_instructions(schema)}"},
            {"role": "user", "content": user},
        ]
        extra: dict[str, Any] = {}
        if self.config.json_mode == "json_schema":
            extra["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": _SCHEMA_NAME.sub("_", schema.__name__)[:64],
                    "schema": schema.model_json_schema(),
                    "strict": False,  # strict mode needs every field required; pydantic defaults are not
                },
            }
        elif self.config.json_mode == "json_object":
            extra["response_format"] = {"type": "json_object"}
        return self._request(messages, **extra)

    def _json_feedback(self, request: dict[str, Any], response: Any, error: str) -> dict[str, Any]:
        messages = [
            *request["messages"],
            _assistant_message(response),
            {"role": "user", "content": retry_feedback(error)},
        ]
        return {**request, "messages": messages}


def _assistant_message(response: Any) -> dict[str, Any]:
    """The assistant turn as a request message; tool-call arguments echoed verbatim (even if invalid)."""
    message = response.choices[0].message
    out: dict[str, Any] = {"role": "assistant", "content": message.content or ""}
    calls: list[dict[str, Any]] = []
    for c in message.tool_calls or []:
        function = getattr(c, "function", None)
        if getattr(c, "type", "function") == "function" and function is not None:
            calls.append(
                {"id": c.id, "type": "function", "function": {"name": function.name, "arguments": function.arguments}}
            )
        else:  # other call types go back as received so every tool message has its call
            calls.append(c.model_dump(exclude_none=True))
    if calls:
        out["tool_calls"] = calls
    return out
