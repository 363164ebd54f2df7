"""LlamaIndex <-> cascade conversion: one payload builder, one response formatter, one stream formatter.

``CascadeLLM``'s sync, async and streaming methods all go through these functions, so the only line that
differs between them is the cascade call itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.llms.llm import ToolSelection

from cascadeflow_core import CascadeResult, InputError, StreamEvent, ToolCall

__all__ = [
    "StreamFormatter",
    "build_payload",
    "chat_response",
    "completion_response",
    "to_openai_messages",
    "tool_selections",
    "trace_kwargs",
]

_ROLE_MAP = {"chatbot": "assistant", "model": "assistant"}
# Blocks that carry no content a provider should see (prompt-cache markers, earlier reasoning).
_SKIPPED_BLOCKS = ("cache", "thinking")


def _image_part(block: ImageBlock) -> dict[str, Any]:
    if block.url is not None:
        url = str(block.url)
    else:
        data = block.resolve_image(as_base64=True).read().decode("ascii")
        url = f"data:{block.image_mimetype or 'image/png'};base64,{data}"
    part: dict[str, Any] = {"type": "image_url", "image_url": {"url": url}}
    if block.detail:
        part["image_url"]["detail"] = block.detail
    return part


def _content(message: ChatMessage, index: int) -> tuple[str | list[dict[str, Any]], list[ToolCallBlock]]:
    """The OpenAI ``content`` of a LlamaIndex message, and its tool-call blocks."""
    parts: list[dict[str, Any]] = []
    calls: list[ToolCallBlock] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            parts.append(_image_part(block))
        elif isinstance(block, ToolCallBlock):
            calls.append(block)
        elif isinstance(block, ThinkingBlock) or block.block_type in _SKIPPED_BLOCKS:
            continue
        else:
            raise InputError(
                f"messages[{index}] has a {block.block_type!r} block, which CascadeLLM cannot send; "
                "use text or image blocks (or extract the document's text first)"
            )
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts), calls
    return parts, calls


def _call_to_openai(call: Any, i: int) -> dict[str, Any]:
    if isinstance(call, ToolCallBlock):
        args = call.tool_kwargs if isinstance(call.tool_kwargs, str) else json.dumps(call.tool_kwargs)
        return {
            "id": call.tool_call_id or f"call_{i}",
            "type": "function",
            "function": {"name": call.tool_name, "arguments": args},
        }
    # Legacy form: additional_kwargs["tool_calls"] holding OpenAI dicts or SDK objects.
    get = call.get if isinstance(call, Mapping) else lambda k, d=None: getattr(call, k, d)
    fn = get("function") or {}
    fget = fn.get if isinstance(fn, Mapping) else lambda k, d=None: getattr(fn, k, d)
    args = fget("arguments", "{}")
    return {
        "id": get("id") or f"call_{i}",
        "type": "function",
        "function": {
            "name": fget("name", ""),
            "arguments": args if isinstance(args, str) else json.dumps(args),
        },
    }


def to_openai_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """LlamaIndex chat messages as OpenAI-format dicts (text, images, tool calls, tool results)."""
    out: list[dict[str, Any]] = []
    for i, m in enumerate(messages):
        role = m.role.value if isinstance(m.role, MessageRole) else str(m.role)
        role = _ROLE_MAP.get(role, role)
        content, blocks = _content(m, i)
        msg: dict[str, Any] = {"role": role, "content": content}
        legacy_calls = m.additional_kwargs.get("tool_calls")
        calls = blocks or list(legacy_calls or ())
        if calls:
            msg["tool_calls"] = [_call_to_openai(c, j) for j, c in enumerate(calls)]
            msg["content"] = content or None
        if role == "tool":
            msg["tool_call_id"] = (
                m.additional_kwargs.get("tool_call_id") or m.additional_kwargs.get("id") or ""
            )
        if m.additional_kwargs.get("name"):
            msg["name"] = m.additional_kwargs["name"]
        out.append(msg)
    return out


def build_payload(
    defaults: Mapping[str, Any], messages: Sequence[ChatMessage], kwargs: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The ``(messages, keyword arguments)`` of one ``Cascade.complete`` / ``acomplete`` / ``stream`` call.

    ``defaults`` are the LLM's own settings (temperature, max_tokens, user, tags, extra provider kwargs);
    call kwargs override them. ``None`` values are dropped so the cascade's own defaults apply.
    """
    merged = {**defaults, **kwargs}
    if "tags" in merged and merged["tags"] is not None:
        merged["tags"] = tuple(merged["tags"])
    return to_openai_messages(messages), {k: v for k, v in merged.items() if v is not None}


def trace_kwargs(result: CascadeResult) -> dict[str, Any]:
    """JSON-ready summary of the cascade trace carried in ``additional_kwargs``."""
    return {
        "prompt_tokens": result.input_tokens,
        "completion_tokens": result.output_tokens,
        "total_tokens": result.input_tokens + result.output_tokens,
        "cost": result.cost,
        "verifier_cost": result.verifier_cost,
        "savings": result.savings,
        "model": result.model,
        "tier": result.tier,
        "escalated": result.escalated,
        "cached": result.cached,
        "reasons": [a.describe() for a in result.attempts],
        "route": list(result.route),
        "request_id": result.request_id,
        # Calls the last tier made that break the bound tools: not ToolCallBlocks, never executed.
        "invalid_tool_calls": [c.to_dict() for c in result.invalid_tool_calls],
    }


def _raw(result: CascadeResult) -> dict[str, Any]:
    # A dict, so LlamaIndex's TokenCountingHandler can read ``usage``; ``result`` is the live trace object.
    usage = {
        "prompt_tokens": result.input_tokens,
        "completion_tokens": result.output_tokens,
        "total_tokens": result.input_tokens + result.output_tokens,
    }
    return {"usage": usage, "cost": result.cost, "trace": result.to_dict(), "result": result}


def _blocks(text: str, calls: Sequence[ToolCall]) -> list[Any]:
    blocks: list[Any] = [TextBlock(text=text)] if text or not calls else []
    for c in calls:
        blocks.append(
            ToolCallBlock(tool_call_id=c.id, tool_name=c.name, tool_kwargs=_parse_args(c.arguments))
        )
    return blocks


def _parse_args(arguments: str) -> dict[str, Any] | str:
    try:
        value = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return arguments  # kept verbatim; ToolCallBlock accepts a string
    return value if isinstance(value, dict) else arguments


def chat_response(result: CascadeResult) -> ChatResponse:
    """A ``ChatResponse`` from a cascade result, with usage, cost and the routing trace."""
    message = ChatMessage(role=MessageRole.ASSISTANT, blocks=_blocks(result.text, result.tool_calls))
    return ChatResponse(message=message, raw=_raw(result), additional_kwargs=trace_kwargs(result))


def completion_response(result: CascadeResult) -> CompletionResponse:
    """A ``CompletionResponse`` from a cascade result, with usage, cost and the routing trace."""
    return CompletionResponse(text=result.text, raw=_raw(result), additional_kwargs=trace_kwargs(result))


class StreamFormatter:
    """Turns cascade ``StreamEvent``s into LlamaIndex stream chunks (cumulative text plus ``delta``).

    An ``escalation`` event (text already shown was withdrawn) resets the cumulative text and yields a
    chunk whose ``additional_kwargs`` say ``{"cascade_event": "escalation", "reason": ...}``. The last
    chunk is built from the final ``CascadeResult``: it carries cost, usage and the trace.
    """

    def __init__(self, kind: Literal["chat", "completion"]) -> None:
        self.kind = kind
        self.text = ""
        self.calls: tuple[ToolCall, ...] = ()

    def _chunk(self, delta: str, extra: dict[str, Any]) -> ChatResponse | CompletionResponse:
        if self.kind == "completion":
            return CompletionResponse(text=self.text, delta=delta, additional_kwargs=extra)
        message = ChatMessage(role=MessageRole.ASSISTANT, blocks=_blocks(self.text, self.calls))
        return ChatResponse(message=message, delta=delta, additional_kwargs=extra)

    def feed(self, event: StreamEvent) -> ChatResponse | CompletionResponse | None:
        if event.type == "delta":
            self.text += event.text
            return self._chunk(event.text, {"model": event.model})
        if event.type == "tool_call":
            self.calls = tuple(event.tool_calls)
            return self._chunk("", {"model": event.model})
        if event.type == "escalation":
            self.text, self.calls = "", ()
            return self._chunk("", {"cascade_event": "escalation", "reason": event.reason})
        if event.type == "final" and event.result is not None:
            final = chat_response(event.result) if self.kind == "chat" else completion_response(event.result)
            final.delta = (
                event.result.text[len(self.text) :] if event.result.text.startswith(self.text) else ""
            )
            return final
        return None


def tool_selections(response: ChatResponse) -> list[ToolSelection]:
    """The tool calls of a response as LlamaIndex ``ToolSelection``s."""
    calls = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
    if not calls:
        calls = [
            ToolCallBlock(
                tool_call_id=c["id"],
                tool_name=c["function"]["name"],
                tool_kwargs=_parse_args(c["function"]["arguments"]),
            )
            for c in (
                _call_to_openai(x, i)
                for i, x in enumerate(response.message.additional_kwargs.get("tool_calls") or ())
            )
        ]
    out = []
    for i, c in enumerate(calls):
        kwargs = c.tool_kwargs if isinstance(c.tool_kwargs, dict) else _parse_args(c.tool_kwargs)
        out.append(
            ToolSelection(
                tool_id=c.tool_call_id or f"call_{i}",
                tool_name=c.tool_name,
                tool_kwargs=kwargs if isinstance(kwargs, dict) else {},
            )
        )
    return out
