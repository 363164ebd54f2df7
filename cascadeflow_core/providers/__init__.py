"""Providers: the models the cascade calls.

Owns the one module that imports LiteLLM (``_litellm``: calls, exception mapping, prices, token counts,
context windows, moderation) and the local MiniLM embedder (``_embed``, NumPy only). Every other part of
the core reaches LiteLLM through ``_litellm``. May import: the core's vocabulary (``_errors``, ``_types``,
``_protocols``) only.
"""

from ._embed import MiniLMEmbedder
from ._litellm import (
    LiteLLMBackend,
    UnpricedModelWarning,
    model_context_window,
    model_supports_tools,
    warn_unpriced,
)

__all__ = [
    "LiteLLMBackend",
    "MiniLMEmbedder",
    "UnpricedModelWarning",
    "model_context_window",
    "model_supports_tools",
    "warn_unpriced",
]
