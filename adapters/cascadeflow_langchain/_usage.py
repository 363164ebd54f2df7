"""Per-model usage for LangChain callbacks: ``CascadeUsageCallbackHandler`` and ``get_cascade_usage_callback``.

LangChain's ``UsageMetadataCallbackHandler`` (``get_usage_metadata_callback``) books one message's
``usage_metadata`` under its ``response_metadata["model_name"]``. A cascade answer is one message whose
tokens were spent by several models (a rejected draft, then the verifier), so the stock handler books
them all to the model that answered. These read ``response_metadata["usage_by_model"]`` instead and book
each model its own tokens; for any other chat model they behave exactly like the stock handler.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from langchain_core.callbacks import UsageMetadataCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.messages.ai import UsageMetadata, add_usage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.tracers.context import register_configure_hook

__all__ = ["CascadeUsageCallbackHandler", "get_cascade_usage_callback"]


class CascadeUsageCallbackHandler(UsageMetadataCallbackHandler):
    """``UsageMetadataCallbackHandler`` that books a cascade answer's tokens to each model that spent them.

    ``usage_metadata`` maps model -> ``UsageMetadata`` (as the stock handler); ``cost`` maps model ->
    dollars (``None`` once a call of that model could not be priced).

    Example:
        >>> handler = CascadeUsageCallbackHandler()
        >>> llm.invoke("2+2?", config={"callbacks": [handler]})  # doctest: +SKIP
        >>> handler.usage_metadata  # doctest: +SKIP
        {'openai/gpt-4o-mini': {...}, 'openai/gpt-4o': {...}}
    """

    def __init__(self) -> None:
        super().__init__()
        self.cost: dict[str, float | None] = {}

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        try:
            generation = response.generations[0][0]
        except IndexError:
            return
        message = generation.message if isinstance(generation, ChatGeneration) else None
        by_model = (message.response_metadata or {}).get("usage_by_model") if message else None
        if not isinstance(message, AIMessage) or not isinstance(by_model, dict):
            super().on_llm_end(response, **kwargs)
            return
        with self._lock:
            for model, row in by_model.items():
                usage = UsageMetadata(
                    input_tokens=int(row.get("input_tokens", 0)),
                    output_tokens=int(row.get("output_tokens", 0)),
                    total_tokens=int(row.get("total_tokens", 0)),
                )
                known = self.usage_metadata.get(model)
                self.usage_metadata[model] = usage if known is None else add_usage(known, usage)
                cost, before = row.get("cost"), self.cost.get(model, 0.0)
                self.cost[model] = None if cost is None or before is None else before + float(cost)


@contextmanager
def get_cascade_usage_callback(
    name: str = "cascade_usage_callback",
) -> Generator[CascadeUsageCallbackHandler, None, None]:
    """Like LangChain's ``get_usage_metadata_callback``, with cascade answers split per model.

    Example:
        >>> with get_cascade_usage_callback() as cb:  # doctest: +SKIP
        ...     chain.invoke({"question": "2+2?"})
        >>> cb.usage_metadata, cb.cost  # doctest: +SKIP
    """
    var: ContextVar[CascadeUsageCallbackHandler | None] = ContextVar(name, default=None)
    register_configure_hook(var, inheritable=True)
    cb = CascadeUsageCallbackHandler()
    token = var.set(cb)
    try:
        yield cb
    finally:
        var.reset(token)
