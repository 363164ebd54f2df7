"""The one error tree of CascadeFlow.

Every error the library raises, and every provider error it maps, is a ``CascadeError``::

    CascadeError
    ├── ConfigError                 bad configuration, raised at construction (names the field and the fix)
    ├── InputError                  a request the library cannot process (bad messages, bad kwargs)
    ├── ProviderError               one model call failed; carries model, status, retry_after
    │   ├── RateLimitError          429 / provider rate limit
    │   ├── ProviderTimeoutError    the call timed out
    │   ├── ProviderConnectionError connection refused / reset / DNS
    │   ├── ServiceUnavailableError 5xx
    │   ├── ContextWindowError      the prompt does not fit the model's context window
    │   ├── ContentPolicyError      the provider refused on content policy
    │   ├── AuthenticationError     bad or missing API key (never retried, never falls through silently)
    │   ├── BadRequestError         the provider rejected the request (4xx other than the above)
    │   │   └── ModelNotFoundError  the provider does not know the model (a configuration error)
    │   └── MalformedResponseError  the provider answered with something that is not a completion
    ├── ExhaustedError              every model and tier failed or was rejected; ``attempts`` says what was
    │                               tried and why each failed. When every attempt failed the same way it is
    │                               also that ProviderError (``RateLimitExhaustedError`` is a RateLimitError)
    ├── GuardrailError              a guardrail blocked the request or the answer (``decision`` says why)
    ├── AdmissionError              the tracker refused the request
    │   ├── BudgetExceededError     a budget is spent (``scope``, ``spent``, ``limit``)
    │   │   └── RunBudgetExceededError  an agent run's cap (cost, model calls, tool calls) is reached
    │   └── UserRateLimitError      a per-user rate limit was hit (``retry_after`` seconds)
    ├── StorageError                a tracker/cache store failed (Redis down, disk full)
    └── ReplayError                 the replay provider has no recorded answer for (model, query)

Errors carry data, not just text, so callers can act on them (``retry_after``, ``attempts``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._types import Attempt

__all__ = [
    "AdmissionError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "CascadeError",
    "ConfigError",
    "ContentPolicyError",
    "ContextWindowError",
    "ExhaustedError",
    "GuardrailError",
    "InputError",
    "MalformedResponseError",
    "ModelNotFoundError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderTimeoutError",
    "RateLimitError",
    "ReplayError",
    "RunBudgetExceededError",
    "ServiceUnavailableError",
    "StorageError",
    "UserRateLimitError",
]


class CascadeError(Exception):
    """Root of every error CascadeFlow raises.

    Its text never shows a configured secret (API keys, auth headers, store passwords): ``str`` and
    ``repr`` (and so tracebacks) pass through ``redact``, whatever the message was built from.
    """

    def __str__(self) -> str:
        from ._secrets import redact

        return str(redact(super().__str__()))

    def __repr__(self) -> str:
        from ._secrets import redact

        return str(redact(super().__repr__()))


class ConfigError(CascadeError, ValueError):
    """A configuration value is invalid. The message names the field and how to fix it."""

    def __init__(self, field: str, problem: str, fix: str = "") -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        msg = f"{field}: {problem}"
        if fix:
            msg += f" (fix: {fix})"
        super().__init__(msg)


class InputError(CascadeError, ValueError):
    """The request itself cannot be processed (malformed messages, unknown roles, bad types)."""


class ProviderError(CascadeError):
    """A single model call failed.

    Attributes:
        model: the model string that failed.
        status: HTTP-like status code when known.
        retry_after: seconds the provider asked us to wait, when it said.

    ``configuration`` is True for failures that retrying or another request cannot fix (a missing or wrong
    key, an unknown model): the cascade raises them instead of paying the next, dearer tier, unless
    ``RetryPolicy(escalate_config_errors=True)`` asks it to escalate (then logged and kept in the trace).
    """

    retryable = True
    configuration = False

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.model = model
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)

    @property
    def kind(self) -> str:
        """Short machine-readable name of the failure, e.g. ``rate_limit``."""
        return next((_KINDS[c] for c in type(self).__mro__ if c in _KINDS), "provider_error")


class RateLimitError(ProviderError):
    """The provider rate-limited the call (HTTP 429)."""


class ProviderTimeoutError(ProviderError):
    """The call timed out."""


class ProviderConnectionError(ProviderError):
    """The connection failed (refused, reset, unreachable)."""


class ServiceUnavailableError(ProviderError):
    """The provider failed with a 5xx."""


class ContextWindowError(ProviderError):
    """The prompt does not fit this model's context window (a larger model may take it)."""

    retryable = False


class ContentPolicyError(ProviderError):
    """The provider refused the request on content policy grounds."""

    retryable = False


class AuthenticationError(ProviderError):
    """The API key is missing or wrong."""

    retryable = False
    configuration = True


class BadRequestError(ProviderError):
    """The provider rejected the request as malformed or unsupported."""

    retryable = False


class ModelNotFoundError(BadRequestError):
    """The provider does not know this model name (a typo, or a model the key has no access to)."""

    configuration = True


class MalformedResponseError(ProviderError):
    """The provider answered with something that is not a usable completion."""


_KINDS: dict[type, str] = {
    RateLimitError: "rate_limit",
    ProviderTimeoutError: "timeout",
    ProviderConnectionError: "connection",
    ServiceUnavailableError: "unavailable",
    ContextWindowError: "context_window",
    ContentPolicyError: "content_policy",
    AuthenticationError: "authentication",
    BadRequestError: "bad_request",
    ModelNotFoundError: "model_not_found",
    MalformedResponseError: "malformed_response",
}


class ExhaustedError(CascadeError):
    """Every model and tier of the plan failed or was rejected.

    Attributes:
        attempts: every attempt made, each with its model, verdict or error.
    """

    def __init__(self, message: str, attempts: Sequence[Attempt] = ()) -> None:
        self.attempts = tuple(attempts)
        tried = "; ".join(a.describe() for a in self.attempts) or "nothing was tried"
        super().__init__(f"{message}. Tried: {tried}")

    @classmethod
    def of(cls, message: str, attempts: Sequence[Attempt] = ()) -> ExhaustedError:
        """The error to raise: when every attempt failed the same way (all rate-limited, say), an
        ``ExhaustedError`` that is also that ``ProviderError`` (``RateLimitError`` ...), so a caller can
        catch either, in every adapter alike; otherwise a plain ``ExhaustedError``."""
        kinds = {a.error_kind for a in attempts}
        if attempts and len(kinds) == 1 and all(a.status == "error" for a in attempts):
            combined = _EXHAUSTED.get(next(iter(kinds)) or "")
            if combined is not None:
                return combined(message, attempts)
        return cls(message, attempts)


def _exhausted_as(provider_error: type[ProviderError]) -> type[ExhaustedError]:
    """``<X>ExhaustedError``: every model of the plan failed with ``X``; both an ``X`` and an ``ExhaustedError``."""

    def __init__(self: Any, message: str, attempts: Sequence[Attempt] = ()) -> None:
        ExhaustedError.__init__(self, message, attempts)
        self.model = self.attempts[-1].model if self.attempts else None
        self.status = None
        self.retry_after = None

    name = f"{provider_error.__name__.removesuffix('Error')}ExhaustedError"  # e.g. RateLimitExhaustedError
    doc = f"Every model of the plan failed with {provider_error.__name__}."
    return type(
        name, (provider_error, ExhaustedError), {"__init__": __init__, "__doc__": doc, "__module__": __name__}
    )


_EXHAUSTED: dict[str, type[ExhaustedError]] = {kind: _exhausted_as(cls) for cls, kind in _KINDS.items()}
for _combined in _EXHAUSTED.values():  # importable by name, so they pickle
    globals()[_combined.__name__] = _combined


class GuardrailError(CascadeError):
    """A guardrail blocked the request (input side) or the answer (output side).

    Attributes:
        decision: the guardrail decision (entity types and rule names, never raw values).
    """

    def __init__(self, message: str, decision: Any = None) -> None:
        self.decision = decision
        super().__init__(message)


class AdmissionError(CascadeError):
    """The tracker refused to admit the request."""

    def __init__(self, message: str, *, user: str | None = None, context: Any = None) -> None:
        self.user = user
        self.context = context
        super().__init__(message)


class BudgetExceededError(AdmissionError):
    """A budget for this user / tag / model / tier is spent."""

    def __init__(
        self,
        message: str,
        *,
        user: str | None = None,
        scope: str | None = None,
        spent: float | None = None,
        limit: float | None = None,
        context: Any = None,
    ) -> None:
        self.scope = scope
        self.spent = spent
        self.limit = limit
        super().__init__(message, user=user, context=context)


class RunBudgetExceededError(BudgetExceededError):
    """An agent run's cap is reached: ``run_id``, ``limit_kind`` (``cost`` / ``model_calls`` /
    ``tool_calls``), ``used`` and ``limit``. Once raised, the run refuses every further model and tool call.
    """

    def __init__(
        self,
        message: str,
        *,
        run_id: str,
        limit_kind: str,
        used: float | None = None,
        limit: float | None = None,
        user: str | None = None,
        context: Any = None,
    ) -> None:
        self.run_id = run_id
        self.limit_kind = limit_kind
        self.used = used
        super().__init__(
            message, user=user, scope=f"run:{run_id}|{limit_kind}", spent=used, limit=limit, context=context
        )


class UserRateLimitError(AdmissionError):
    """A per-user rate limit was hit; ``retry_after`` says when to come back (seconds)."""

    def __init__(
        self, message: str, *, user: str | None = None, retry_after: float | None = None, context: Any = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, user=user, context=context)


class StorageError(CascadeError):
    """A tracker or cache storage backend failed."""


class ReplayError(CascadeError, LookupError):
    """The replay provider has no recorded answer for this (model, query) pair."""
