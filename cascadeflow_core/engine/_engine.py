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
import os
import random
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .._errors import ConfigError, ExhaustedError, GuardrailError, ProviderError
from .._protocols import Admission, Cache, GuardrailPipeline, Plan, Router, Tracker
from .._types import (
    Attempt,
    AttemptStatus,
    CascadeResult,
    Draft,
    ModelSpec,
    Request,
    StreamEvent,
    Tier,
    sum_costs,
)
from ..validation._validators import as_verdict, default_validator, needs_logprobs

__all__ = ["Call", "Emit", "Invoke", "RetryPolicy", "Sleep", "Stations", "plain_plan", "run_cascade"]


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

    Example:
        >>> RetryPolicy(max_retries=2, backoff=0.1).max_retries
        2
    """

    max_retries: int = 1
    backoff: float = 0.25
    max_backoff: float = 4.0
    max_retry_after: float = 10.0

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


def plain_plan(request: Request, tiers: tuple[Tier, ...], admission: Admission | None) -> Plan:
    """All tiers in order; a ``degrade`` admission drops the most expensive (last) tier."""
    if admission is not None and admission.decision == "degrade" and len(tiers) > 1:
        dropped = tiers[-1].name or f"tier{len(tiers)}"
        return Plan(tiers[:-1], (f"degrade: dropped tier {dropped!r} ({admission.message or 'budget'})",))
    return Plan(tiers, ())


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
            estimate = (
                sum(st.estimate(s, req) for t in self.plan.tiers for s in t.specs) if st.estimate else 0.0
            )
            self.admission = yield Invoke(st.tracker.admit, (req, self.plan, estimate), True)
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
        if self.st.cache is not None:
            hit = yield Invoke(self.st.cache.get, (req,), True)
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
            raise ExhaustedError("the router left no tier to try", self.attempts)
        for idx, tier in enumerate(self.plan.tiers):
            final = idx == len(self.plan.tiers) - 1
            answer = yield from self._run_tier(tier, req, final)
            if answer is not None:
                if self.st.cache is not None:  # cached as answered: placeholders, never restored PII
                    yield Invoke(self.st.cache.set, (req, answer), True)
                return self._result(self._restore(answer, req), self._name(tier), escalated=idx > 0)
        raise ExhaustedError("every tier of the plan failed or was rejected", self.attempts)

    def _name(self, tier: Tier) -> str:
        if tier.name:
            return tier.name
        return next((f"tier{i + 1}" for i, t in enumerate(self.st.tiers) if t is tier), "tier")

    def _run_tier(self, tier: Tier, req: Request, final: bool) -> Generator[Effect, Any, Draft | None]:
        name = self._name(tier)
        validator = tier.validator or _shared_default(len(tier.specs) >= 2)
        treq = _with_logprobs(req) if needs_logprobs(validator) else req
        live = (
            self.streaming and len(tier.specs) == 1 and not self.st.strict and (final or self.st.optimistic)
        )
        drafts = yield from self._call_tier(name, tier, treq, live)
        if not drafts:
            return None
        raw = yield Invoke(validator, (tuple(d for _, d in drafts), treq))
        verdict = as_verdict(raw, getattr(validator, "name", "validator"))
        chosen = verdict.chosen if 0 <= verdict.chosen < len(drafts) else 0
        draft = drafts[chosen][1]
        accept, reasons = verdict.accept, verdict.reasons
        if final and not accept:
            accept, reasons = True, (*reasons, "returned anyway: this is the last tier of the plan")
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
                raise GuardrailError(
                    f"answer blocked by an output guardrail: {check.reason}", check.decisions
                )
            if not check.ok:
                accept, reasons = final, (*reasons, f"rejected by the output guardrail: {check.reason}")
                if final:
                    reasons = (
                        *reasons,
                        "returned as the guardrails left it: this is the last tier of the plan",
                    )
            elif check.reason:
                reasons = (*reasons, f"output guardrail: {check.reason} (redacted)")
        self._record(name, drafts, chosen, accept, verdict.score, reasons)
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
        outs = yield Call(name, tier.specs, req, live)
        fallbacks = list(tier.fallback_specs)
        drafts: list[tuple[ModelSpec, Draft]] = []
        for spec, out in zip(tier.specs, outs, strict=True):
            retries = 0
            while isinstance(out, ProviderError):
                self.attempts.append(Attempt(name, spec.label, "error", error=str(out), error_kind=out.kind))
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
                if delay is None:
                    if not fallbacks:
                        break
                    spec, retries = fallbacks.pop(0), 0
                elif delay > 0:
                    yield Sleep(delay)
                out = (yield Call(name, (spec,), req, live))[0]
            if isinstance(out, Draft):
                drafts.append((spec, out))
        return drafts

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

    def _verifier_cost(self, answer: Draft) -> float | None:
        verifier = self.st.tiers[-1]
        vname = self._name(verifier)
        spent = [a for a in self.attempts if a.tier == vname and a.status != "error"]
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


@functools.lru_cache(maxsize=2)
def _shared_default(several: bool) -> Callable[..., Any]:
    """One default validator per kind, built once (they hold no state; building one per request cost ~1 us)."""
    return default_validator(2 if several else 1)


def _with_logprobs(req: Request) -> Request:
    if "logprobs" in req.params:
        return req
    return replace(req, params={**req.params, "logprobs": True})
