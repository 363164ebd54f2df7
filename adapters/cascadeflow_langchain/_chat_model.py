"""``ChatCascade``: a cost-aware cascade as a LangChain chat model (``BaseChatModel``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, ModelProfile
from langchain_core.language_models.chat_models import agenerate_from_stream, generate_from_stream
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr

from cascadeflow_core import (
    Cascade,
    CascadeError,
    CascadeOptions,
    ConfigError,
    ModelSpec,
    RetryPolicy,
    mask_secret_params,
    model_context_window,
    model_supports_tools,
    register_secrets,
)

from ._backend import LangChainBackend
from ._convert import PROVIDER, Payload, StreamFormatter, build_payload, chat_result
from ._errors import project_error
from ._structured import Method, structured_runnable

__all__ = ["ChatCascade"]

_TOOL_CHOICE_KEYWORDS = {"auto": "auto", "none": "none", "required": "required", "any": "required"}


def _reraise(error: CascadeError) -> None:
    projected = project_error(error)
    if projected is error:
        raise error
    raise projected from error


class ChatCascade(BaseChatModel):
    """A LangChain chat model that answers with the cheapest tier of a cascade whose answer passes checks.

    Use it wherever a chat model goes (LCEL chains, ``with_structured_output``, ``bind_tools``, agents,
    batch, streaming, callbacks, LangSmith). Every answer's ``response_metadata`` says which model
    answered, whether the cascade escalated and why, what it cost and what the verifier alone would have
    cost; ``usage_metadata`` counts the tokens of every call made for it.

    Args:
        tiers: cheapest first; model strings (LiteLLM), ``ModelSpec``/``Tier`` objects, LangChain chat
            models (wrapped with ``LangChainBackend``), or lists of them (concurrent drafters). May be
            given positionally. Omit both ``tiers`` and ``cascade`` to read ``CASCADEFLOW_*`` variables.
        cascade: a ready ``Cascade`` (with its tracker, guardrails, router, cache); instead of ``tiers``.
        tracker, options: ``CostTracker`` and ``CascadeOptions`` for a cascade built from ``tiers``.
        temperature, max_tokens, stop, timeout: sent with every request (call kwargs override them).
        max_retries: retries of one model call before falling through (built cascades only).
        api_key, base_url (alias ``api_base``): key and endpoint for every LiteLLM model of ``tiers``
            that names none (strings, ``ModelSpec`` and ``Tier`` alike; a model's own values win), e.g.
            a local server. Not with ``cascade=`` (give ``Cascade(..., api_base=, api_key=)`` there).
        stream_usage: put the token usage on the last chunk of a stream (default True); False leaves
            it off, as ``ChatOpenAI(stream_usage=False)`` does.
        user: default user id for the tracker (a call's ``user=`` or ``config["metadata"]["user_id"]``
            takes precedence).
        model_kwargs: other provider kwargs sent with every request.

    Any other argument is a ``ConfigError`` naming it. ``model=`` is refused: a cascade has several
    models; give them as ``tiers`` (cheapest first, the verifier last).

    Example:
        >>> from cascadeflow_core import ModelSpec
        >>> llm = ChatCascade([
        ...     ModelSpec("openai/gpt-4o-mini", params={"mock_response": "Paris"}),
        ...     ModelSpec("openai/gpt-4o", params={"mock_response": "Paris"}),
        ... ])
        >>> msg = llm.invoke("Capital of France?")
        >>> msg.content, msg.response_metadata["model_name"], msg.response_metadata["escalated"]
        ('Paris', 'openai/gpt-4o-mini', False)
    """

    tiers: list[Any] | None = Field(default=None, exclude=True)
    cascade: Any = Field(default=None, exclude=True)
    """The ``Cascade`` this chat model drives (built from ``tiers`` when not given)."""
    tracker: Any = Field(default=None, exclude=True)
    options: Any = Field(default=None, exclude=True)
    temperature: float | None = None
    max_tokens: int | None = Field(default=None, alias="max_completion_tokens")
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    timeout: float | None = None
    max_retries: int | None = None
    api_key: SecretStr | None = Field(default=None, exclude=True)
    base_url: str | None = Field(default=None, alias="api_base")
    streaming: bool = False
    stream_usage: bool = True
    user: str | None = None
    model_kwargs: dict[str, Any] = Field(default_factory=dict)

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True, protected_namespaces=())

    _overrides: dict[str, Cascade] = PrivateAttr(default_factory=dict)

    def __repr_args__(self) -> Any:
        # ``model_kwargs`` may carry a key: reprs mask it (the provider still gets it).
        for name, value in super().__repr_args__():
            yield name, mask_secret_params(value) if name == "model_kwargs" else value

    def __init__(self, tiers: Any = None, /, **kwargs: Any) -> None:
        if tiers is not None:
            kwargs["cascade" if isinstance(tiers, Cascade) else "tiers"] = tiers
        _check_arguments(kwargs)
        super().__init__(**kwargs)
        register_secrets(self.model_kwargs)  # redacted from every error and trace
        # Built here, not in a pydantic validator, so a bad configuration raises the core's ConfigError.
        if self.cascade is None:
            self.cascade = self._build()
        elif not isinstance(self.cascade, Cascade):
            raise ConfigError(
                "cascade",
                f"expected a cascadeflow_core.Cascade, got {type(self.cascade).__name__}",
                "pass tiers=[...] for a list of models",
            )
        if self.profile is None:
            self.profile = _profile(self.cascade)

    def _endpoint(self) -> tuple[str | None, str | None]:
        key = self.api_key.get_secret_value() if self.api_key is not None else None
        return self.base_url, key

    def _build(self) -> Cascade:
        options = self.options
        if options is None and self.max_retries is not None:
            options = CascadeOptions(retry=RetryPolicy(max_retries=self.max_retries))
        base, key = self._endpoint()
        extra: dict[str, Any] = {"tracker": self.tracker} if self.tracker is not None else {}
        if base is not None or key is not None:
            extra.update(api_base=base, api_key=key)
        if self.tiers is None:
            return Cascade.from_env(**extra)
        tiers = [self._tier(t) for t in self.tiers]
        return Cascade(tiers, options=options, **extra)

    def _model(self, item: Any) -> Any:
        if isinstance(item, BaseChatModel):
            return LangChainBackend.spec(item)
        return item

    def _tier(self, item: Any) -> Any:
        if isinstance(item, (list, tuple)):
            return [self._model(m) for m in item]
        return self._model(item)

    # --- identity, for LangSmith and callbacks ----------------------------------------------------------
    @property
    def model_name(self) -> str:
        """The cascade's models, cheapest first: ``"a>b"``, concurrent drafters joined by ``+``."""
        return ">".join("+".join(m.label for m in t.specs) for t in self.cascade.tiers)

    @property
    def model(self) -> str:
        """Same as ``model_name`` (the field name LangSmith and tracing tools read on other chat models)."""
        return self.model_name

    def _stream_usage(self, kwargs: Mapping[str, Any]) -> bool:
        value = kwargs.get("stream_usage")
        return self.stream_usage if value is None else bool(value)

    @property
    def _llm_type(self) -> str:
        return PROVIDER

    @property
    def _default_params(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stop": self.stop,
            "timeout": self.timeout,
            "user": self.user,
            **self.model_kwargs,
        }

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "model_name": self.model_name,
            "tiers": [[m.label for m in t.specs] for t in self.cascade.tiers],
            "stream_mode": self.cascade.options.stream_mode,
            **{k: v for k, v in self._default_params.items() if v is not None},
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=PROVIDER, ls_model_name=kwargs.get("model") or self.model_name, ls_model_type="chat"
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        stop = stop or kwargs.get("stop") or self.stop
        if stop:
            params["ls_stop"] = list(stop)
        return params

    # --- one payload builder, one formatter; the I/O call is the only difference ------------------------
    def _payload(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any], run_manager: Any
    ) -> Payload:
        return build_payload(self._default_params, messages, stop, kwargs, run_manager)

    def _cascade_for(self, model: str | None) -> Cascade:
        """The configured cascade, or (for a per-call ``model=`` override) that one model alone, tracked."""
        if model is None:
            return self.cascade
        found = self._overrides.get(model)
        if found is None:
            base = self.cascade
            specs = [s for t in base.tiers for s in (*t.specs, *t.fallback_specs)]
            spec = next((s for s in specs if model in (s.label, s.model)), None)
            spec = spec or ModelSpec(model).with_endpoint(*self._endpoint())
            found = self._overrides.setdefault(
                model,
                Cascade(
                    [spec],
                    tracker=base.tracker,
                    guardrails=base.guardrails,
                    cache=base.cache,
                    backend=base.backend,
                    options=base.options,
                ),
            )
        return found

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
        p = self._payload(messages, stop, kwargs, run_manager)
        try:
            result = self._cascade_for(p.model).complete(p.messages, **p.kwargs)
        except CascadeError as e:
            _reraise(e)
        return chat_result(result)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))
        p = self._payload(messages, stop, kwargs, run_manager)
        try:
            result = await self._cascade_for(p.model).acomplete(p.messages, **p.kwargs)
        except CascadeError as e:
            _reraise(e)
        return chat_result(result)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        p = self._payload(messages, stop, kwargs, run_manager)
        fmt = StreamFormatter(usage=self._stream_usage(kwargs))
        try:
            for event in self._cascade_for(p.model).stream(p.messages, **p.kwargs):
                chunk = fmt.feed(event)
                if chunk is None:
                    continue
                if event.type == "delta" and run_manager is not None:
                    run_manager.on_llm_new_token(event.text, chunk=chunk)
                yield chunk
        except CascadeError as e:
            _reraise(e)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        p = self._payload(messages, stop, kwargs, run_manager)
        fmt = StreamFormatter(usage=self._stream_usage(kwargs))
        try:
            async for event in self._cascade_for(p.model).astream(p.messages, **p.kwargs):
                chunk = fmt.feed(event)
                if chunk is None:
                    continue
                if event.type == "delta" and run_manager is not None:
                    await run_manager.on_llm_new_token(event.text, chunk=chunk)
                yield chunk
        except CascadeError as e:
            _reraise(e)

    # --- tools and structured output ---------------------------------------------------------------------
    def bind_tools(  # type: ignore[override]
        self,
        tools: Sequence[Mapping[str, Any] | type | Callable[..., Any] | Any],
        *,
        tool_choice: str | bool | Mapping[str, Any] | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[Any, BaseMessage]:
        """Bind tools (LangChain tools, functions, Pydantic classes, TypedDicts or OpenAI dicts).

        ``tool_choice``: ``"auto"``, ``"none"``, ``"any"``/``"required"``/``True`` (call some tool), or a
        tool name (call that tool). Every tier sees the same tools; a drafter whose tool call names an
        unbound tool or has malformed arguments is escalated by the core's validators.
        """
        formatted = [convert_to_openai_tool(t, strict=strict) for t in tools]
        if tool_choice is not None and tool_choice is not False:
            kwargs["tool_choice"] = _openai_tool_choice(tool_choice, formatted)
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: Mapping[str, Any] | type | None = None,
        *,
        method: Method = "function_calling",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[Any, Any]:
        """Answers parsed into ``schema`` (Pydantic class, TypedDict or JSON schema dict).

        ``method``: ``"function_calling"`` (default; a forced tool call, portable across providers),
        ``"json_schema"`` (``response_format`` with the schema) or ``"json_mode"`` (JSON object; the
        prompt must describe the keys). With ``include_raw=True`` the result is
        ``{"raw": AIMessage, "parsed": ..., "parsing_error": ...}``, and ``raw`` carries the cascade trace.
        """
        return structured_runnable(
            self, schema, method=method, include_raw=include_raw, strict=strict, kwargs=kwargs
        )

    # --- conveniences ------------------------------------------------------------------------------------
    @staticmethod
    def trace(message: BaseMessage) -> dict[str, Any]:
        """The cascade trace (JSON-ready) of an answer produced by ``ChatCascade``."""
        trace = (message.response_metadata or {}).get("cascade")
        if not isinstance(trace, dict):
            raise ConfigError(
                "message",
                "this message carries no cascade trace",
                "pass an AIMessage returned by ChatCascade (invoke, or the aggregate of a stream)",
            )
        return trace


def _profile(cascade: Cascade) -> ModelProfile:
    """What LangChain may assume of the cascade: every tier may answer, so the weakest model bounds it.

    ``max_input_tokens``: the smallest known context window of any model (left out when none is known);
    ``tool_calling``: some tier may call tools. ``structured_output`` is left out, so ``create_agent`` uses
    its portable tool strategy for ``response_format``.
    """
    specs = [m for t in cascade.tiers for m in (*t.specs, *t.fallback_specs)]
    profile = ModelProfile(
        text_inputs=True,
        text_outputs=True,
        tool_calling=any(model_supports_tools(m) for t in cascade.tiers for m in t.specs),
    )
    windows = [w for w in map(model_context_window, specs) if w]
    if windows and len(windows) == len(specs):
        profile["max_input_tokens"] = min(windows)
    return profile


_MODEL_FIX = (
    'ChatCascade takes tiers, cheapest first, the verifier last: ChatCascade(["openai/gpt-4o-mini", '
    '"openai/gpt-4o"]), or ChatCascade(cascade=Cascade.from_preset("balanced"))'
)


_CASCADE_CLASH = ("api_key", "base_url", "api_base", "tracker", "options", "max_retries")


def _check_arguments(kwargs: dict[str, Any]) -> None:
    """Refuse arguments that would change nothing: unknown names, ``model=``, endpoint with ``cascade``."""
    if "model" in kwargs or "model_name" in kwargs:
        name = "model" if "model" in kwargs else "model_name"
        raise ConfigError(name, "a cascade has several models, not one", _MODEL_FIX)
    known = set()
    for name, info in ChatCascade.model_fields.items():
        known.update({name, info.alias} if info.alias else {name})
    unknown = sorted(k for k in kwargs if k not in known)
    if unknown:
        raise ConfigError(
            ", ".join(unknown),
            f"ChatCascade has no argument{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}",
            "provider kwargs go in model_kwargs={...}; see help(ChatCascade) for the arguments",
        )
    if kwargs.get("cascade") is not None and kwargs.get("tiers") is not None:
        raise ConfigError(
            "ChatCascade",
            "give either tiers or cascade, not both",
            "put the tiers into the Cascade, or pass tiers=[...] alone",
        )
    if kwargs.get("cascade") is not None:
        clash = [k for k in _CASCADE_CLASH if kwargs.get(k) is not None]
        if clash:
            raise ConfigError(
                ", ".join(clash),
                "ignored when a ready cascade is given",
                "give them to Cascade(...) instead (Cascade(tiers, tracker=, api_base=, api_key=)), "
                "or pass tiers=[...] without cascade",
            )


def _openai_tool_choice(choice: Any, tools: Sequence[Mapping[str, Any]]) -> Any:
    if choice is True:
        return "required"
    if isinstance(choice, str):
        if choice in _TOOL_CHOICE_KEYWORDS:
            return _TOOL_CHOICE_KEYWORDS[choice]
        names = [t["function"]["name"] for t in tools]
        if choice not in names:
            raise ConfigError(
                "tool_choice",
                f"{choice!r} is not one of the bound tools {names}",
                'use a bound tool name, "auto", "none" or "any"',
            )
        return {"type": "function", "function": {"name": choice}}
    if isinstance(choice, Mapping):
        return dict(choice)
    raise ConfigError(
        "tool_choice", f"cannot use {choice!r}", 'use a tool name, "auto", "none", "any" or a dict'
    )
