"""A per-model circuit breaker: a provider that keeps failing is skipped for a cooldown.

Without it a provider that is down costs every request its retries and timeouts before the cascade moves
on. After ``failures`` consecutive transient failures (timeouts, connection errors, 5xx, 429s, malformed
answers) the model is *open*: the engine skips it until ``cooldown_s`` has passed and records the skip in
the trace ("cooling down until ..."). After the cooldown one request probes it (half-open): a success
closes the breaker, a failure opens it again for another cooldown. Errors that say nothing of the
provider's health (bad request, content policy, context window, authentication) are not counted.

The state is in this process (thread-safe), one per ``Cascade`` unless a ``state`` is given: options
shared by several cascades do not share their failures. The state is a small protocol (``BreakerState``)
so a fleet could share it; no shared implementation ships yet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from .._errors import ConfigError, ProviderError

__all__ = ["BreakerState", "CircuitBreaker", "MemoryBreakerState"]

# Failures that say the provider is unhealthy (the others say the request or the key was wrong).
_COUNTED = frozenset({"rate_limit", "timeout", "connection", "unavailable", "malformed_response"})


class BreakerState(Protocol):
    """Where the breaker keeps ``(consecutive failures, open until)`` per model."""

    def get(self, model: str) -> tuple[int, float]: ...

    def put(self, model: str, failures: int, open_until: float) -> None: ...


class MemoryBreakerState:
    """In-process breaker state (the default)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, tuple[int, float]] = {}

    def get(self, model: str) -> tuple[int, float]:
        with self._lock:
            return self._state.get(model, (0, 0.0))

    def put(self, model: str, failures: int, open_until: float) -> None:
        with self._lock:
            if failures == 0 and open_until == 0.0:
                self._state.pop(model, None)
            else:
                self._state[model] = (failures, open_until)


@dataclass
class CircuitBreaker:
    """Skip a model for ``cooldown_s`` seconds after ``failures`` consecutive transient failures.

    Example:
        >>> b = CircuitBreaker(failures=2, cooldown_s=60, clock=lambda: 0.0)
        >>> b.open_until("m") is None
        True
    """

    failures: int = 5
    cooldown_s: float = 30.0
    clock: Callable[[], float] = field(default=time.time, repr=False)
    state: BreakerState | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.failures, bool) or not isinstance(self.failures, int) or self.failures < 1:
            raise ConfigError("CircuitBreaker.failures", f"must be an int >= 1, got {self.failures!r}")
        if (
            isinstance(self.cooldown_s, bool)
            or not isinstance(self.cooldown_s, (int, float))
            or self.cooldown_s <= 0
        ):
            raise ConfigError("CircuitBreaker.cooldown_s", f"must be seconds > 0, got {self.cooldown_s!r}")

    def bind(self) -> CircuitBreaker:
        """This breaker with a state of its own when none was given (what each ``Cascade`` uses)."""
        return self if self.state is not None else replace(self, state=MemoryBreakerState())

    @property
    def _state(self) -> BreakerState:
        if self.state is None:
            raise RuntimeError("CircuitBreaker.bind() first: an unbound breaker has no state")
        return self.state

    def open_until(self, model: str) -> float | None:
        """When the model may be called again, or None when it may be called now.

        Past the cooldown the first caller gets the probe: the breaker stays open for the others for one
        more cooldown, until the probe's outcome is recorded.
        """
        failures, until = self._state.get(model)
        if failures < self.failures:
            return None
        now = self.clock()
        if now < until:
            return until
        self._state.put(model, failures, now + self.cooldown_s)  # this caller probes
        return None

    def record(self, model: str, outcome: object) -> None:
        """Count a call's outcome: a draft closes the breaker, a transient provider error counts."""
        if not isinstance(outcome, ProviderError):
            if self._state.get(model) != (0, 0.0):
                self._state.put(model, 0, 0.0)
            return
        if outcome.kind not in _COUNTED:
            return
        failures, until = self._state.get(model)
        failures += 1
        if failures >= self.failures:
            until = self.clock() + self.cooldown_s
        self._state.put(model, failures, until)
