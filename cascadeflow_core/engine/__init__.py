"""Engine: the cascade's logic, written once as a generator of effects that does no I/O itself.

It walks a plan tier by tier, asks each tier's validator for a verdict, retries and falls back on provider
errors, and yields effects (``Call``, ``Invoke``, ``Sleep``, ``Emit``) that the sync, async and streaming
drivers of ``Cascade`` carry out. May import: the vocabulary (``_errors``, ``_types``, ``_protocols``) and
``validation`` (for the default validators).
"""

from ._breaker import CircuitBreaker
from ._engine import RetryPolicy

__all__ = ["CircuitBreaker", "RetryPolicy"]
