"""OpenAI backend on the Responses API (`agents.*.openai_api: responses`), through the official SDK.

Why: reasoning models keep their reasoning between turns only if the reasoning items come back in
the next request. With `store: false` (nothing kept server-side) the API returns them encrypted
(`include: ["reasoning.encrypted_content"]`) and each assistant turn's output items are sent back
verbatim, reasoning included. Compaction drops whole old turns, reasoning with them, which the API
accepts. Chat Completions stays the choice for OpenAI-compatible servers (vLLM, local).
"""

from __future__ import annotations

import hashlib
import re
from types import ModuleType
from typing import Any

import openai
from pydantic import BaseModel

from llm.base import AgentError, ToolCall, ToolResult, ToolSpec
from llm.chat_base import LLMBackendBase, Outcome, ParsedReply, parse_arguments
from llm.common import Secret, json_instructions, retry_feedback

_SCHEMA_NAME = re.compile(r"[^A-Za-z0-9_-]")
# Response.status (+ incomplete_details.reason) -> outcome; failed/cancelled/queued/in_progress raise.
INCOMPLETE_OUTCOMES: dict[str, Outcome] = {"max_output_tokens": "truncated", "content_filter": "refused"}


class OpenAIResponsesAgent(LLMBackendBase):
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
            {"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters,
             "strict": False}
            for t in tools
        ]
        # routes requests sharing this prefix to the same cache (automatic caching needs >= 1024 tokens)
        self._cache_key = "evotrain-" + hashlib.sha256(system.encode()).hexdigest()[:24]

    def _text_native(self, text: str) -> list[dict[str, Any]]:
        return [{"role": "user", "content": text}]

    def _results_native(self, pending: list[ToolCall], results: dict[str, ToolResult]) -> list[dict[str, Any]]:
        out = []
        for call in pending:
            result = results.get(call.id)
            if result is None:
                content = "ERROR: tool call was not executed"
            else:
                content = result.content if result.ok else f"ERROR: {result.content}"
            out.append({"type": "function_call_output", "call_id": call.id, "output": content})
        return out

    def _assistant_native(self, response: Any) -> list[dict[str, Any]]:
        # every output item goes back as received: reasoning (encrypted), messages, function calls
        return [item.model_dump(exclude_none=True) for item in response.output or []]

    def _merge_paused(self, held: list[dict[str, Any]], more: list[dict[str, Any]]) -> None:
        raise AgentError(f"{self.name}: the Responses API has no paused turns")

    def _request(self, items: list[dict[str, Any]], instructions: str, **extra: Any) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model,
            "instructions": instructions,
            "input": items,
            "max_output_tokens": self.config.max_tokens_per_call,
            "store": False,
            "include": ["reasoning.encrypted_content"],
            "prompt_cache_key": self._cache_key,
            **extra,
        }
        if self.config.temperature is not None:
            request["temperature"] = self.config.temperature
        return request

    def _step_request(self) -> dict[str, Any]:
        items: list[dict[str, Any]] = [{"role": "user", "content": self.conv.head()}]
        for ex in self.conv.exchanges:
            items += [*ex.assistant, *ex.follow]
        if self.conv.note and items[-1].get("type") in {"function_call_output", None}:
            items.append({"role": "user", "content": self.conv.note})
        extra = {"tools": self._tools} if self._tools else {}
        return self._request(items, self._system, **extra)

    def _send(self, request: dict[str, Any]) -> Any:
        return self._client.responses.create(**request)

    # ------------------------------------------------------------ responses

    def _parse(self, response: Any, request_chars: int) -> ParsedReply:
        status = getattr(response, "status", None) or "completed"
        reason = getattr(getattr(response, "incomplete_details", None), "reason", None) or ""
        if status in {"failed", "cancelled", "queued", "in_progress"}:
            error = getattr(response, "error", None)
            detail = f": {getattr(error, 'code', '')} {getattr(error, 'message', '')}".rstrip() if error else ""
            raise AgentError(f"{self.name} {self.model}: response {status}{detail}")
        outcome: Outcome = INCOMPLETE_OUTCOMES.get(reason, "truncated") if status == "incomplete" else "ok"
        texts: list[str] = []
        calls: list[ToolCall] = []
        for item in response.output or []:
            kind = getattr(item, "type", "")
            if kind == "message":
                for part in getattr(item, "content", None) or []:
                    if getattr(part, "type", "") == "output_text":
                        texts.append(part.text)
                    elif getattr(part, "type", "") == "refusal":
                        outcome = "refused"
            elif kind == "function_call":
                arguments, error = parse_arguments(item.arguments)
                calls.append(ToolCall(id=item.call_id, name=item.name, arguments=arguments, parse_error=error))
        if outcome == "truncated" and calls and calls[-1].parse_error is None:
            calls[-1] = calls[-1].model_copy(
                update={"parse_error": "tool call cut off at max_tokens_per_call; arguments may be incomplete"}
            )
        usage = response.usage
        details = getattr(usage, "input_tokens_details", None)
        text = "".join(texts)
        return ParsedReply(
            text=text,
            tool_calls=calls,
            stop_reason=f"{status}:{reason}" if reason else status,
            input_tokens=int(usage.input_tokens) if usage else self.meter.estimate_input_tokens(request_chars),
            output_tokens=int(usage.output_tokens) if usage else 0,
            cached_tokens=int(getattr(details, "cached_tokens", 0) or 0),
            outcome=outcome,
            json_answer=text or None,
        )

    # ------------------------------------------------------------ complete_json

    def _json_request(self, system: str, user: str, schema: type[BaseModel]) -> dict[str, Any]:
        self._cache_key = "evotrain-" + hashlib.sha256(system.encode()).hexdigest()[:24]
        fmt: dict[str, Any] = {"type": "json_object"}
        if self.config.json_mode == "json_schema":
            fmt = {"type": "json_schema", "name": _SCHEMA_NAME.sub("_", schema.__name__)[:64],
                   "schema": schema.model_json_schema(), "strict": False}
        extra = {} if self.config.json_mode == "prompt" else {"text": {"format": fmt}}
        return self._request([{"role": "user", "content": user}], f"{system}\n\n{json_instructions(schema)}", **extra)

    def _json_feedback(self, request: dict[str, Any], response: Any, error: str) -> dict[str, Any]:
        feedback = {"role": "user", "content": retry_feedback(error)}
        items = [*request["input"], *self._assistant_native(response), feedback]
        return {**request, "input": items}
