"""DSPy (lm15) <-> cascade conversion: one payload builder, one response formatter, one stream formatter.

The sync and async engines differ only in the cascade call; everything else is here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from dspy import lm15

from cascadeflow_core import (
    AdmissionError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    CascadeError,
    CascadeResult,
    ConfigError,
    ContentPolicyError,
    ContextWindowError,
    GuardrailError,
    InputError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServiceUnavailableError,
    StreamEvent,
    UserRateLimitError,
)

from ._shape import answer_shape

__all__ = ["StreamFormatter", "build_call", "to_lm15_error", "to_response", "trace_of"]

TRACE_KEY = "cascadeflow"
_FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_call",
    "tool_call": "tool_call",
    "function_call": "tool_call",
    "content_filter": "content_filter",
}


# --- request -------------------------------------------------------------------------------------


def _part_content(part: Any) -> dict[str, Any] | None:
    """One lm15 prompt part as an OpenAI content part (``None`` for parts a prompt does not carry)."""
    if isinstance(part, lm15.TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, lm15.DataPart):
        return {"type": "text", "text": json.dumps(part.value, ensure_ascii=False)}
    if isinstance(part, lm15.ImagePart):
        if part.url:
            url = part.url
        elif part.data is not None:
            url = f"data:{part.media_type};base64,{part.data}"
        else:
            raise lm15.UnsupportedFeatureError(
                "the cascade engine sends images by url or inline data only", feature="messages.image"
            )
        return {"type": "image_url", "image_url": {"url": url}}
    if isinstance(part, (lm15.ThinkingPart, lm15.RefusalPart, lm15.CitationPart)):
        return None
    raise lm15.UnsupportedFeatureError(
        f"the cascade engine cannot send a {part.type!r} part", feature=f"messages.{part.type}"
    )


def _content(parts: Any) -> str | list[dict[str, Any]]:
    if isinstance(parts, str):
        return parts
    items = [c for c in (_part_content(p) for p in parts) if c is not None]
    if all(c["type"] == "text" for c in items):
        return "".join(c["text"] for c in items)
    return items


def _tool_result_text(part: lm15.ToolResultPart) -> str:
    content = _content(part.content)
    text = content if isinstance(content, str) else json.dumps(content)
    return f"Error: {text}" if part.is_error else text


def _messages(request: lm15.Request) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if request.system is not None:
        out.append({"role": "system", "content": _content(request.system)})
    for m in request.messages:
        if m.role == "tool":
            for p in m.parts:
                if isinstance(p, lm15.ToolResultPart):
                    out.append({"role": "tool", "tool_call_id": p.id, "content": _tool_result_text(p)})
            continue
        calls = [p for p in m.parts if isinstance(p, lm15.ToolCallPart)]
        msg: dict[str, Any] = {"role": m.role, "content": _content([p for p in m.parts if p not in calls])}
        if calls:
            msg["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.input)},
                }
                for c in calls
            ]
            msg["content"] = msg["content"] or None
        out.append(msg)
    return out


def _tools(request: lm15.Request) -> list[dict[str, Any]] | None:
    tools = []
    for t in request.tools:
        if not isinstance(t, lm15.FunctionTool):
            raise lm15.UnsupportedFeatureError(
                f"hosted tool {t.name!r} cannot run through a cascade", feature="tools"
            )
        fn: dict[str, Any] = {"name": t.name, "parameters": t.parameters}
        if t.description:
            fn["description"] = t.description
        tools.append({"type": "function", "function": fn})
    return tools or None


def _tool_choice(choice: lm15.ToolChoice | None) -> Any:
    if choice is None:
        return None
    if choice.mode == "required" and len(choice.allowed) == 1:
        return {"type": "function", "function": {"name": choice.allowed[0]}}
    return choice.mode


def _response_format(fmt: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not fmt:
        return None
    if fmt.get("type") == "json_object":
        return {"type": "json_object"}
    inner: dict[str, Any] = {"name": fmt.get("name") or "response", "schema": fmt["schema"]}
    if "strict" in fmt:
        inner["strict"] = fmt["strict"]
    return {"type": "json_schema", "json_schema": inner}


def _params(config: lm15.Config) -> dict[str, Any]:
    if config.probabilities is not None:
        raise lm15.UnsupportedFeatureError(
            "probabilities are not available through a cascade", feature="config.probabilities"
        )
    params: dict[str, Any] = {
        k: getattr(config, k)
        for k in ("top_p", "top_k", "seed", "frequency_penalty", "presence_penalty")
        if getattr(config, k) is not None
    }
    if config.logprobs is not None:
        params["logprobs"] = True
        if config.logprobs > 0:
            params["top_logprobs"] = config.logprobs
    if config.reasoning is not None and getattr(config.reasoning, "effort", None) not in (None, "off"):
        params["reasoning_effort"] = config.reasoning.effort
    params.update(config.extensions or {})
    return params


def build_call(
    request: lm15.Request, defaults: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The ``(messages, keyword arguments)`` of one cascade call for an lm15 ``Request``.

    ``defaults`` hold the engine's ``user`` and ``tags``; ``Config.user_id`` is the user when none is set.
    The signature's output fields, read from the prompt, ride along as the request's ``answer_shape``.
    """
    cfg = request.config
    messages = _messages(request)
    kw: dict[str, Any] = {
        "tools": _tools(request),
        "tool_choice": _tool_choice(cfg.tool_choice),
        "response_format": _response_format(cfg.response_format),
        "temperature": cfg.temperature,
        "max_tokens": cfg.max_tokens,
        "stop": list(cfg.stop) or None,
        "user": defaults.get("user") or cfg.user_id,
        "tags": defaults.get("tags") or None,
        **_params(cfg),
        "answer_shape": answer_shape(messages),
    }
    if kw["tools"] is None:
        kw["tool_choice"] = None
    return messages, {k: v for k, v in kw.items() if v is not None}


# --- response ------------------------------------------------------------------------------------


def _args(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return {"_unparsed_arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}


def _json(data: Any) -> Any:
    # lm15 accepts strict JSON only (lists, not tuples): round-trip once.
    return json.loads(json.dumps(data, default=str))


def _usage(result: CascadeResult) -> lm15.Usage:
    if result.cached:  # a cascade cache hit bills nothing, as DSPy's own cache hits do
        return lm15.Usage(input_tokens=0, output_tokens=0)
    return lm15.Usage(input_tokens=result.input_tokens, output_tokens=result.output_tokens)


def _finish(result: CascadeResult) -> str:
    if result.tool_calls:
        return "tool_call"
    return _FINISH.get(result.finish_reason or "stop", "stop")


def to_response(result: CascadeResult) -> lm15.Response:
    """An lm15 ``Response`` from a cascade result; the trace rides in ``provider_data["cascadeflow"]``."""
    parts: list[Any] = [lm15.TextPart(result.text)] if result.text or not result.tool_calls else []
    parts += [lm15.ToolCallPart(id=c.id, name=c.name, input=_args(c.arguments)) for c in result.tool_calls]
    return lm15.Response(
        id=result.request_id or None,
        model=result.model or "cascade",
        message=lm15.Message.assistant(parts),
        finish_reason=_finish(result),
        usage=_usage(result),
        provider_data={TRACE_KEY: _json(result.to_dict())},
    )


def trace_of(response: Any) -> dict[str, Any] | None:
    """The cascade trace carried by an lm15 ``Response`` (``None`` when it has none)."""
    data = getattr(response, "provider_data", None)
    trace = data.get(TRACE_KEY) if isinstance(data, Mapping) else None
    return trace if isinstance(trace, dict) else None


class StreamFormatter:
    """Turns cascade ``StreamEvent``s into lm15 stream events (start, text deltas, tool calls, end).

    lm15 streams cannot withdraw text, so with ``stream_mode="optimistic"`` an escalation after text was
    emitted ends the stream with an error; the default ``"buffered"`` mode never withdraws text.
    """

    def __init__(self) -> None:
        self.started = False
        self.text = ""
        self.calls_sent = False

    def feed(self, event: StreamEvent) -> Iterator[Any]:
        if not self.started:
            self.started = True
            yield lm15.StreamStartEvent()
        if event.type == "delta" and event.text:
            self.text += event.text
            yield lm15.StreamDeltaEvent(delta=lm15.TextDelta(text=event.text, part_index=0))
        elif event.type == "escalation" and self.text:
            raise lm15.ServerError(
                f"the cascade withdrew streamed text ({event.reason}); DSPy streams cannot "
                "withdraw text: use CascadeOptions(stream_mode='buffered')"
            )
        elif event.type == "final" and event.result is not None:
            yield from self._end(event.result)

    def _end(self, result: CascadeResult) -> Iterator[Any]:
        if result.text.startswith(self.text) and len(result.text) > len(self.text):
            yield lm15.StreamDeltaEvent(
                delta=lm15.TextDelta(text=result.text[len(self.text) :], part_index=0)
            )
        first = 1 if (result.text or self.text) else 0
        for i, c in enumerate(result.tool_calls):
            yield lm15.StreamDeltaEvent(
                delta=lm15.ToolCallDelta(
                    input=json.dumps(_args(c.arguments)), part_index=first + i, id=c.id, name=c.name
                )
            )
        yield lm15.StreamEndEvent(
            finish_reason=_finish(result),
            usage=_usage(result),
            provider_data={TRACE_KEY: _json(result.to_dict())},
        )


# --- errors --------------------------------------------------------------------------------------

_ERRORS: tuple[tuple[type[BaseException], type[lm15.LM15Error]], ...] = (
    (ContextWindowError, lm15.ContextLengthError),
    (AuthenticationError, lm15.AuthError),
    (RateLimitError, lm15.RateLimitError),
    (UserRateLimitError, lm15.RateLimitError),
    (BudgetExceededError, lm15.BillingError),
    (ProviderTimeoutError, lm15.TimeoutError),
    (ProviderConnectionError, lm15.TransportError),
    (ServiceUnavailableError, lm15.ServerError),
    (ContentPolicyError, lm15.InvalidRequestError),
    (BadRequestError, lm15.InvalidRequestError),
    (InputError, lm15.InvalidRequestError),
    (GuardrailError, lm15.InvalidRequestError),
    (ConfigError, lm15.ConfigurationError),
    (AdmissionError, lm15.BillingError),
    (ProviderError, lm15.ProviderError),
)


def to_lm15_error(error: CascadeError) -> lm15.LM15Error:
    """The lm15 error DSPy projects onto its own ``LMError`` tree (the cascade error stays its ``__cause__``).

    ``ExhaustedError`` and other cascade errors become a non-retryable ``lm15.ProviderError``: the
    cascade has already retried and fallen through its tiers.
    """
    target = next((t for source, t in _ERRORS if isinstance(error, source)), lm15.ProviderError)
    retry_after = getattr(error, "retry_after", None)
    kwargs: dict[str, Any] = {
        "provider": "cascadeflow",
        "status": getattr(error, "status", None),
        "retry_after": float(retry_after) if isinstance(retry_after, (int, float)) else None,
    }
    if target is lm15.ConfigurationError:
        kwargs = {"provider": "cascadeflow"}
    return target(f"{type(error).__name__}: {error}", **kwargs)
