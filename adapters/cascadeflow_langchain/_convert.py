"""LangChain <-> cascade conversion: one payload builder, one result formatter, one stream formatter.

``ChatCascade._generate`` / ``_agenerate`` / ``_stream`` / ``_astream`` all go through these functions,
so the only line that differs between them is the cascade call itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import ToolCallChunk, tool_call_chunk
from langchain_core.messages.utils import convert_to_openai_messages
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from cascadeflow_core import CascadeResult, InputError, InvalidToolCall, StreamEvent, ToolCall

__all__ = [
    "Payload",
    "StreamFormatter",
    "build_payload",
    "chat_result",
    "response_metadata",
    "to_openai_messages",
    "tool_call_dicts",
    "usage_by_model",
    "usage_metadata",
]

PROVIDER = "cascadeflow"
# Tags LangChain / LangGraph add to runs for their own bookkeeping: never booked as cascade tags.
_INTERNAL_TAG_PREFIXES = ("seq:", "graph:", "langsmith:", "map:", "branch:", "langgraph:")
# Keyword arguments LangChain passes to ``_generate`` for its own use, never for the provider.
_LANGCHAIN_ONLY = frozenset({"ls_structured_output_format", "stream_usage"})
_USER_KEYS = ("user_id", "user")


def to_openai_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages as OpenAI chat messages (text, images, tool calls, tool results, names)."""
    out = convert_to_openai_messages(list(messages))
    converted = out if isinstance(out, list) else [out]
    for m in converted:
        # Providers reject an assistant turn with empty text *and* tool calls less often with ``None``.
        if m.get("role") == "assistant" and m.get("tool_calls") and not m.get("content"):
            m["content"] = None
    return converted


@dataclass(frozen=True)
class Payload:
    """What one ``Cascade`` call receives: OpenAI messages, request kwargs, and a per-call model override."""

    messages: list[dict[str, Any]]
    kwargs: dict[str, Any]
    model: str | None = None


def _run_context(run_manager: Any) -> tuple[str | None, tuple[str, ...]]:
    """The user id and the tags a caller gave through ``config={"metadata": ..., "tags": ...}``."""
    if run_manager is None:
        return None, ()
    md = getattr(run_manager, "metadata", None) or {}
    user = next((md[k] for k in _USER_KEYS if isinstance(md.get(k), str)), None)
    tags = tuple(
        t
        for t in (getattr(run_manager, "tags", None) or ())
        if isinstance(t, str) and not t.startswith(_INTERNAL_TAG_PREFIXES)
    )
    return user, tags


def build_payload(
    defaults: Mapping[str, Any],
    messages: Sequence[BaseMessage],
    stop: Sequence[str] | None,
    kwargs: Mapping[str, Any],
    run_manager: Any = None,
) -> Payload:
    """The ``Cascade.complete`` / ``acomplete`` / ``stream`` / ``astream`` call for one LangChain call.

    ``defaults`` are the chat model's own settings (temperature, max_tokens, stop, user, provider kwargs);
    call kwargs (``bind``, ``invoke(..., **kw)``) override them. The user id comes from the ``user`` /
    ``user_id`` kwarg, else ``config["metadata"]["user_id"]``, else the model's ``user``; cascade tags
    from the ``cascade_tags`` kwarg plus the run's own tags (``config["tags"]``, the model's ``tags``).
    """
    merged = {**defaults, **{k: v for k, v in kwargs.items() if k not in _LANGCHAIN_ONLY}}
    if stop:
        merged["stop"] = list(stop)
    model = merged.pop("model", None)
    run_user, run_tags = _run_context(run_manager)
    user = merged.pop("user_id", None) or merged.pop("user", None) or run_user or defaults.get("user")
    extra = merged.pop("cascade_tags", None) or ()
    tags = tuple(dict.fromkeys([*run_tags, *((extra,) if isinstance(extra, str) else extra)]))
    merged.update(user=user, tags=tags or None)
    if model is not None and not isinstance(model, str):
        raise InputError(f"model override must be a model string, got {type(model).__name__}")
    out = {k: v for k, v in merged.items() if v is not None and not (k == "stop" and not v)}
    return Payload(to_openai_messages(messages), out, model)


def _parse_args(arguments: str) -> dict[str, Any] | None:
    try:
        value = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def tool_call_dicts(
    calls: Sequence[ToolCall], rejected: Sequence[InvalidToolCall] = ()
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """LangChain ``tool_calls`` and ``invalid_tool_calls``.

    Invalid: the calls the cascade rejected (``rejected``: the last tier's calls that break the bound
    tools, e.g. an unknown tool or arguments not fitting its schema) and calls whose arguments are not
    a JSON object. An agent executes only ``tool_calls``.
    """
    valid: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = [
        {"name": c.name, "args": c.arguments, "id": c.id, "error": c.error, "type": "invalid_tool_call"}
        for c in rejected
    ]
    for c in calls:
        args = _parse_args(c.arguments)
        if args is None:
            invalid.append(
                {
                    "name": c.name,
                    "args": c.arguments,
                    "id": c.id,
                    "error": "arguments are not a JSON object",
                    "type": "invalid_tool_call",
                }
            )
        else:
            valid.append({"name": c.name, "args": args, "id": c.id, "type": "tool_call"})
    return valid, invalid


def usage_metadata(result: CascadeResult) -> UsageMetadata:
    """Tokens of every call the cascade made for this answer (rejected drafts included: they were billed)."""
    return UsageMetadata(
        input_tokens=result.input_tokens,
        output_tokens=result.output_tokens,
        total_tokens=result.input_tokens + result.output_tokens,
    )


def usage_by_model(result: CascadeResult) -> dict[str, dict[str, Any]]:
    """Tokens and dollars per model for one answer, every call counted (rejected drafts and errors too).

    ``cost`` is ``None`` for a model whose price is unknown. Cache hits count no tokens.
    """
    out: dict[str, dict[str, Any]] = {}
    for a in result.attempts:
        row = out.setdefault(
            a.model, {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0, "calls": 0, "cost": 0.0}
        )
        row["calls"] += 0 if a.cached else 1
        if not a.cached:
            row["input_tokens"] += a.input_tokens
            row["output_tokens"] += a.output_tokens
            row["total_tokens"] += a.input_tokens + a.output_tokens
        cost = getattr(a, "cost", None)
        row["cost"] = None if cost is None or row["cost"] is None else row["cost"] + cost
    return out


def response_metadata(result: CascadeResult) -> dict[str, Any]:
    """JSON-ready cascade trace: who answered, whether it escalated, what it cost, and why."""
    accepted = result.accepted_attempt
    return {
        "model_name": result.model,
        "model_provider": PROVIDER,
        "finish_reason": result.finish_reason,
        "tier": result.tier,
        "escalated": result.escalated,
        "cached": result.cached,
        "cost": result.cost,
        "verifier_cost": result.verifier_cost,
        "savings": result.savings,
        "reasons": list(accepted.reasons) if accepted is not None else [],
        "attempts": [a.describe() for a in result.attempts],
        "usage_by_model": usage_by_model(result),
        "request_id": result.request_id,
        "cascade": result.to_dict(),
    }


def chat_result(result: CascadeResult) -> ChatResult:
    """A ``ChatResult`` whose ``AIMessage`` carries tool calls, usage and the cascade trace."""
    valid, invalid = tool_call_dicts(result.tool_calls, result.invalid_tool_calls)
    meta = response_metadata(result)
    message = AIMessage(
        content=result.text,
        tool_calls=valid,
        invalid_tool_calls=invalid,
        usage_metadata=usage_metadata(result),
        response_metadata=meta,
        id=f"run-cascade-{result.request_id}" if result.request_id else None,
    )
    usage = dict(usage_metadata(result))
    llm_output = {
        "model_name": result.model,
        "token_usage": {
            "prompt_tokens": usage["input_tokens"],
            "completion_tokens": usage["output_tokens"],
            "total_tokens": usage["total_tokens"],
        },
        "cost": result.cost,
    }
    generation = ChatGeneration(message=message, generation_info={"finish_reason": result.finish_reason})
    return ChatResult(generations=[generation], llm_output=llm_output)


class StreamFormatter:
    """Turns cascade ``StreamEvent``s into ``ChatGenerationChunk``s.

    ``delta`` -> a text chunk (the only kind reported through ``on_llm_new_token``); ``tool_call`` ->
    one ``tool_call_chunks`` entry per validated call; ``escalation`` (optimistic stream mode only: text
    already shown was withdrawn) -> an empty chunk whose ``response_metadata`` says
    ``{"cascade_event": "escalation", "reason": ...}``; ``final`` -> the last chunk
    (``chunk_position="last"``) with usage and the cascade trace.
    """

    def __init__(self, usage: bool = True) -> None:
        self.calls = 0
        self.usage = usage

    def feed(self, event: StreamEvent) -> ChatGenerationChunk | None:
        if event.type == "delta":
            return ChatGenerationChunk(message=AIMessageChunk(content=event.text))
        if event.type == "tool_call":
            chunks: list[ToolCallChunk] = []
            for c in event.tool_calls:
                chunks.append(
                    tool_call_chunk(name=c.name, args=c.arguments or "{}", id=c.id, index=self.calls)
                )
                self.calls += 1
            return ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=chunks))
        if event.type == "escalation":
            meta = {"cascade_event": "escalation", "reason": event.reason, "withdrawn_model": event.model}
            return ChatGenerationChunk(message=AIMessageChunk(content="", response_metadata=meta))
        if event.type == "final" and event.result is not None:
            r = event.result
            message = AIMessageChunk(
                content="",
                usage_metadata=usage_metadata(r) if self.usage else None,
                chunk_position="last",
                response_metadata=response_metadata(r),
            )
            return ChatGenerationChunk(message=message, generation_info={"finish_reason": r.finish_reason})
        return None
