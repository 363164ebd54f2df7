"""The cascade logic, written once and doing no I/O.

``run_cascade`` is a generator: it *yields effects* (call these models, invoke this station, sleep,
emit this stream event) and is *sent their results*. The sync, async and streaming drivers in
``_cascade.py`` perform the effects; none of them contains cascade logic, so they cannot drift apart
(the httpx auth-flow pattern).

Flow of one request::

    guardrails.check_input -> router.plan -> tracker.admit -> (degrade: router.plan again) -> cache.get
    -> for each tier: call its models (concurrently) -> retries / fallbacks on provider errors
       -> validator verdict -> guardrails.check_output -> accept, or escalate to the next tier
    -> cache.set -> tracker.settle (always, also when the request failed)
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import random
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .._errors import ConfigError, ExhaustedError, GuardrailError, ProviderError
from .._protocols import Admission, Cache, GuardrailPipeline, Plan, Router, Tracker
from .._types import (
    PII_ROUTE_KEY,
    Attempt,
    AttemptStatus,
    CascadeResult,
    Draft,
    InvalidToolCall,
    ModelSpec,
    Request,
    StreamEvent,
    Tier,
    sum_costs,
)
from ..validation._defaults import ConfidentOrRules, default_threshold
from ..validation._rules import tool_call_problems
from ..validation._validators import AllOf, RuleValidator, as_verdict, default_validator, needs_logprobs
from ._breaker import CircuitBreaker

log = logging.getLogger("cascadeflow.engine")

__all__ = [
    "Call",
    "Emit",
    "Invoke",
    "NOT_PERFORMED",
    "RetryPolicy",
    "Sleep",
    "Stations",
    "plain_plan",
    "plan_estimate",
    "run_cascade",
]


# --- effects -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """Call these models with this request, concurrently; send back a list of ``Draft | ProviderError``.

    ``live``: stream the (single) model's text out as ``delta`` events while it arrives.
    """

    tier: str
    specs: tuple[ModelSpec, ...]
    request: Request
    live: bool = False


@dataclass(frozen=True)
class Invoke:
    """Call a station (validator, guardrail, tracker, cache); ``offload``: it may block on I/O."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    offload: bool = False


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Emit:
    event: StreamEvent


Effect = Call | Invoke | Sleep | Emit


# --- configuration -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries of one model call before falling through to a fallback or the next tier.

    Delay is exponential backoff with full jitter, or the provider's ``retry-after`` when it gave one;
    a ``retry-after`` longer than ``max_retry_after`` skips the retry (the next tier answers instead of
    waiting). Only transient errors (rate limit, timeout, connection, 5xx, malformed) are retried.

    A configuration error (``AuthenticationError``, ``ModelNotFoundError``: a missing or mistyped key,
    an unknown model) is raised by default instead of falling through to a fallback or the next, dearer
    tier, where a user would pay the verifier's price for every request without knowing why.
    ``escalate_config_errors=True`` escalates past it instead, with a warning in the log each time and the
    failed attempt in the trace.

    Example:
        >>> RetryPolicy(max_retries=2, backoff=0.1).max_retries
        2
    """

    max_retries: int = 1
    backoff: float = 0.25
    max_backoff: float = 4.0
    max_retry_after: float = 10.0
    escalate_config_errors: bool = False

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or self.max_retries < 0
        ):
            raise ConfigError("RetryPolicy.max_retries", f"must be an int >= 0, got {self.max_retries!r}")
        for name in ("backoff", "max_backoff", "max_retry_after"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise ConfigError(f"RetryPolicy.{name}", f"must be a number of seconds >= 0, got {v!r}")

    def delay(self, retry_number: int, error: ProviderError, rng: random.Random) -> float | None:
        """Seconds to wait before retry ``retry_number`` (1-based), or None to stop retrying."""
        if retry_number > self.max_retries or not error.retryable:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after else None
        cap = min(self.max_backoff, self.backoff * (2 ** (retry_number - 1)))
        return rng.uniform(0, cap)


@dataclass(frozen=True)
class Stations:
    """Everything the engine needs, resolved by ``Cascade`` at construction."""

    tiers: tuple[Tier, ...]
    router: Router
    tracker: Tracker | None = None
    guardrails: GuardrailPipeline | None = None
    cache: Cache | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    optimistic: bool = False
    strict: bool = False  # stream nothing live, not even the last tier
    estimate: Callable[[ModelSpec, Request], float] | None = None
    verifier_cost: Callable[[ModelSpec, Request, Draft], float | None] | None = None
    cache_scope: str = ""  # the cascade's configuration fingerprint, mixed into every cache key
    call_timeout_s: float = 120.0  # a model call's timeout when its params name none (the backend's default)
    breaker: CircuitBreaker | None = None
    # ``(tier name, accepted draft, request id) -> reason | None``: a reason sends the draft on to the next
    # tier (audit tightening after a drift); the reason goes into the trace.
    hold: Callable[[str, Draft, str], str | None] | None = None


def plain_plan(request: Request, tiers: tuple[Tier, ...], admission: Admission | None) -> Plan:
    """All tiers in order; a ``degrade`` admission drops the most expensive (last) tier."""
    if admission is not None and admission.decision == "degrade" and len(tiers) > 1:
        dropped = tiers[-1].name or f"tier{len(tiers)}"
        return Plan(tiers[:-1], (f"degrade: dropped tier {dropped!r} ({admission.message or 'budget'})",))
    return Plan(tiers, ())


def plan_estimate(
    estimate: Callable[[ModelSpec, Request], float], tiers: Sequence[Tier], req: Request
) -> float:
    """What the plan may cost at most: per model slot, the dearest of the model and its tier's fallbacks.

    A slot makes at most one successful (charged) call: the model, or a fallback once the model failed.
    """
    total = 0.0
    for t in tiers:
        backups = [estimate(f, req) for f in t.fallback_specs]
        for s in t.specs:
            total += max([estimate(s, req), *backups])
    return total


def _pii_route(plan: Plan, kinds: Sequence[str], records: list[Mapping[str, Any]]) -> Plan:
    """The plan cut to the tiers that may see personal data (``Guardrails(pii="route")``).

    Raises:
        GuardrailError: no tier of the plan may see it; nothing was sent.
    """
    allowed = tuple(t for t in plan.tiers if t.sees_pii)
    names = [str(t.name) for t in allowed]
    dropped = [str(t.name) for t in plan.tiers if not t.sees_pii]
    records.append(
        {"stage": "route", "check": "pii", "entities": list(kinds), "tiers": names, "action": "route"}
    )
    if not allowed:
        records[-1] = {**records[-1], "action": "block"}
        raise GuardrailError(
            f"the request contains personal data ({', '.join(kinds)}) and no tier of the plan "
            f"({', '.join(dropped) or 'none'}) may see it; it was not sent to any model. Mark a local or "
            "in-VPC tier Tier(..., pii_allowed=True), or use Guardrails(pii='redact')",
            tuple(records),
        )
    why = f"pii ({', '.join(kinds)}): only tiers allowed to see it: {', '.join(names)}"
    return replace(
        plan,
        tiers=allowed,
        reasons=(*plan.reasons, why + (f"; dropped {', '.join(dropped)}" if dropped else "")),
    )


# Request ids: a random per-process prefix and a counter (uuid4 costs ~30 us on some VMs).
_ID_PREFIX = os.urandom(8).hex()
_IDS = itertools.count(1)


def _new_id_prefix() -> None:
    global _ID_PREFIX
    _ID_PREFIX = os.urandom(8).hex()


os.register_at_fork(after_in_child=_new_id_prefix)  # forked workers must not reuse the parent's ids
_RNG = random.Random()  # jitter only; seeding one per request would cost ~0.2 ms


# --- the logic -----------------------------------------------------------------------------------------


def run_cascade(
    st: Stations, request: Request, streaming: bool = False
) -> Generator[Effect, Any, CascadeResult]:
    """The whole request, as a generator of effects returning the ``CascadeResult``."""
    return _Run(st, request, streaming).execute()


_NO_PLAN = Plan(())


class _Run:
    def __init__(self, st: Stations, request: Request, streaming: bool) -> None:
        self.st = st
        self.request = request
        self.streaming = streaming
        self.attempts: list[Attempt] = []
        self.guard_records: list[Mapping[str, Any]] = []
        self.request_id = f"{_ID_PREFIX}{next(_IDS):08x}"
        self.t0 = time.perf_counter()
        self.rng = _RNG
        self.plan = _NO_PLAN  # until the router has planned
        self.admission: Admission | None = None
        self.forced = False  # the answer was returned only because it came from the last tier
        self.hold_until = float("inf")  # perf_counter time the reservation is held until
        self.invalid_calls: tuple[InvalidToolCall, ...] = ()

    def execute(self) -> Generator[Effect, Any, CascadeResult]:
        st = self.st
        req = self.request
        if st.guardrails is not None:
            try:
                req, records = yield Invoke(st.guardrails.check_input, (req,))
            except GuardrailError as e:
                if st.tracker is not None:  # a blocked request is booked too (decision types, no values)
                    yield Invoke(
                        st.tracker.settle,
                        (None, req, (), None, self.request_id, tuple(e.decision or ())),
                        True,
                    )
                raise
            self.guard_records.extend(records)
        self.plan = st.router.plan(req, st.tiers, None)
        if st.tracker is not None:
            estimate = plan_estimate(st.estimate, self.plan.tiers, req) if st.estimate else 0.0
            self.admission = yield Invoke(st.tracker.admit, (req, self.plan, estimate), True)
            details = getattr(self.admission, "details", None) or {}
            if isinstance(details.get("hold_s"), (int, float)) and callable(
                getattr(st.tracker, "hold", None)
            ):
                self.hold_until = self.t0 + float(details["hold_s"])
            if self.admission is not None and self.admission.decision == "degrade":
                self.plan = st.router.plan(req, st.tiers, self.admission)
            self.plan = _sticky_start(self.plan, self.admission)
        try:
            result = yield from self._answer(req)
        except GeneratorExit:
            # The consumer abandoned a stream: effects can no longer run, so settle directly.
            if st.tracker is not None:
                st.tracker.settle(
                    self.admission,
                    req,
                    tuple(self.attempts),
                    None,  # type: ignore[arg-type]
                    self.request_id,
                )
            raise
        except BaseException:
            if st.tracker is not None:
                yield Invoke(
                    st.tracker.settle,
                    self._settle_args(req, tuple(self.attempts), None, self.guard_records),
                    True,
                )
            raise
        if st.tracker is not None:
            yield Invoke(
                st.tracker.settle, self._settle_args(req, result.attempts, result, self.guard_records), True
            )
        return result

    def _settle_args(
        self,
        req: Request,
        attempts: tuple[Attempt, ...],
        result: CascadeResult | None,
        records: Sequence[Mapping[str, Any]],
    ) -> tuple[Any, ...]:
        # Guardrail records go along only when there are some: custom trackers may take five arguments.
        args = (self.admission, req, attempts, result, self.request_id)
        return (*args, tuple(records)) if records else args

    def _answer(self, req: Request) -> Generator[Effect, Any, CascadeResult]:
        if req.private.get(PII_ROUTE_KEY):
            self.plan = _pii_route(self.plan, req.private[PII_ROUTE_KEY], self.guard_records)
        creq = _scoped(req, self.st.cache_scope) if self.st.cache is not None else req
        if self.st.cache is not None:
            hit = yield Invoke(self.st.cache.get, (creq,), True)
            if hit is not None:
                draft = replace(hit, cost=0.0, cached=True)
                info = hit.raw if isinstance(hit.raw, Mapping) else {}
                why = (
                    f"semantic cache hit (similarity {info.get('similarity', 0):.3f})"
                    if info.get("cache") == "semantic"
                    else "exact cache hit"
                )
                self.attempts.append(
                    Attempt(
                        "cache",
                        draft.model,
                        "accepted",
                        draft.input_tokens,
                        draft.output_tokens,
                        0.0,
                        0.0,
                        1.0,
                        (why,),
                        cached=True,
                    )
                )
                draft = self._restore(draft, req)
                yield from self._emit_answer(draft)
                return self._result(draft, "cache", escalated=False)
        if not self.plan.tiers:
            raise ExhaustedError.of("the router left no tier to try", self.attempts)
        for idx, tier in enumerate(self.plan.tiers):
            final = idx == len(self.plan.tiers) - 1
            answer = yield from self._run_tier(tier, req, final)
            if answer is not None:
                # Cached as answered (placeholders, never restored PII), and only when it was accepted
                # on its merits: a last-tier answer its validator or guardrail rejected is not served again.
                if self.st.cache is not None and not self.forced:
                    yield Invoke(self.st.cache.set, (creq, answer), True)
                return self._result(self._restore(answer, req), self._name(tier), escalated=idx > 0)
        raise ExhaustedError.of("every tier of the plan failed or was rejected", self.attempts)

    def _name(self, tier: Tier) -> str:
        if tier.name:
            return tier.name
        return next((f"tier{i + 1}" for i, t in enumerate(self.st.tiers) if t is tier), "tier")

    def _run_tier(self, tier: Tier, req: Request, final: bool) -> Generator[Effect, Any, Draft | None]:
        name = self._name(tier)
        validator = tier.validator or _tier_default(tier, final)
        treq = _with_logprobs(req) if needs_logprobs(validator) else req
        live = (
            self.streaming and len(tier.specs) == 1 and not self.st.strict and (final or self.st.optimistic)
        )
        drafts = yield from self._call_tier(name, tier, treq, live)
        if not drafts:
            return None
        # A validator that computes (embeddings) or calls a model (a judge) says offload: async drivers
        # run it in a thread instead of blocking the event loop.
        offload = bool(getattr(validator, "offload", False))
        raw = yield Invoke(validator, (tuple(d for _, d in drafts), treq), offload)
        verdict = as_verdict(raw, getattr(validator, "name", "validator"))
        chosen = verdict.chosen if 0 <= verdict.chosen < len(drafts) else 0
        draft = drafts[chosen][1]
        accept, reasons = verdict.accept, verdict.reasons
        if final and not accept:
            self.forced = True
            accept, reasons = True, (*reasons, "returned anyway: this is the last tier of the plan")
            if draft.tool_calls:  # never hand a rejected call to an agent as a valid one
                draft, self.invalid_calls = _split_invalid(draft, treq)
        if self.st.guardrails is not None:
            check = yield Invoke(self.st.guardrails.check_output, (draft, req))
            self.guard_records.extend(check.decisions)
            draft = check.draft
            if check.block:
                self._record(
                    name,
                    drafts,
                    chosen,
                    False,
                    verdict.score,
                    (*reasons, f"blocked by the output guardrail: {check.reason}"),
                )
                self._record_charges(name, verdict)
                raise GuardrailError(
                    f"answer blocked by an output guardrail: {check.reason}", check.decisions
                )
            if not check.ok:
                accept, reasons = final, (*reasons, f"rejected by the output guardrail: {check.reason}")
                if final:
                    self.forced = True
                    reasons = (
                        *reasons,
                        "returned as the guardrails left it: this is the last tier of the plan",
                    )
            elif check.reason:
                reasons = (*reasons, f"output guardrail: {check.reason} (redacted)")
        if accept and not final and self.st.hold is not None:
            held = self.st.hold(name, draft, self.request_id)
            if held:
                accept, reasons = False, (*reasons, held)
        self._record(name, drafts, chosen, accept, verdict.score, reasons)
        self._record_charges(name, verdict)
        if accept:
            if not live and self.streaming:
                yield from self._emit_answer(self._restore(draft, req))
            elif draft.tool_calls:
                yield Emit(StreamEvent("tool_call", model=draft.model, tool_calls=draft.tool_calls))
            return draft
        if live:
            yield Emit(StreamEvent("escalation", model=draft.model, reason="; ".join(reasons)))
        return None

    def _restore(self, draft: Draft, req: Request) -> Draft:
        restore = getattr(self.st.guardrails, "restore", None)
        return draft if restore is None else restore(draft, req)

    def _emit_answer(self, draft: Draft) -> Generator[Effect, Any, None]:
        if not self.streaming:
            return
        if draft.text:
            yield Emit(StreamEvent("delta", text=draft.text, model=draft.model))
        if draft.tool_calls:
            yield Emit(StreamEvent("tool_call", model=draft.model, tool_calls=draft.tool_calls))

    def _call_tier(
        self, name: str, tier: Tier, req: Request, live: bool
    ) -> Generator[Effect, Any, list[tuple[ModelSpec, Draft]]]:
        fallbacks = [s for s in tier.fallback_specs if self._may_call(name, s)]
        specs = [s for s in tier.specs if self._may_call(name, s)]
        while not specs and fallbacks:
            specs.append(fallbacks.pop(0))
        if not specs:
            return []
        outs = yield from self._call(name, tuple(specs), req, live)
        drafts: list[tuple[ModelSpec, Draft]] = []
        for spec, out in zip(specs, outs, strict=True):
            retries = 0
            self._health(spec, out)
            while isinstance(out, ProviderError):
                self.attempts.append(Attempt(name, spec.label, "error", error=str(out), error_kind=out.kind))
                if out.configuration:
                    if not self.st.retry.escalate_config_errors:
                        raise out
                    log.warning(
                        "%s: %s; escalating past it (escalate_config_errors=True)", spec.label, out.kind
                    )
                if getattr(out, "emitted", False):
                    yield Emit(
                        StreamEvent(
                            "escalation",
                            model=spec.label,
                            reason=f"{spec.label} failed mid-stream ({out.kind}); retrying elsewhere",
                        )
                    )
                retries += 1
                delay = self.st.retry.delay(retries, out, self.rng)
                if delay is None or not self._may_call(name, spec, record=False):
                    if not fallbacks:
                        break
                    spec, retries = fallbacks.pop(0), 0
                elif delay > 0:
                    yield Sleep(delay)
                out = (yield from self._call(name, (spec,), req, live))[0]
                self._health(spec, out)
            if isinstance(out, Draft):
                drafts.append((spec, out))
        return drafts

    def _call(
        self, name: str, specs: tuple[ModelSpec, ...], req: Request, live: bool
    ) -> Generator[Effect, Any, list[Any]]:
        """One ``Call`` effect: the reservation held long enough first; a cancelled call still booked."""
        need = max(_call_timeout(s, req, self.st.call_timeout_s) for s in specs) + _HOLD_MARGIN_S
        if time.perf_counter() + need > self.hold_until:
            held = yield Invoke(self.st.tracker.hold, (self.admission, need), True)  # type: ignore[union-attr]
            self.hold_until = time.perf_counter() + float(held)
        try:
            return (yield Call(name, specs, req, live))
        except BaseException as e:
            if getattr(e, NOT_PERFORMED, False):
                raise
            # Cancelled (or the consumer left) while the provider was working: the call was made and
            # may be billed. Book it at its estimate, marked as such, never as free.
            for spec in specs:
                cost = self.st.estimate(spec, req) if self.st.estimate is not None else 0.0
                self.attempts.append(
                    Attempt(
                        name,
                        spec.label,
                        "error",
                        cost=cost,
                        error="cancelled during the call; usage never arrived, cost is the estimate",
                        error_kind="cancelled",
                    )
                )
            raise

    def _may_call(self, tier: str, spec: ModelSpec, record: bool = True) -> bool:
        """False while the model's circuit breaker is open; the skip is kept in the trace."""
        breaker = self.st.breaker
        until = breaker.open_until(spec.label) if breaker is not None else None
        if until is None:
            return True
        if record:
            when = time.strftime("%H:%M:%S", time.gmtime(until))
            why = f"skipped: cooling down until {when} UTC after repeated failures (circuit breaker)"
            self.attempts.append(Attempt(tier, spec.label, "error", error=why, error_kind="circuit_open"))
        return False

    def _health(self, spec: ModelSpec, out: object) -> None:
        if self.st.breaker is not None and not getattr(out, "cached", False):
            self.st.breaker.record(spec.label, out)

    def _record(
        self,
        name: str,
        drafts: list[tuple[ModelSpec, Draft]],
        chosen: int,
        accept: bool,
        score: float,
        reasons: tuple[str, ...],
    ) -> None:
        for i, (_, d) in enumerate(drafts):
            status: AttemptStatus
            if i == chosen:
                status = "accepted" if accept else "rejected"
                why = reasons
            else:
                status = "superseded" if accept else "rejected"
                why = ("another drafter's answer was returned",) if accept else reasons
            self.attempts.append(
                Attempt(
                    name,
                    d.model,
                    status,
                    d.input_tokens,
                    d.output_tokens,
                    d.cost,
                    d.latency_s,
                    score,
                    why,
                    cached=d.cached,
                    first_chunk_s=d.first_chunk_s,
                )
            )

    def _record_charges(self, name: str, verdict: Any) -> None:
        """A validator's own model calls (a judge grading a draft), booked like any other attempt."""
        for d in getattr(verdict, "charges", ()):
            self.attempts.append(
                Attempt(
                    name,
                    d.model,
                    "judge",
                    d.input_tokens,
                    d.output_tokens,
                    d.cost,
                    d.latency_s,
                    verdict.score,
                    (f"graded a draft for validator {verdict.validator or 'judge'}",),
                )
            )

    def _verifier_cost(self, answer: Draft) -> float | None:
        verifier = self.st.tiers[-1]
        vname = self._name(verifier)
        spent = [a for a in self.attempts if a.tier == vname and a.status not in ("error", "judge")]
        if spent:
            total = sum_costs(a.cost for a in spent)
            return None if total is None else total / len({a.model for a in spent})
        if self.st.verifier_cost is None:
            return None
        return self.st.verifier_cost(verifier.specs[0], self.request, answer)

    def _result(self, draft: Draft, tier_name: str, escalated: bool) -> CascadeResult:
        attempts = tuple(self.attempts)
        adm = self.admission
        cost, in_tok, out_tok = sum_costs(a.cost for a in attempts), 0, 0
        for a in attempts:
            if not a.cached:
                in_tok += a.input_tokens
                out_tok += a.output_tokens
        return CascadeResult(
            text=draft.text,
            model=draft.model,
            tier=tier_name,
            attempts=attempts,
            cost=cost,
            verifier_cost=self._verifier_cost(draft),
            escalated=escalated,
            latency_s=time.perf_counter() - self.t0,
            tool_calls=draft.tool_calls,
            finish_reason=draft.finish_reason,
            input_tokens=in_tok,
            output_tokens=out_tok,
            cached=draft.cached,
            route=self.plan.reasons,
            guardrails=tuple(self.guard_records),
            admission=None
            if adm is None
            else {"decision": adm.decision, "message": adm.message, "reserved": adm.reserved},
            request_id=self.request_id,
            user=self.request.user,
            tags=self.request.tags,
            draft=draft,
            invalid_tool_calls=self.invalid_calls,
        )


def _sticky_start(plan: Plan, admission: Admission | None) -> Plan:
    """The plan from the tier an agent run escalated to earlier on (``admission.details["start_tier"]``)."""
    start = admission.details.get("start_tier") if admission is not None and admission.details else None
    if start is None:
        return plan
    names = [t.name for t in plan.tiers]
    if start not in names or names.index(start) == 0:
        return plan
    skipped = names[: names.index(start)]
    why = (
        f"sticky: run {admission.details.get('run_id')!r} escalated to {start!r} earlier; "  # type: ignore[union-attr]
        f"starting there (skipped {', '.join(map(repr, skipped))})"
    )
    return Plan(plan.tiers[names.index(start) :], (*plan.reasons, why))


@functools.lru_cache(maxsize=8)
def _shared_default(several: bool, threshold: float | None = None) -> Callable[..., Any]:
    """One default validator per kind, built once (they hold no state; building one per request cost ~1 us).

    ``threshold``: a one-model drafter tier whose provider returns logprobs requires a confident draft.
    """
    if several or threshold is None:
        return default_validator(2 if several else 1)
    return AllOf(RuleValidator(), ConfidentOrRules(threshold, name="default-logprob"))


def _tier_default(tier: Tier, final: bool) -> Callable[..., Any]:
    if len(tier.specs) >= 2:
        return _shared_default(True)
    return _shared_default(False, None if final else default_threshold(tier.specs[0].model))


_HOLD_MARGIN_S = 30.0
NOT_PERFORMED = "_cascadeflow_not_performed"  # set on an exception a driver throws before running the effect


def _call_timeout(spec: ModelSpec, req: Request, default: float) -> float:
    """Seconds a call to ``spec`` may take: its ``timeout`` param, the request's, else the default."""
    for value in (spec.params.get("timeout"), req.params.get("timeout")):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
    return default


def _scoped(req: Request, scope: str) -> Request:
    """The request as the cache sees it: with the cascade's fingerprint (never sent to a provider)."""
    if not scope:
        return req
    return replace(req, private={**req.private, "cascade_fingerprint": scope})


def _split_invalid(draft: Draft, req: Request) -> tuple[Draft, tuple[InvalidToolCall, ...]]:
    """The last tier's rejected draft without its malformed tool calls, and those calls with the reason.

    A call is invalid when it breaks the request's tools: an unknown name, a ``tool_choice`` it does not
    honour, arguments that are not a JSON object fitting the tool's parameters. A call that fits stays
    valid even if the validator rejected the draft for another reason (hedging text, disagreement): the
    trace's "returned anyway" says so.
    """
    problems = tool_call_problems(draft.tool_calls, req.tools, req.tool_choice)
    if not any(problems):
        return draft, ()
    calls = draft.tool_calls
    invalid = tuple(
        InvalidToolCall(c.id, c.name, c.arguments, p) for c, p in zip(calls, problems, strict=True) if p
    )
    valid = tuple(c for c, p in zip(calls, problems, strict=True) if not p)
    return replace(draft, tool_calls=valid), invalid


def _with_logprobs(req: Request) -> Request:
    if "logprobs" in req.params:
        return req
    return replace(req, params={**req.params, "logprobs": True})
