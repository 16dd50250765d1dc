"""Anthropic backend: the Messages API with tool use, through the official `anthropic` SDK.

Tools go out as `tools=[{name, description, input_schema}]`; `tool_use` blocks come back as
ToolCalls; results go back as `tool_result` blocks in the next user message. complete_json forces a
`respond` tool whose input_schema is the answer's JSON Schema.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import anthropic
from pydantic import BaseModel

from llm.base import ToolCall, ToolResult, ToolSpec
from llm.chat_base import LLMBackendBase, Outcome, ParsedReply, parse_arguments
from llm.common import Secret, json_instructions, retry_feedback

RESPOND_TOOL = "respond"
# Messages API stop reasons -> outcome (llm/chat_base.py defines what each outcome does); an unknown
# future stop reason is treated as a normal end of turn.
STOP_OUTCOMES: dict[str, Outcome] = {
    "end_turn": "ok",
    "tool_use": "ok",
    "stop_sequence": "ok",
    "max_tokens": "truncated",
    "pause_turn": "pause",
    "refusal": "refused",
    "model_context_window_exceeded": "overflow",
}


class AnthropicAgent(LLMBackendBase):
    name = "anthropic"
    default_key_env = "ANTHROPIC_API_KEY"

    @property
    def sdk(self) -> ModuleType:
        return anthropic

    def _make_client(self, secret: Secret) -> anthropic.Anthropic:
        # SDK retries off: call_with_retries owns the policy so backoff and counts are ours.
        return anthropic.Anthropic(
            api_key=secret.reveal(),
            base_url=self.config.base_url,
            max_retries=0,
            timeout=self.config.timeout_s,
        )

    # ------------------------------------------------------------ conversation

    def _reset_conversation(self, system: str, tools: list[ToolSpec]) -> None:
        self._system = system
        self._tools = [{"name": t.name, "description": t.description, "input_schema": t.parameters} for t in tools]

    def _text_native(self, text: str) -> list[dict[str, Any]]:
        return [{"role": "user", "content": [{"type": "text", "text": text}]}]

    def _results_native(self, pending: list[ToolCall], results: dict[str, ToolResult]) -> list[dict[str, Any]]:
        # Every tool_use needs a tool_result in the very next user message, or the API rejects it.
        blocks = []
        for call in pending:
            result = results.get(call.id)
            content = result.content if result else "tool call was not executed"
            ok = result.ok if result else False
            block: dict[str, Any] = {"type": "tool_result", "tool_use_id": call.id, "content": content}
            if not ok:
                block["is_error"] = True
            blocks.append(block)
        return [{"role": "user", "content": blocks}]

    def _assistant_native(self, response: Any) -> list[dict[str, Any]]:
        return [{"role": "assistant", "content": _assistant_blocks(response)}]

    def _request(self, messages: list[dict[str, Any]], system: str | list[dict[str, Any]],
                 **extra: Any) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.config.max_tokens_per_call,
            "system": system,
            "messages": messages,
            **extra,
        }
        if self.config.temperature is not None:
            # This SDK version has no `temperature` argument; the API still accepts it for most models.
            request["extra_body"] = {"temperature": self.config.temperature}
        return request

    def _step_request(self) -> dict[str, Any]:
        """Cache breakpoints (at most 4): the tools, the system prompt, the brief+summary head (stable
        until the next compaction) and the newest tool results (the conversation prefix for the next turn)."""
        cache = self.config.prompt_cache
        mark = {"cache_control": {"type": "ephemeral"}} if cache else {}
        tools = [dict(t) for t in self._tools]
        if tools and cache:
            tools[-1] = {**tools[-1], **mark}
        system: str | list[dict[str, Any]] = [{"type": "text", "text": self._system, **mark}] if cache else self._system
        head = {"role": "user", "content": [{"type": "text", "text": self.conv.head(), **mark}]}
        messages: list[dict[str, Any]] = [head]
        for ex in self.conv.exchanges:
            # copies: cache marks and the note are per request, never stored in the conversation
            messages += [{**m, "content": list(m["content"])} for m in [*ex.assistant, *ex.follow]]
        last = messages[-1]
        if last["role"] == "user":
            if cache and len(messages) > 1:
                last["content"][-1] = {**last["content"][-1], **mark}
            if self.conv.note:
                last["content"].append({"type": "text", "text": self.conv.note})
        extra = {"tools": tools} if tools else {}
        return self._request(messages, system, **extra)

    def _send(self, request: dict[str, Any]) -> Any:
        return self._client.messages.create(**request)

    # ------------------------------------------------------------ responses

    def _parse(self, response: Any, request_chars: int) -> ParsedReply:
        texts: list[str] = []
        calls: list[ToolCall] = []
        answer: Any = None
        for block in response.content or []:
            kind = getattr(block, "type", "")
            if kind == "text":
                texts.append(block.text)
            elif kind == "tool_use":
                arguments, error = parse_arguments(block.input)
                calls.append(ToolCall(id=block.id, name=block.name, arguments=arguments, parse_error=error))
                if block.name == RESPOND_TOOL and answer is None:
                    answer = block.input
        stop_reason = response.stop_reason or ""
        outcome = STOP_OUTCOMES.get(stop_reason, "ok")
        if outcome == "truncated" and calls and calls[-1].parse_error is None:
            # The last tool call may have been cut off mid-arguments: never run a truncated call.
            calls[-1] = calls[-1].model_copy(
                update={"parse_error": "tool call cut off at max_tokens_per_call; arguments may be incomplete"}
            )
        usage = response.usage
        read = int(getattr(usage, "cache_read_input_tokens", 0) or 0)
        written = int(getattr(usage, "cache_creation_input_tokens", 0) or 0)
        return ParsedReply(
            text="".join(texts),
            tool_calls=calls,
            stop_reason=stop_reason,
            input_tokens=int(usage.input_tokens) + read + written,
            output_tokens=int(usage.output_tokens),
            json_answer=answer,
            cached_tokens=read,
            cache_write_tokens=written,
            outcome=outcome,
        )

    # ------------------------------------------------------------ complete_json

    def _json_request(self, system: str, user: str, schema: type[BaseModel]) -> dict[str, Any]:
        tool = {
            "name": RESPOND_TOOL,
            "description": f"Give the answer as a {schema.__name__} object.",
            "input_schema": schema.model_json_schema(),
        }
        prompt = f"{system}\n\n{json_instructions(schema)}\nGive it as the input of the `{RESPOND_TOOL}` tool."
        return self._request(
            [{"role": "user", "content": user}],
            prompt,
            tools=[tool],
            tool_choice={"type": "tool", "name": RESPOND_TOOL},
        )

    def _json_feedback(self, request: dict[str, Any], response: Any, error: str) -> dict[str, Any]:
        messages = [*request["messages"], {"role": "assistant", "content": _assistant_blocks(response)}]
        tool_ids = [b.id for b in response.content or [] if getattr(b, "type", "") == "tool_use"]
        if tool_ids:
            messages.append(
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": i, "content": retry_feedback(error), "is_error": True}
                        for i in tool_ids
                    ],
                }
            )
        else:
            messages.append({"role": "user", "content": retry_feedback(error)})
        return {**request, "messages": messages}


def _assistant_blocks(response: Any) -> list[dict[str, Any]]:
    """The assistant turn as request blocks (minimal fields; empty text blocks are not allowed)."""
    blocks: list[dict[str, Any]] = []
    for block in response.content or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            if block.text:
                blocks.append({"type": "text", "text": block.text})
        elif kind == "tool_use":
            tool_input = block.input if isinstance(block.input, dict) else {"_raw": json.dumps(block.input)}
            blocks.append({"type": "tool_use", "id": block.id, "name": block.name, "input": tool_input})
        else:  # e.g. thinking blocks must be echoed back unchanged
            blocks.append(block.model_dump(exclude_none=True))
    return blocks or [{"type": "text", "text": "(no content)"}]
