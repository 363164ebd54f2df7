"""CascadeFlow for LangChain: ``ChatCascade``, a cost-aware cascade usable wherever a chat model is.

Example:
    >>> from cascadeflow_core import ModelSpec
    >>> from cascadeflow_langchain import ChatCascade
    >>> llm = ChatCascade([
    ...     ModelSpec("openai/gpt-4o-mini", params={"mock_response": "4"}),
    ...     ModelSpec("openai/gpt-4o", params={"mock_response": "4"}),
    ... ])
    >>> llm.invoke("2+2?").response_metadata["model_name"]
    'openai/gpt-4o-mini'

Imports only ``cascadeflow_core``'s public surface and ``langchain_core``.
"""

from ._backend import LangChainBackend, map_langchain_error
from ._chat_model import ChatCascade
from ._errors import (
    ChatCascadeAPIError,
    ChatCascadeAuthenticationError,
    ChatCascadeConnectionError,
    ChatCascadeContextOverflowError,
    ChatCascadeInvalidRequestError,
    ChatCascadeRateLimitError,
    ChatCascadeTimeoutError,
    ChatCascadeUserRateLimitError,
)
from ._usage import CascadeUsageCallbackHandler, get_cascade_usage_callback

__all__ = [
    "CascadeRunMiddleware",
    "CascadeRunState",
    "CascadeUsageCallbackHandler",
    "ChatCascade",
    "ChatCascadeAPIError",
    "ChatCascadeAuthenticationError",
    "ChatCascadeConnectionError",
    "ChatCascadeContextOverflowError",
    "ChatCascadeInvalidRequestError",
    "ChatCascadeRateLimitError",
    "ChatCascadeTimeoutError",
    "ChatCascadeUserRateLimitError",
    "LangChainBackend",
    "get_cascade_usage_callback",
    "map_langchain_error",
]


def __getattr__(name: str) -> object:
    # The agent middleware needs ``langchain`` (not only ``langchain_core``): imported on first use.
    if name in ("CascadeRunMiddleware", "CascadeRunState"):
        from . import _middleware

        return getattr(_middleware, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
