"""``Cascade``: the public entry point, and the sync / async / streaming drivers over the engine.

The drivers only perform the engine's effects (``_engine.py``); every decision is made there.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ._errors import CascadeError, ConfigError, InputError, MalformedResponseError, ProviderError
from ._protocols import Admission, Cache, GuardrailPipeline, ModelBackend, Plan, Router, Tracker
from ._types import Attempt, CascadeResult, Draft, ModelSpec, Request, StreamEvent, Tier
from .caching._cache import cascade_fingerprint
from .engine._breaker import CircuitBreaker
from .engine._engine import (
    NOT_PERFORMED,
    Call,
    Emit,
    Invoke,
    RetryPolicy,
    Sleep,
    Stations,
    plain_plan,
    run_cascade,
)
from .engine._perform import invoke_shielded, invoke_sync
from .providers._litellm import DEFAULT_TIMEOUT_S, LiteLLMBackend, estimate_cost, price
from .tracking._audit import Audit
from .validation._defaults import warn_rules_only

__all__ = ["Cascade", "CascadeOptions", "RetryPolicy"]

_REQUEST_FIELDS = (
    "tools",
    "tool_choice",
    "response_format",
    "temperature",
    "max_tokens",
    "stop",
    "answer_shape",
)
_DEFAULT_BACKEND = LiteLLMBackend()


@dataclass(frozen=True)
class CascadeOptions:
    """Settings of a cascade beyond its tiers and stations.

    Args:
        stream_mode: ``"buffered"`` (default): a draft is held until validated, then emitted, and only
            the last tier streams live, so a rejected draft never reaches the consumer. ``"optimistic"``:
            every single-model tier streams live; if its draft is rejected an ``escalation`` event
            withdraws it before the next tier's stream. ``"strict"``: nothing streams live, the last
            tier included; each answer is emitted only after its validator and output guardrails ran
            (for output guardrails that must never show a leak; the first token comes later).
        retry: retries of one model call before falling through.
        max_concurrency: default concurrency of ``batch`` / ``abatch``.
        progress: progress bar on batches: None = only on a TTY outside CI.
        verifier_cost: ``(verifier_spec, request, answer_draft) -> dollars | None``: what the verifier
            alone would have cost when it was not called (default: LiteLLM/spec prices for the answer's
            token counts).
        breaker: the per-model circuit breaker (default: 5 consecutive transient failures skip a model
            for 30 s, then one request probes it); ``None`` turns it off.
        audit: ``Audit(rate=0.05, target=...)``: a sample of drafter answers is also sent to the
            verifier off the response path; the loss estimate, its bound and drift (``on_drift``,
            optional tightening) are kept through the tracker's store (docs/audit.md).
        mode: ``"cascade"`` (default) or ``"observe"``: answer with the verifier (last tier) alone,
            unchanged, and run the cascade off the response path to record what it would have answered,
            cost, and whether it agreed (the data calibration needs, at no risk).
    """

    stream_mode: Literal["buffered", "optimistic", "strict"] = "buffered"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_concurrency: int = 8
    progress: bool | None = None
    verifier_cost: Callable[[ModelSpec, Request, Draft], float | None] | None = None
    breaker: CircuitBreaker | None = field(default_factory=CircuitBreaker)
    audit: Audit | None = None
    mode: Literal["cascade", "observe"] = "cascade"

    def __post_init__(self) -> None:
        if self.audit is not None and not isinstance(self.audit, Audit):
            raise ConfigError(
                "audit", f"expected Audit, got {type(self.audit).__name__}", "e.g. Audit(rate=0.05)"
            )
        if self.mode not in ("cascade", "observe"):
            raise ConfigError("mode", f"unknown mode {self.mode!r}", 'use "cascade" or "observe"')
        if self.stream_mode not in ("buffered", "optimistic", "strict"):
            raise ConfigError(
                "stream_mode",
                f"unknown mode {self.stream_mode!r}",
                'use "buffered", "optimistic" or "strict"',
            )
        if (
            isinstance(self.max_concurrency, bool)
            or not isinstance(self.max_concurrency, int)
            or self.max_concurrency < 1
        ):
            raise ConfigError("max_concurrency", f"must be an int >= 1, got {self.max_concurrency!r}")


def _default_verifier_cost(spec: ModelSpec, request: Request, answer: Draft) -> float | None:
    if spec.backend is not None and not spec.has_prices:
        return None
    return price(spec, answer.input_tokens, answer.output_tokens)


def _estimator(tracker: Tracker | None) -> Callable[[ModelSpec, Request], float] | None:
    """The reservation estimate: exact worst case with ``max_tokens``; else the tracker's observed p99."""
    if tracker is None:
        return None
    learned = getattr(tracker, "output_bound", None)
    if not callable(learned):
        return estimate_cost

    def estimate(spec: ModelSpec, request: Request) -> float:
        return estimate_cost(spec, request, learned(spec.label))

    return estimate


class _PlainRouter:
    def plan(self, request: Request, tiers: Sequence[Tier], admission: Admission | None) -> Plan:
        return plain_plan(request, tuple(tiers), admission)


def _default_router() -> Router:
    try:
        from .routing._router import CascadeRouter
    except ImportError:
        return _PlainRouter()
    return CascadeRouter()


def _coerce_tiers(tiers: Any, api_base: str | None = None, api_key: str | None = None) -> tuple[Tier, ...]:
    if isinstance(tiers, (str, ModelSpec, Tier)):
        tiers = [tiers]
    if not isinstance(tiers, Sequence) or not tiers:
        raise ConfigError(
            "tiers",
            "a cascade needs at least one tier",
            'e.g. Cascade(["openai/gpt-4o-mini", "openai/gpt-4o"])',
        )
    out = []
    for i, t in enumerate(tiers):
        if isinstance(t, Tier):
            tier = t
        elif isinstance(t, (str, ModelSpec, Mapping)):
            tier = Tier([ModelSpec.coerce(t, f"tiers[{i}]")])
        elif isinstance(t, Sequence):
            tier = Tier(list(t))
        else:
            raise ConfigError(
                f"tiers[{i}]",
                f"cannot make a tier from {type(t).__name__}",
                "give a Tier, a model string, a ModelSpec or a list of them",
            )
        if tier.name is None:
            object.__setattr__(tier, "name", f"tier{i + 1}")
        out.append(tier.with_endpoint(api_base, api_key))
    names = [t.name for t in out]
    if len(set(names)) != len(names):
        raise ConfigError(
            "tiers", f"tier names must be unique, got {names}", "give each Tier a distinct name"
        )
    return tuple(out)


def _progress_enabled(flag: bool | None) -> bool:
    if flag is not None:
        return flag
    return sys.stderr.isatty() and not os.environ.get("CI")


class Cascade:
    """Answer each request with the cheapest tier whose answer passes validation.

    Args:
        tiers: cheapest first; each a ``Tier``, a model string / ``ModelSpec`` (one-model tier) or a list
            of them (concurrent drafters). The last tier is the verifier. One tier = a plain, tracked model.
        tracker: cost ledger, budgets and rate limits (``CostTracker``).
        guardrails: input and output guardrails (``Guardrails``).
        router: builds the plan per request (default: ``CascadeRouter()``).
        cache: response cache (``ResponseCache``).
        backend: how models are called when a ``ModelSpec`` has no backend (default: LiteLLM).
        options: ``CascadeOptions``.
        api_base, api_key: endpoint and key for the tiers' models that name none (``Tier.with_endpoint``).

    Example:
        >>> cascade = Cascade([
        ...     ModelSpec("openai/gpt-4o-mini", params={"mock_response": "4"}),
        ...     ModelSpec("openai/gpt-4o", params={"mock_response": "4"}),
        ... ])
        >>> result = cascade.complete("2+2?")
        >>> result.text, result.model, result.escalated
        ('4', 'openai/gpt-4o-mini', False)
    """

    def __init__(
        self,
        tiers: Sequence[Tier | ModelSpec | str | Sequence[ModelSpec | str]],
        *,
        tracker: Tracker | None = None,
        guardrails: GuardrailPipeline | None = None,
        router: Router | None = None,
        cache: Cache | None = None,
        backend: ModelBackend | None = None,
        options: CascadeOptions | None = None,
        api_base: str | None = None,
        api_key: str | None = None,
    ) -> None:
        self._tiers = _coerce_tiers(tiers, api_base, api_key)
        if backend is None:  # a custom backend's models are not LiteLLM's: the provider rule does not apply
            warn_rules_only(self._tiers)
        self.options = options or CascadeOptions()
        if not isinstance(self.options, CascadeOptions):
            raise ConfigError("options", f"expected CascadeOptions, got {type(self.options).__name__}")
        for station, method in (
            ("tracker", "admit"),
            ("guardrails", "check_input"),
            ("router", "plan"),
            ("cache", "get"),
            ("backend", "acomplete"),
        ):
            obj = locals()[station]
            if obj is not None and not hasattr(obj, method):
                raise ConfigError(
                    station,
                    f"{type(obj).__name__} has no {method}()",
                    f"pass an object implementing the {station} protocol",
                )
        validate = getattr(tracker, "validate_tiers", None)
        if callable(validate):
            validate(self._tiers)
        if getattr(guardrails, "pii", None) == "route" and not any(t.sees_pii for t in self._tiers):
            raise ConfigError(
                "guardrails.pii",
                '"route" sends personal data only to tiers allowed to see it, and no tier is',
                "mark a local or in-VPC tier Tier(..., pii_allowed=True) (or its models "
                "ModelSpec(..., pii_allowed=True)), or use pii='redact'",
            )
        self.tracker, self.guardrails, self.cache = tracker, guardrails, cache
        self.router = router or _default_router()
        self.backend = backend or _DEFAULT_BACKEND
        self._stations = Stations(
            tiers=self._tiers,
            router=self.router,
            tracker=tracker,
            guardrails=guardrails,
            cache=cache,
            retry=self.options.retry,
            optimistic=self.options.stream_mode == "optimistic",
            strict=self.options.stream_mode == "strict",
            estimate=_estimator(tracker),
            verifier_cost=self.options.verifier_cost or _default_verifier_cost,
            cache_scope=cascade_fingerprint(self._tiers) if cache is not None else "",
            call_timeout_s=DEFAULT_TIMEOUT_S,
            breaker=self.options.breaker.bind() if self.options.breaker is not None else None,
        )
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._auditing: Any = None
        self._path = self._stations  # what answers the user: all tiers, or the verifier in observe mode
        if self.options.audit is not None or self.options.mode == "observe":
            self._auditing = _Auditing(self)
            self._path = self._auditing.path_stations()

    # --- construction helpers (implemented in _config.py) ---------------------------------------------
    @classmethod
    def from_config(cls, source: Any, **overrides: Any) -> Cascade:
        """Build a cascade from a YAML file path or a config mapping (see docs/configuration.md)."""
        from .config._config import cascade_from_config

        return cascade_from_config(cls, source, **overrides)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Cascade:
        """Build a cascade from ``CASCADEFLOW_*`` environment variables (see docs/configuration.md)."""
        from .config._config import cascade_from_env

        return cascade_from_env(cls, environ, **overrides)

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> Cascade:
        """Build a cascade from a named preset (``cost-optimised``, ``balanced``, ``quality-first``, ...)."""
        from .config._config import cascade_from_preset

        return cascade_from_preset(cls, name, **overrides)

    @property
    def tiers(self) -> tuple[Tier, ...]:
        return self._tiers

    def __repr__(self) -> str:
        tiers = " -> ".join("+".join(m.label for m in t.specs) for t in self._tiers)
        return f"Cascade({tiers})"

    # --- requests ---------------------------------------------------------------------------------------
    def request(self, messages: Any, **kwargs: Any) -> Request:
        """Build the ``Request`` that ``complete`` would send (validates messages and kwargs)."""
        if isinstance(messages, Request):
            if kwargs:
                raise InputError("pass either a Request or messages with keyword arguments, not both")
            return messages
        if not kwargs:
            return Request(messages)
        fields = {k: kwargs.pop(k) for k in _REQUEST_FIELDS if k in kwargs}
        user = kwargs.pop("user", None)
        if user is not None and not isinstance(user, str):
            raise InputError(f"user must be a string id, got {type(user).__name__}")
        tags = kwargs.pop("tags", ()) or ()
        if not isinstance(tags, (str, Sequence, frozenset, set)) or not all(isinstance(t, str) for t in tags):
            raise InputError(f"tags must be a string or a list of strings, got {tags!r:.80}")
        tags = (tags,) if isinstance(tags, str) else tuple(tags)
        metadata = kwargs.pop("metadata", None) or {}
        if not isinstance(metadata, Mapping):
            raise InputError(f"metadata must be a mapping, got {type(metadata).__name__}")
        return Request(messages, **fields, params=kwargs, user=user, tags=tags, metadata=metadata)

    def complete(self, messages: Any, **kwargs: Any) -> CascadeResult:
        """Answer one request (sync)."""
        req = self.request(messages, **kwargs)
        result = _final(self._drive(run_cascade(self._path, req)))
        return result if self._auditing is None else self._auditing.after(req, result)

    async def acomplete(self, messages: Any, **kwargs: Any) -> CascadeResult:
        """Answer one request (async; never blocks the event loop on model calls)."""
        req = self.request(messages, **kwargs)
        result = None
        async for ev in self._adrive(run_cascade(self._path, req)):
            result = ev.result
        assert result is not None
        return result if self._auditing is None else self._auditing.after(req, result)

    def stream(self, messages: Any, **kwargs: Any) -> Iterator[StreamEvent]:
        """Stream the answer as ``StreamEvent``s; the last one (``final``) carries the result."""
        req = self.request(messages, **kwargs)
        events = self._drive(run_cascade(self._path, req, streaming=True))
        return events if self._auditing is None else self._auditing.tap(req, events)

    def astream(self, messages: Any, **kwargs: Any) -> AsyncIterator[StreamEvent]:
        """Async ``stream``."""
        req = self.request(messages, **kwargs)
        events = self._adrive(run_cascade(self._path, req, streaming=True))
        return events if self._auditing is None else self._auditing.atap(req, events)

    def audit_report(self) -> Any:
        """The running loss estimate per tier with its confidence bounds, drift events and audit cost
        (``AuditReport``; also in ``tracker.report()``). Needs ``CascadeOptions(audit=...)`` or observe mode."""
        if self._auditing is None:
            raise ConfigError(
                "options.audit", "this cascade does not audit", "use CascadeOptions(audit=Audit(rate=0.05))"
            )
        return self._auditing.report()

    def flush_audits(self, timeout: float | None = None) -> bool:
        """Wait until the queued audits ran (tests, benchmarks, shutdown); False if ``timeout`` passed."""
        return True if self._auditing is None else self._auditing.worker.join(timeout)

    def batch(
        self,
        inputs: Sequence[Any],
        *,
        max_concurrency: int | None = None,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[CascadeResult | CascadeError]:
        """Answer many requests concurrently (threads), in input order."""
        requests = [self.request(m, **dict(kwargs)) for m in inputs]
        workers = max_concurrency or self.options.max_concurrency
        bar = _bar(len(requests), self.options.progress)

        def one(req: Request) -> CascadeResult | CascadeError:
            try:
                return self.complete(req)
            except CascadeError as e:
                if not return_exceptions:
                    raise
                return e
            finally:
                bar.update(1) if bar else None

        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                return list(pool.map(one, requests))
        finally:
            bar.close() if bar else None

    async def abatch(
        self,
        inputs: Sequence[Any],
        *,
        max_concurrency: int | None = None,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[CascadeResult | CascadeError]:
        """Answer many requests concurrently (asyncio), in input order."""
        requests = [self.request(m, **dict(kwargs)) for m in inputs]
        sem = asyncio.Semaphore(max_concurrency or self.options.max_concurrency)
        bar = _bar(len(requests), self.options.progress)

        async def one(req: Request) -> CascadeResult | CascadeError:
            async with sem:
                try:
                    return await self.acomplete(req)
                except CascadeError as e:
                    if not return_exceptions:
                        raise
                    return e
                finally:
                    bar.update(1) if bar else None

        try:
            return list(await asyncio.gather(*(one(r) for r in requests)))
        finally:
            bar.close() if bar else None

    # --- drivers ----------------------------------------------------------------------------------------
    def _backend(self, spec: ModelSpec) -> ModelBackend:
        return spec.backend or self.backend

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="cascadeflow")
            return self._pool

    def _drive(self, gen: Any) -> Iterator[StreamEvent]:
        send: Any = None
        throw: BaseException | None = None
        try:
            while True:
                try:
                    effect = gen.throw(throw) if throw is not None else gen.send(send)
                except StopIteration as stop:
                    yield StreamEvent("final", result=stop.value)
                    return
                send, throw = None, None
                try:
                    if isinstance(effect, Emit):
                        yield effect.event
                    elif isinstance(effect, Call):
                        if effect.live and len(effect.specs) == 1:
                            send = yield from self._stream_one(effect.specs[0], effect.request)
                        else:
                            send = self._call_sync(effect)
                    elif isinstance(effect, Invoke):
                        send = invoke_sync(effect)
                    elif isinstance(effect, Sleep):
                        time.sleep(effect.seconds)
                except GeneratorExit:
                    raise
                except BaseException as e:  # handed to the engine, which settles and re-raises
                    throw = e
        finally:
            gen.close()

    def _call_sync(self, eff: Call) -> list[Any]:
        if len(eff.specs) == 1:
            return [self._complete_one(eff.specs[0], eff.request)]
        futures = [self._executor().submit(self._complete_one, s, eff.request) for s in eff.specs]
        return [f.result() for f in futures]

    def _complete_one(self, spec: ModelSpec, request: Request) -> Draft | ProviderError:
        try:
            return self._backend(spec).complete(spec, request)
        except Exception as e:
            return _as_provider_error(e, spec)

    def _stream_filter(self, request: Request) -> Any:
        """The guardrails' filter for live deltas (restores PII placeholders), or None."""
        make = getattr(self.guardrails, "stream_filter", None)
        return make(request) if make is not None else None

    def _stream_one(self, spec: ModelSpec, request: Request) -> Generator[StreamEvent, None, list[Any]]:
        emitted, t0, first = False, time.perf_counter(), None  # first: seconds to the first chunk
        filt = self._stream_filter(request)
        try:
            for item in self._backend(spec).stream(spec, request):
                if isinstance(item, Draft):
                    if filt is not None and (tail := filt.flush()):
                        yield StreamEvent("delta", text=tail, model=spec.label)
                    return [item.with_first_chunk(first)]
                first = time.perf_counter() - t0 if first is None else first
                emitted = True
                text = filt.feed(item) if filt is not None else item
                if text:
                    yield StreamEvent("delta", text=text, model=spec.label)
            raise MalformedResponseError(f"{spec.model}: stream ended without a result", model=spec.model)
        except Exception as e:
            err = _as_provider_error(e, spec)
            err.emitted = emitted  # type: ignore[attr-defined]
            return [err]

    async def _adrive(self, gen: Any) -> AsyncIterator[StreamEvent]:
        send: Any = None
        throw: BaseException | None = None
        cancelled: BaseException | None = None  # a cancel that arrived while a station was running
        try:
            while True:
                try:
                    effect = gen.throw(throw) if throw is not None else gen.send(send)
                    if cancelled is not None:  # the engine now knows the station's result: cancel it
                        throw, cancelled = cancelled, None
                        setattr(throw, NOT_PERFORMED, True)  # thrown before this effect ran
                        effect = gen.throw(throw)
                except StopIteration as stop:
                    if cancelled is not None:  # cancelled during the last station call: still cancelled
                        raise cancelled from None
                    yield StreamEvent("final", result=stop.value)
                    return
                send, throw = None, None
                try:
                    if isinstance(effect, Emit):
                        yield effect.event
                    elif isinstance(effect, Call):
                        if effect.live and len(effect.specs) == 1:
                            box: list[Any] = []
                            async for ev in self._astream_one(effect.specs[0], effect.request, box):
                                yield ev
                            send = box
                        elif len(effect.specs) == 1:  # no task for a lone call (gather's task costs ~30 us)
                            send = [await self._acomplete_one(effect.specs[0], effect.request)]
                        else:
                            send = list(
                                await asyncio.gather(
                                    *(self._acomplete_one(s, effect.request) for s in effect.specs)
                                )
                            )
                    elif isinstance(effect, Invoke):
                        send, cancelled = await invoke_shielded(effect)
                    elif isinstance(effect, Sleep):
                        await asyncio.sleep(effect.seconds)
                except GeneratorExit:
                    raise
                except BaseException as e:
                    throw = e
        finally:
            gen.close()

    async def _acomplete_one(self, spec: ModelSpec, request: Request) -> Draft | ProviderError:
        try:
            return await self._backend(spec).acomplete(spec, request)
        except Exception as e:
            return _as_provider_error(e, spec)

    async def _astream_one(
        self, spec: ModelSpec, request: Request, box: list[Any]
    ) -> AsyncIterator[StreamEvent]:
        emitted, t0, first = False, time.perf_counter(), None  # first: seconds to the first chunk
        filt = self._stream_filter(request)
        try:
            async for item in self._backend(spec).astream(spec, request):
                if isinstance(item, Draft):
                    if filt is not None and (tail := filt.flush()):
                        yield StreamEvent("delta", text=tail, model=spec.label)
                    box.append(item.with_first_chunk(first))
                    return
                first = time.perf_counter() - t0 if first is None else first
                emitted = True
                text = filt.feed(item) if filt is not None else item
                if text:
                    yield StreamEvent("delta", text=text, model=spec.label)
            raise MalformedResponseError(f"{spec.model}: stream ended without a result", model=spec.model)
        except Exception as e:
            err = _as_provider_error(e, spec)
            err.emitted = emitted  # type: ignore[attr-defined]
            box.append(err)


def _final(events: Iterator[StreamEvent]) -> CascadeResult:
    result = None
    for ev in events:
        result = ev.result
    assert result is not None
    return result


def _as_provider_error(e: BaseException, spec: ModelSpec) -> ProviderError:
    if isinstance(e, ProviderError):
        return e
    if spec.backend is None:
        from .providers._litellm import map_exception

        return map_exception(e, spec.model)
    return ProviderError(f"{spec.label}: backend raised {type(e).__name__}: {e}", model=spec.model)


def _bar(total: int, flag: bool | None) -> Any:
    if not _progress_enabled(flag) or total < 2:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="cascade", unit="req")


# --- audit sampling and observe mode (statistics and storage: tracking/_audit.py) ------------------------


class _Auditing:
    """Samples drafter answers for an audit by the verifier (or, in observe mode, runs the cascade in the
    shadow of the verifier), off the response path on ``AuditWorker`` threads, and records the outcome."""

    def __init__(self, cascade: Cascade) -> None:
        import random

        from .tracking._audit import AuditLog, AuditMonitor, AuditWorker
        from .validation._validators import AgreementValidator

        self.cascade = cascade
        opts = cascade.options
        self.audit = opts.audit or Audit(rate=1.0)
        self.observe = opts.mode == "observe"
        if len(cascade.tiers) < 2:
            raise ConfigError(
                "options.audit" if not self.observe else "options.mode",
                "auditing compares a drafter tier with the verifier: the cascade has one tier",
                "give a drafter tier and a verifier tier",
            )
        tracker = cascade.tracker
        self.log = getattr(tracker, "audit_log", None) or AuditLog(None)
        self.worker = AuditWorker(self.audit.queue_size, self.audit.workers)
        clock = getattr(tracker, "clock", time.time)
        self.monitor = AuditMonitor(self.audit, self.log, clock, self.worker.submit)
        if tracker is not None and hasattr(tracker, "audit_log"):
            tracker.audit_settings, tracker.audit_worker = self.audit, self.worker  # type: ignore[attr-defined]
        try:
            self.key = AgreementValidator(extract=self.audit.extract).key
        except ConfigError as e:
            raise ConfigError("Audit.extract", e.problem, e.fix) from e
        self.rng = random.Random(self.audit.seed)
        self.verifier = cascade.tiers[-1]
        self.vname = self.verifier.name or "verifier"
        self._held: dict[str, tuple[str, Draft]] = {}
        self._lock = threading.Lock()

    def path_stations(self) -> Stations:
        st = self.cascade._stations
        if self.observe:
            return replace(st, tiers=(self.verifier,))
        return replace(st, hold=self.hold) if self.audit.tighten else st

    def report(self) -> Any:
        tracker = self.cascade.tracker
        if tracker is not None and hasattr(tracker, "audit_report"):
            return tracker.audit_report(self.audit)
        from .tracking._audit_report import build_report

        return build_report(self.log.records(), self.audit, dropped=self.worker.dropped)

    # --- on the response path: decisions only, never a model call or a store write -----------------------
    def hold(self, tier: str, draft: Draft, request_id: str) -> str | None:
        reason = self.monitor.held(tier)
        if reason:
            with self._lock:
                if len(self._held) > 10_000:  # requests that failed after the hold never come back
                    self._held.pop(next(iter(self._held)))
                self._held[request_id] = (tier, draft)
        return reason

    def after(self, request: Request, result: CascadeResult) -> CascadeResult:
        with self._lock:
            held = self._held.pop(result.request_id, None)
        if held is not None and result.tier == self.vname and result.draft is not None:
            self.worker.submit(lambda: self._record_held(request, result, *held))
        elif self.observe:
            self.worker.submit(lambda: self._observe(request, result))
        elif result.tier != self.vname and not result.cached and self.rng.random() < self.audit.rate:
            self.worker.submit(lambda: self._audit(request, result))
        return result

    def tap(self, request: Request, events: Iterator[StreamEvent]) -> Iterator[StreamEvent]:
        for ev in events:
            if ev.type == "final" and ev.result is not None:
                self.after(request, ev.result)
            yield ev

    async def atap(self, request: Request, events: AsyncIterator[StreamEvent]) -> AsyncIterator[StreamEvent]:
        async for ev in events:
            if ev.type == "final" and ev.result is not None:
                self.after(request, ev.result)
            yield ev

    # --- off the response path ---------------------------------------------------------------------------
    def _record(self, request: Request, result: CascadeResult, **kw: Any) -> None:
        from .tracking._audit import AuditRecord

        domain = request.metadata.get("domain") if request.metadata else None
        if domain is None:
            domain = next((r[7:].split(" ", 1)[0] for r in result.route if r.startswith("domain=")), None)
        kind = kw.pop("kind")
        clock = getattr(self.cascade.tracker, "clock", time.time)
        rec = AuditRecord(
            f"{result.request_id}:{kind}", clock(), result.request_id, verifier=self.verifier.specs[0].label,
            kind=kind, domain=domain, user=request.user, **kw,
        )  # fmt: skip
        self.monitor.record(rec)

    def _answers(self, answer: Draft, verifier: Draft) -> dict[str, Any]:
        a, v = self.key(answer), self.key(verifier)
        return {"agreed": a is not None and a == v, "answer": _short(a), "verifier_answer": _short(v)}

    def _record_held(self, request: Request, result: CascadeResult, tier: str, draft: Draft) -> None:
        assert result.draft is not None
        self._record(
            request, result, kind="held", tier=tier, model=draft.model, **self._answers(draft, result.draft)
        )

    def _audit(self, request: Request, result: CascadeResult) -> None:
        from .tracking._audit import audit_admission, book_audit

        cascade, spec = self.cascade, self.verifier.specs[0]
        tracker = cascade.tracker
        if tracker is not None:
            why = audit_admission(tracker, request, [spec.label], estimate_cost(spec, request))
            if why:
                self.worker.count("over budget")
                return
        req = request
        if cascade.guardrails is not None:  # the verifier sees what the drafter saw (PII redacted)
            req, _ = invoke_sync(Invoke(cascade.guardrails.check_input, (request,)))
        out = cascade._complete_one(spec, req)
        if isinstance(out, ProviderError):
            self.worker.count("failed")
            return
        if tracker is not None and hasattr(tracker, "audit_log"):
            status: Any = "audit"  # the ledger's status of an audit call, not a cascade outcome
            o = out
            attempt = Attempt(
                self.vname, spec.label, status, o.input_tokens, o.output_tokens, o.cost, o.latency_s
            )
            book_audit(tracker, request, (attempt,), result.request_id, "audit")
        assert result.draft is not None
        self._record(request, result, kind="audit", tier=result.tier, model=result.model, cost=out.cost,
                     **self._answers(result.draft, out))  # fmt: skip

    def _observe(self, request: Request, result: CascadeResult) -> None:
        from .tracking._audit import Capture, KnownAnswer, book_audit

        cascade, vdraft = self.cascade, result.draft
        assert vdraft is not None
        box: list[tuple[str, Draft]] = []
        tiers = []
        for t in cascade.tiers[:-1]:
            # _Capture and _Known implement complete() only: the shadow run is driven synchronously
            specs = [
                replace(s, backend=Capture(cascade._complete_one, s, box, t.name or "")) for s in t.specs
            ]  # type: ignore[arg-type]
            tiers.append(Tier(specs, t.validator, t.name, t.fallback_specs, t.domains))
        vspec = self.verifier.specs[0]
        known = replace(vspec, backend=KnownAnswer(vdraft), name=vdraft.model)  # type: ignore[arg-type]
        tiers.append(Tier([known], self.verifier.validator, self.vname))
        st = replace(
            cascade._stations, tiers=tuple(tiers), tracker=None, cache=None, hold=None, estimate=None
        )
        shadow = _final(cascade._drive(run_cascade(st, request)))
        spent = tuple(a for a in shadow.attempts if a.tier != self.vname)
        tracker = cascade.tracker
        if tracker is not None and hasattr(tracker, "audit_log"):
            book_audit(tracker, request, spent, result.request_id, "observe")
        cost = sum(a.cost for a in spent)
        escalated = shadow.tier == self.vname
        drafts = tuple(
            {"tier": t, "model": d.model, "answer": _short(self.key(d)), "agreed": self.key(d) == self.key(vdraft)
             and self.key(d) is not None, "logprob": d.logprob, "cost": d.cost}
            for t, d in box
        )  # fmt: skip
        self._record(
            request, result, kind="observe", tier=shadow.tier, model=shadow.model, cost=cost,
            escalated=escalated, cascade_cost=cost + (result.cost if escalated else 0.0),
            verifier_cost=result.cost, drafts=drafts, **self._answers(shadow.draft or vdraft, vdraft),
        )  # fmt: skip


def _short(key: str | None) -> str | None:
    return key if key is None or len(key) <= 80 else key[:77] + "..."
