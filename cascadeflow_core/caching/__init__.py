"""Caching: the response cache (exact in memory or Redis, semantic with the local embedder).

May import: the vocabulary and ``providers``.
"""

from ._cache import RedisResponseCache, ResponseCache, SemanticCache

__all__ = ["RedisResponseCache", "ResponseCache", "SemanticCache"]
