"""The small contracts between the engine and its stations.

The engine (``_engine.py``) walks a request through: input guardrails -> tracker admission -> router
plan -> tiers (backend calls + validator) -> output guardrails -> tracker settlement. Each station is
a small protocol here, so any of them can be replaced by the developer's own object or callable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from ._types import Attempt, CascadeResult, Draft, ModelSpec, Request, Tier, Verdict

__all__ = [
    "Admission",
    "Cache",
    "GuardrailPipeline",
    "ModelBackend",
    "OutputCheck",
    "Plan",
    "Router",
    "Tracker",
    "Validator",
]

Decision = Literal["allow", "warn", "degrade", "block"]


@runtime_checkable
class ModelBackend(Protocol):
    """How the engine calls one model. LiteLLM is the default; adapters may wrap a framework's model.

    ``stream``/``astream`` yield text deltas (``str``) and end with exactly one complete ``Draft``.
    Every failure is raised as a ``ProviderError`` subclass.
    """

    def complete(self, spec: ModelSpec, request: Request) -> Draft: ...

    async def acomplete(self, spec: ModelSpec, request: Request) -> Draft: ...

    def stream(self, spec: ModelSpec, request: Request) -> Iterator[str | Draft]: ...

    def astream(self, spec: ModelSpec, request: Request) -> AsyncIterator[str | Draft]: ...


class Validator(Protocol):
    """Judges a tier's drafts. A plain function works too.

    May return a ``Verdict``, a ``bool`` (accept or not), or a ``float`` score (accept when >= 0.5),
    or an awaitable of any of these.
    """

    def __call__(
        self, drafts: Sequence[Draft], request: Request
    ) -> Verdict | bool | float | Awaitable[Verdict | bool | float]: ...


@dataclass(frozen=True)
class Plan:
    """The ordered tiers to try for one request, and why the router chose them."""

    tiers: tuple[Tier, ...]
    reasons: tuple[str, ...] = ()
    domain: str | None = None
    complexity: str | None = None


class Router(Protocol):
    """Builds the plan for a request from the configured tiers and the tracker's decision."""

    def plan(self, request: Request, tiers: Sequence[Tier], admission: Admission | None) -> Plan: ...


@dataclass(frozen=True)
class Admission:
    """The tracker's decision at admission: allow / warn / degrade (block raises instead).

    ``reservation`` is an opaque handle the tracker uses at settlement; ``reserved`` the dollars held.
    """

    decision: Decision = "allow"
    message: str = ""
    reserved: float = 0.0
    reservation: Any = None
    details: Mapping[str, Any] = field(default_factory=dict)


class Tracker(Protocol):
    """Admission (rate limits, budgets, reserve) before a request; settlement (ledger) after it.

    ``admit`` raises ``BudgetExceededError`` / ``UserRateLimitError`` to block. ``settle`` is always
    called once per admitted request, with every attempt made, also when the request failed.
    Both are synchronous; async drivers run them in a worker thread.
    """

    def admit(self, request: Request, plan: Plan, estimate: float) -> Admission: ...

    def settle(
        self,
        admission: Admission,
        request: Request,
        attempts: Sequence[Attempt],
        result: CascadeResult | None,
        request_id: str,
        guardrails: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Book the attempts. ``guardrails`` (the request's guardrail decisions) is passed only when
        there are some, so a tracker that takes five arguments keeps working without guardrails; a
        request blocked before any model call arrives with no admission and no attempts."""


@dataclass(frozen=True)
class OutputCheck:
    """What output guardrails decided about one draft.

    ``ok`` False means the draft counts as a failed validation (the cascade escalates), unless
    ``block`` is set, in which case the request ends with ``GuardrailError``. ``draft`` may be a
    redacted copy of the input draft. ``decisions`` are JSON-ready records (entity types, never values).
    """

    ok: bool
    draft: Draft
    decisions: tuple[Mapping[str, Any], ...] = ()
    block: bool = False
    reason: str = ""


class GuardrailPipeline(Protocol):
    """Input and output guardrails. ``check_input`` may return a redacted request; it raises
    ``GuardrailError`` to block. ``check_output`` judges one answer. Either may return an awaitable.
    Optional extras the engine uses when present: ``restore(draft, request) -> Draft`` (put redacted
    values back into the answer the caller gets) and ``stream_filter(request)`` (an object with
    ``feed(text) -> text`` and ``flush() -> text`` applied to live-streamed deltas)."""

    def check_input(self, request: Request) -> tuple[Request, tuple[Mapping[str, Any], ...]]: ...

    def check_output(self, draft: Draft, request: Request) -> OutputCheck: ...


class Cache(Protocol):
    """Response cache keyed by the normalised request; a hit costs nothing."""

    def get(self, request: Request) -> Draft | None: ...

    def set(self, request: Request, draft: Draft) -> None: ...
