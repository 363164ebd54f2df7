"""Errors ``ChatCascade`` raises: the core's typed errors, also inheriting LangChain's where one fits.

LangChain 1.x has a provider-neutral model error tree (``langchain_core.exceptions.ModelError``); each
class here inherits the core error *and* the matching LangChain class, so callers can catch either::

    ChatCascadeRateLimitError        RateLimitError, ExhaustedError, ModelRateLimitError
    ChatCascadeTimeoutError          ProviderTimeoutError, ExhaustedError, ModelTimeoutError
    ChatCascadeConnectionError       ProviderConnectionError, ExhaustedError, ModelConnectionError
    ChatCascadeAPIError              ServiceUnavailableError, ExhaustedError, ModelAPIError
    ChatCascadeContextOverflowError  ContextWindowError, ExhaustedError, ContextOverflowError
    ChatCascadeAuthenticationError   AuthenticationError, ExhaustedError, ModelAuthenticationError
    ChatCascadeInvalidRequestError   BadRequestError, ExhaustedError, ModelInvalidRequestError
    ChatCascadeUserRateLimitError    UserRateLimitError (the tracker's per-user limit), ModelRateLimitError

The engine falls through a failing model to the next one, so a provider failure reaches the caller only
when *every* model of the plan failed: the core raises ``ExhaustedError``. When every attempt failed the
same way (say all were rate-limited) the adapter raises the matching class above, which is still an
``ExhaustedError`` (with ``attempts``) and a ``ProviderError`` (with ``model`` and ``status``), with the
core error as ``__cause__``. Everything else (budget blocks, guardrails, mixed failures, bad input) is
raised as the core error itself: no LangChain class fits a spent budget or a guardrail.
"""

from __future__ import annotations

from collections.abc import Sequence
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

from cascadeflow_core import (
    Attempt,
    AuthenticationError,
    BadRequestError,
    CascadeError,
    ContextWindowError,
    ExhaustedError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServiceUnavailableError,
    UserRateLimitError,
)

__all__ = [
    "ChatCascadeAPIError",
    "ChatCascadeAuthenticationError",
    "ChatCascadeConnectionError",
    "ChatCascadeContextOverflowError",
    "ChatCascadeInvalidRequestError",
    "ChatCascadeRateLimitError",
    "ChatCascadeTimeoutError",
    "ChatCascadeUserRateLimitError",
    "project_error",
]


class _ExhaustedProviderError(Exception):
    """Mixin: a provider error that exhausted the plan (``ExhaustedError`` and ``ProviderError`` at once)."""

    status_code: int | None = None
    retry_after: float | None = None

    def __init__(self, message: str, *, attempts: Sequence[Attempt] = (), model: str | None = None) -> None:
        self.attempts = tuple(attempts)
        self.model = model
        self.status = self.status_code
        self.retry_after = None
        Exception.__init__(self, message)


class ChatCascadeRateLimitError(_ExhaustedProviderError, RateLimitError, ExhaustedError, ModelRateLimitError):
    """Every model of the plan was rate-limited by its provider (HTTP 429)."""

    status_code = 429


class ChatCascadeTimeoutError(
    _ExhaustedProviderError, ProviderTimeoutError, ExhaustedError, ModelTimeoutError
):
    """Every model of the plan timed out."""


class ChatCascadeConnectionError(
    _ExhaustedProviderError, ProviderConnectionError, ExhaustedError, ModelConnectionError
):
    """No model of the plan could be reached."""


class ChatCascadeAPIError(_ExhaustedProviderError, ServiceUnavailableError, ExhaustedError, ModelAPIError):
    """Every model of the plan failed with a server error (5xx)."""


class ChatCascadeContextOverflowError(
    _ExhaustedProviderError, ContextWindowError, ExhaustedError, ContextOverflowError
):
    """The prompt fits the context window of no model of the plan."""


class ChatCascadeAuthenticationError(
    _ExhaustedProviderError, AuthenticationError, ExhaustedError, ModelAuthenticationError
):
    """Every model of the plan refused the API key (HTTP 401)."""

    status_code = 401


class ChatCascadeInvalidRequestError(
    _ExhaustedProviderError, BadRequestError, ExhaustedError, ModelInvalidRequestError
):
    """Every model of the plan rejected the request as invalid (HTTP 400)."""

    status_code = 400


class ChatCascadeUserRateLimitError(UserRateLimitError, ModelRateLimitError):
    """The tracker's per-user rate limit was hit; ``retry_after`` says when to come back (seconds)."""


_BY_KIND: dict[str, type[_ExhaustedProviderError]] = {
    "rate_limit": ChatCascadeRateLimitError,
    "timeout": ChatCascadeTimeoutError,
    "connection": ChatCascadeConnectionError,
    "unavailable": ChatCascadeAPIError,
    "context_window": ChatCascadeContextOverflowError,
    "authentication": ChatCascadeAuthenticationError,
    "bad_request": ChatCascadeInvalidRequestError,
}


def project_error(error: CascadeError) -> CascadeError:
    """The error ``ChatCascade`` raises for a core error (the same object when no LangChain class fits)."""
    if isinstance(error, UserRateLimitError) and not isinstance(error, ModelRateLimitError):
        return ChatCascadeUserRateLimitError(
            str(error), user=error.user, retry_after=error.retry_after, context=error.context
        )
    if isinstance(error, ProviderError) and not isinstance(error, ExhaustedError):
        # A configuration error (bad key, unknown model) is raised at once, not after the whole plan.
        direct: Any = _BY_KIND.get(error.kind)
        if direct is not None:
            return direct(str(error), model=error.model)
    if isinstance(error, ExhaustedError) and not isinstance(error, _ExhaustedProviderError):
        kinds = {a.error_kind for a in error.attempts}
        if error.attempts and all(a.status == "error" for a in error.attempts) and len(kinds) == 1:
            cls: Any = _BY_KIND.get(next(iter(kinds)) or "")
            if cls is not None:
                return cls(str(error), attempts=error.attempts, model=error.attempts[-1].model)
    return error
