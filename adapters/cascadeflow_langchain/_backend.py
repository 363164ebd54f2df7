"""``LangChainBackend``: any configured LangChain chat model as a cascade model (a core ``ModelBackend``)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelInvalidRequestError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, convert_to_messages
from langchain_core.runnables import RunnableBinding

from cascadeflow_core import (
    AuthenticationError,
    BadRequestError,
    ContextWindowError,
    Draft,
    MalformedResponseError,
    ModelSpec,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    Request,
    ServiceUnavailableError,
    ToolCall,
    warn_unpriced,
)

__all__ = ["LangChainBackend", "map_langchain_error"]

_BY_CLASS: tuple[tuple[type[BaseException], type[ProviderError]], ...] = (
    (ModelRateLimitError, RateLimitError),
    (ModelTimeoutError, ProviderTimeoutError),
    (ModelConnectionError, ProviderConnectionError),
    (ContextOverflowError, ContextWindowError),
    (ModelAuthenticationError, AuthenticationError),
    (ModelInvalidRequestError, BadRequestError),
    (ModelAPIError, ServiceUnavailableError),
    (TimeoutError, ProviderTimeoutError),
    (ConnectionError, ProviderConnectionError),
)
_BY_STATUS = {
    429: RateLimitError,
    401: AuthenticationError,
    403: AuthenticationError,
    400: BadRequestError,
    408: ProviderTimeoutError,
    413: ContextWindowError,
}
# The wrapped model's calls do not report to the caller's callbacks: ChatCascade reports the answer once
# (usage counted once; a rejected draft's tokens never reach on_llm_new_token).
_ISOLATED: Any = {"callbacks": []}
_NAME_RE = re.compile(r"[^\w.\-:@/+]+")


def map_langchain_error(e: BaseException, model: str) -> ProviderError:
    """A LangChain chat model's (or its provider SDK's) exception as the core's typed ``ProviderError``."""
    if isinstance(e, ProviderError):
        return e
    status = getattr(e, "status_code", None) or getattr(getattr(e, "response", None), "status_code", None)
    status = status if isinstance(status, int) else None
    cls: type[ProviderError] = ProviderError
    for lc_cls, core_cls in _BY_CLASS:
        if isinstance(e, lc_cls):
            cls = core_cls
            break
    else:
        if status is not None:
            cls = _BY_STATUS.get(status, ServiceUnavailableError if status >= 500 else BadRequestError)
    err = cls(f"{model}: {type(e).__name__}: {e}", model=model, status=status)
    err.__cause__ = e
    return err


def _usage(message: BaseMessage) -> tuple[int, int]:
    usage = getattr(message, "usage_metadata", None) or {}
    return int(usage.get("input_tokens", 0) or 0), int(usage.get("output_tokens", 0) or 0)


def _tool_calls(message: AIMessage) -> tuple[ToolCall, ...]:
    calls = [
        ToolCall(id=tc.get("id") or f"call_{i}", name=tc["name"], arguments=json.dumps(tc.get("args") or {}))
        for i, tc in enumerate(message.tool_calls)
    ]
    calls += [
        ToolCall(
            id=tc.get("id") or f"call_{len(calls) + i}",
            name=tc.get("name") or "",
            arguments=tc.get("args") or "",
        )
        for i, tc in enumerate(message.invalid_tool_calls)
    ]
    return tuple(calls)


class LangChainBackend:
    """Calls a configured LangChain chat model (e.g. one with special auth) as one model of a cascade.

    Requests are sent as LangChain messages through ``invoke`` / ``ainvoke`` / ``stream`` / ``astream``;
    tools and ``tool_choice`` go through the model's ``bind_tools``; ``stop`` and ``response_format`` are
    passed as call kwargs. The model's own settings (temperature, key, endpoint) are left as configured.
    Usage comes from the answer's ``usage_metadata``; cost from the ``ModelSpec``'s prices.

    Args:
        chat_model: any ``BaseChatModel``.

    Example:
        >>> from langchain_core.language_models import GenericFakeChatModel
        >>> from langchain_core.messages import AIMessage
        >>> fake = GenericFakeChatModel(messages=iter([AIMessage("Paris")]))
        >>> spec = LangChainBackend.spec(fake, name="fake", input_cost_per_token=0.0, output_cost_per_token=0.0)
        >>> spec.backend.complete(spec, Request("Capital of France?")).text
        'Paris'
    """

    def __init__(self, chat_model: BaseChatModel) -> None:
        if not isinstance(chat_model, BaseChatModel):
            raise TypeError(
                f"LangChainBackend wraps a LangChain BaseChatModel, got {type(chat_model).__name__}"
            )
        self.chat_model = chat_model

    def __repr__(self) -> str:
        return f"LangChainBackend({type(self.chat_model).__name__})"

    @staticmethod
    def model_name(chat_model: BaseChatModel) -> str:
        """The ``langchain/<name>`` model string used for a wrapped chat model in traces and the ledger."""
        name = getattr(chat_model, "model_name", None) or getattr(chat_model, "model", None)
        name = name if isinstance(name, str) and name else chat_model._llm_type
        return "langchain/" + (_NAME_RE.sub("-", name).strip("-") or "model")

    @classmethod
    def spec(cls, chat_model: BaseChatModel, **fields: Any) -> ModelSpec:
        """A ``ModelSpec`` for ``chat_model``: ``ModelSpec(model="langchain/<name>", backend=..., **fields)``.

        Give ``input_cost_per_token`` and ``output_cost_per_token`` so its calls are costed; without them
        their cost is unknown (``None``; an ``UnpricedModelWarning`` once): LiteLLM's price map does not
        know a wrapped model.
        """
        fields.setdefault("model", cls.model_name(chat_model))
        return ModelSpec(backend=cls(chat_model), **fields)

    # --- one payload builder, one formatter ------------------------------------------------------------
    def _runnable_and_kwargs(self, request: Request) -> tuple[Any, list[BaseMessage], dict[str, Any]]:
        runnable: Any = self.chat_model
        kwargs: dict[str, Any] = {}
        if request.tools:
            bind_kw: dict[str, Any] = {}
            if request.tool_choice is not None:
                bind_kw["tool_choice"] = _lc_tool_choice(request.tool_choice)
            runnable = self.chat_model.bind_tools([dict(t) for t in request.tools], **bind_kw)
            # Call the model itself with the bound kwargs: a binding would merge the caller's callbacks
            # back into the call's config.
            while isinstance(runnable, RunnableBinding):
                kwargs = {**runnable.kwargs, **kwargs}
                runnable = runnable.bound
        if request.stop:
            kwargs["stop"] = [request.stop] if isinstance(request.stop, str) else list(request.stop)
        if request.response_format is not None:
            kwargs["response_format"] = dict(request.response_format)
        return runnable, convert_to_messages(list(request.messages)), kwargs

    @staticmethod
    def _draft(spec: ModelSpec, message: BaseMessage, t0: float) -> Draft:
        if not isinstance(message, AIMessage):
            raise MalformedResponseError(
                f"{spec.label}: chat model returned {type(message).__name__}, not an AIMessage",
                model=spec.model,
            )
        in_tok, out_tok = _usage(message)
        cost: float | None = None
        if spec.has_prices:
            cost = in_tok * (spec.input_cost_per_token or 0.0) + out_tok * (spec.output_cost_per_token or 0.0)
        else:
            warn_unpriced(spec.label)
        meta = message.response_metadata or {}
        finish = meta.get("finish_reason") or meta.get("stop_reason")
        calls = _tool_calls(message)
        return Draft(
            model=spec.label,
            text=message.text,
            tool_calls=calls,
            finish_reason=finish if isinstance(finish, str) else ("tool_calls" if calls else "stop"),
            input_tokens=in_tok,
            output_tokens=out_tok,
            cost=cost,
            latency_s=time.perf_counter() - t0,
            raw=message,
        )

    # --- the ModelBackend protocol ----------------------------------------------------------------------
    def complete(self, spec: ModelSpec, request: Request) -> Draft:
        runnable, messages, kwargs = self._runnable_and_kwargs(request)
        t0 = time.perf_counter()
        try:
            message = runnable.invoke(messages, _ISOLATED, **kwargs)
        except Exception as e:
            raise map_langchain_error(e, spec.model) from e
        return self._draft(spec, message, t0)

    async def acomplete(self, spec: ModelSpec, request: Request) -> Draft:
        runnable, messages, kwargs = self._runnable_and_kwargs(request)
        t0 = time.perf_counter()
        try:
            message = await runnable.ainvoke(messages, _ISOLATED, **kwargs)
        except Exception as e:
            raise map_langchain_error(e, spec.model) from e
        return self._draft(spec, message, t0)

    def stream(self, spec: ModelSpec, request: Request) -> Iterator[str | Draft]:
        runnable, messages, kwargs = self._runnable_and_kwargs(request)
        t0 = time.perf_counter()
        full: Any = None
        try:
            for chunk in runnable.stream(messages, _ISOLATED, **kwargs):
                full = chunk if full is None else full + chunk
                if chunk.text:
                    yield chunk.text
        except Exception as e:
            raise map_langchain_error(e, spec.model) from e
        yield self._draft(spec, _as_message(full), t0)

    async def astream(self, spec: ModelSpec, request: Request) -> AsyncIterator[str | Draft]:
        runnable, messages, kwargs = self._runnable_and_kwargs(request)
        t0 = time.perf_counter()
        full: Any = None
        try:
            async for chunk in runnable.astream(messages, _ISOLATED, **kwargs):
                full = chunk if full is None else full + chunk
                if chunk.text:
                    yield chunk.text
        except Exception as e:
            raise map_langchain_error(e, spec.model) from e
        yield self._draft(spec, _as_message(full), t0)


def _as_message(full: Any) -> AIMessage:
    if full is None:
        return AIMessage(content="")
    return AIMessage(
        content=full.content,
        tool_calls=full.tool_calls,
        invalid_tool_calls=full.invalid_tool_calls,
        usage_metadata=full.usage_metadata,
        response_metadata=full.response_metadata,
    )


def _lc_tool_choice(choice: Any) -> Any:
    """An OpenAI ``tool_choice`` in the form ``bind_tools`` accepts."""
    if isinstance(choice, Mapping):
        fn = choice.get("function")
        if isinstance(fn, Mapping) and fn.get("name"):
            return fn["name"]
    if choice == "required":
        return "any"
    return choice
