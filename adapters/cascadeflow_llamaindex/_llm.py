"""``CascadeLLM``: a CascadeFlow cascade as a LlamaIndex ``FunctionCallingLLM``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr, field_serializer
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW, DEFAULT_NUM_OUTPUTS
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.tools.types import BaseTool

from cascadeflow_core import (
    Cascade,
    ConfigError,
    ModelSpec,
    mask_secret_params,
    model_context_window,
    model_supports_tools,
    register_secrets,
)

from ._convert import StreamFormatter, build_payload, chat_response, completion_response, tool_selections

__all__ = ["CascadeLLM"]


def _specs(models: Any) -> list[ModelSpec]:
    """A tier's models as ``ModelSpec``s (``Tier`` has already coerced them; this tells the type checker)."""
    return [ModelSpec.coerce(m) for m in models]


def _prompt_messages(prompt: str) -> list[ChatMessage]:
    return [ChatMessage(role=MessageRole.USER, content=prompt)]


def _tool_choice(tool_choice: Any, tool_required: bool) -> Any:
    if tool_choice is None:
        return "required" if tool_required else "auto"
    if isinstance(tool_choice, str) and tool_choice not in ("auto", "required", "none"):
        return {"type": "function", "function": {"name": tool_choice}}  # a tool's name
    return tool_choice


def _endpoint_arguments(data: dict[str, Any]) -> dict[str, Any]:
    """Check the arguments: ``base_url`` is ``api_base``; endpoint keys leave ``additional_kwargs``
    (so the key is not in ``repr`` / ``to_dict``); any unknown name is a ``ConfigError``."""
    data = dict(data)
    if "base_url" in data:
        if data.get("api_base") is not None:
            raise ConfigError("base_url", "given together with api_base", "give one of them")
        data["api_base"] = data.pop("base_url")
    extra = dict(data.get("additional_kwargs") or {})
    for name in ("api_key", "api_base", "base_url"):
        if name in extra:
            target = "api_base" if name == "base_url" else name
            if data.get(target) is not None:
                raise ConfigError(f"additional_kwargs.{name}", f"given together with {target}=", "give one")
            data[target] = extra.pop(name)
    if "additional_kwargs" in data:
        data["additional_kwargs"] = extra
    unknown = sorted(k for k in data if k not in CascadeLLM.model_fields)
    if unknown:
        raise ConfigError(
            ", ".join(unknown),
            f"CascadeLLM has no argument{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}",
            "provider kwargs go in additional_kwargs={...}; see help(CascadeLLM) for the arguments",
        )
    return data


class CascadeLLM(FunctionCallingLLM):
    """A cascade (cheap drafters first, escalate when the check fails) as a LlamaIndex LLM.

    Every response carries the cascade's usage, cost and routing reasons in ``additional_kwargs``
    (``cost``, ``model``, ``tier``, ``escalated``, ``reasons`` ...) and the full trace in ``raw``
    (``raw["trace"]`` JSON-ready, ``raw["result"]`` the ``CascadeResult``).

    Args:
        cascade: a ``Cascade``, or anything ``Cascade(...)`` accepts as tiers (e.g. a list of model strings).
        model_name: name shown in metadata and traces (defaults to the tiers' models joined by ``>``).
        temperature, max_tokens: defaults for every call (a call's kwargs override them).
        context_window: override of the context window; by default the smallest window among all tiers'
            models and fallbacks (a request may reach any of them): ``ModelSpec.context_window``, else
            LiteLLM's model map; LlamaIndex's default (3900) when no model's window is known.
        user, tags: who the calls are for, for the cascade's tracker (budgets, ledger).
        api_base (alias ``base_url``), api_key: endpoint and key for every LiteLLM model of the tiers
            that names none (strings, ``ModelSpec`` and ``Tier`` alike; a model's own values win), as
            ``Cascade(..., api_base=, api_key=)``. Not with a ready ``Cascade``. The key is never shown
            in ``repr`` or ``to_dict``; ``api_key`` / ``api_base`` given in ``additional_kwargs`` are
            taken as these.
        additional_kwargs: extra provider kwargs sent with every call.

    Any other argument is a ``ConfigError`` naming it.

    Example:
        >>> from llama_index.core import Settings
        >>> from cascadeflow_core import ModelSpec
        >>> Settings.llm = CascadeLLM([ModelSpec("openai/gpt-4o-mini", params={"mock_response": "4"}),
        ...                            ModelSpec("openai/gpt-4o", params={"mock_response": "4"})])
        >>> Settings.llm.complete("2+2?").text
        '4'
    """

    model_name: str = Field(default="", description="Name of the cascade in metadata and traces.")
    temperature: float | None = Field(default=None, description="Sampling temperature for every call.")
    max_tokens: int | None = Field(default=None, description="Maximum output tokens for every call.")
    context_window: int | None = Field(default=None, description="Override of the context window.")
    user: str | None = Field(default=None, description="User id for the cascade's tracker.")
    tags: list[str] = Field(default_factory=list, description="Ledger / budget tags for every call.")
    additional_kwargs: dict[str, Any] = Field(default_factory=dict, description="Extra provider kwargs.")
    api_base: str | None = Field(default=None, description="Endpoint for models that name none.")
    api_key: str | None = Field(default=None, exclude=True, repr=False, description="Key (never shown).")

    _cascade: Cascade = PrivateAttr()

    @field_serializer("additional_kwargs")
    def _mask_kwargs(self, value: dict[str, Any]) -> dict[str, Any]:
        # ``to_dict()`` / ``to_json()`` / reprs never show a key (the provider still gets it).
        return dict(mask_secret_params(value))

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, mask_secret_params(value) if name == "additional_kwargs" else value

    def __init__(self, cascade: Any, /, **data: Any) -> None:
        data = _endpoint_arguments(data)
        super().__init__(**data)
        register_secrets(self.additional_kwargs)  # redacted from every error and trace
        if isinstance(cascade, Cascade):
            if self.api_base is not None or self.api_key is not None:
                raise ConfigError(
                    "api_base/api_key",
                    "ignored when a ready Cascade is given",
                    "give them to Cascade(tiers, api_base=..., api_key=...), or pass the tiers here",
                )
            self._cascade = cascade
        else:
            self._cascade = Cascade(cascade, api_base=self.api_base, api_key=self.api_key)
        if not self.model_name:
            self.model_name = ">".join(
                "+".join(m.label for m in _specs(t.models)) for t in self._cascade.tiers
            )

    @classmethod
    def class_name(cls) -> str:
        return "CascadeLLM"

    @property
    def cascade(self) -> Cascade:
        """The wrapped ``Cascade``."""
        return self._cascade

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window or self._smallest_context_window(),
            num_output=self.max_tokens or DEFAULT_NUM_OUTPUTS,
            is_chat_model=True,
            is_function_calling_model=self._can_call_tools(),
            model_name=self.model_name,
        )

    def _can_call_tools(self) -> bool:
        """True when some tier has a model that may call tools (LlamaIndex agents check this)."""
        return any(model_supports_tools(m) for t in self._cascade.tiers for m in _specs(t.models))

    def _smallest_context_window(self) -> int:
        specs = [m for t in self._cascade.tiers for m in _specs((*t.models, *t.fallbacks))]
        windows = [w for w in map(model_context_window, specs) if w]
        return min(windows) if windows else DEFAULT_CONTEXT_WINDOW

    def _payload(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> tuple[list, dict[str, Any]]:
        defaults = {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "user": self.user,
            "tags": self.tags or None,
            **self.additional_kwargs,
        }
        return build_payload(defaults, messages, kwargs)

    # --- chat -------------------------------------------------------------------------------------

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        msgs, kw = self._payload(messages, kwargs)
        return chat_response(self._cascade.complete(msgs, **kw))

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        msgs, kw = self._payload(messages, kwargs)
        return chat_response(await self._cascade.acomplete(msgs, **kw))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        msgs, kw = self._payload(messages, kwargs)

        def gen() -> ChatResponseGen:
            fmt = StreamFormatter("chat")
            for event in self._cascade.stream(msgs, **kw):
                if (chunk := fmt.feed(event)) is not None:
                    yield chunk  # type: ignore[misc]

        return gen()

    @llm_chat_callback()
    async def astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
        msgs, kw = self._payload(messages, kwargs)

        async def gen() -> ChatResponseAsyncGen:
            fmt = StreamFormatter("chat")
            async for event in self._cascade.astream(msgs, **kw):
                if (chunk := fmt.feed(event)) is not None:
                    yield chunk  # type: ignore[misc]

        return gen()

    # --- completion -------------------------------------------------------------------------------

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        msgs, kw = self._payload(_prompt_messages(prompt), kwargs)
        return completion_response(self._cascade.complete(msgs, **kw))

    @llm_completion_callback()
    async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        msgs, kw = self._payload(_prompt_messages(prompt), kwargs)
        return completion_response(await self._cascade.acomplete(msgs, **kw))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        msgs, kw = self._payload(_prompt_messages(prompt), kwargs)

        def gen() -> CompletionResponseGen:
            fmt = StreamFormatter("completion")
            for event in self._cascade.stream(msgs, **kw):
                if (chunk := fmt.feed(event)) is not None:
                    yield chunk  # type: ignore[misc]

        return gen()

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        msgs, kw = self._payload(_prompt_messages(prompt), kwargs)

        async def gen() -> CompletionResponseAsyncGen:
            fmt = StreamFormatter("completion")
            async for event in self._cascade.astream(msgs, **kw):
                if (chunk := fmt.feed(event)) is not None:
                    yield chunk  # type: ignore[misc]

        return gen()

    # --- tools ------------------------------------------------------------------------------------

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        kwargs.pop("strict", None)  # OpenAI-specific; the cascade validates tool arguments itself
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            messages.append(ChatMessage(role=MessageRole.USER, content=user_msg))
        elif user_msg is not None:
            messages.append(user_msg)
        specs = [t.metadata.to_openai_tool(skip_length_check=True) for t in tools]
        return {
            "messages": messages,
            "tools": specs or None,
            "tool_choice": _tool_choice(tool_choice, tool_required) if specs else None,
            **kwargs,
        }

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        if not allow_parallel_tool_calls:
            calls = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
            if len(calls) > 1:
                keep = calls[0]
                response.message.blocks = [
                    b for b in response.message.blocks if not isinstance(b, ToolCallBlock) or b is keep
                ]
        return response

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        selections = tool_selections(response)
        if not selections and error_on_no_tool_call:
            raise ValueError(f"Expected at least one tool call, but got none: {response.message.content!r}")
        return selections
