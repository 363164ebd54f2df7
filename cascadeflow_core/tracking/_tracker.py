"""``CostTracker``: the ledger, budgets, rate limits and enforcement, on any ``LedgerStore``.

Admission (``admit``): find the budgets that apply to the request, read their spend, decide allow / warn /
degrade / block from the thresholds (and the developer's ``on_enforce`` callback), then reserve the
estimated cost and count the request against its rate limits in ONE atomic store step. Settlement
(``settle``): release the reservation, charge the real cost of every attempt (rejected drafts and errors
included) and append the ledger entries, again atomically and idempotently. When the store fails at
settlement the entries are kept in a spill journal and retried: never dropped silently.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._errors import BudgetExceededError, ConfigError, InputError, StorageError, UserRateLimitError
from .._protocols import Admission, Plan
from .._types import Attempt, CascadeResult, ModelSpec, Request, Tier, Verdict
from ._admission import admit_in_one_step
from ._audit import audit_export, audit_log_of, audit_report
from ._budget import (
    Budget,
    BudgetStatus,
    DecisionName,
    EnforcementContext,
    EnforcementDecision,
    RateLimit,
    TrackerPolicy,
    linear_forecast,
    period_bounds,
    rank,
)
from ._observe import OutputStats, extend_hold, held_s, scheduled_prune
from ._observe import plan_models as _plan_models
from ._run import AgentRun, RunRegistry, run_details
from ._spill import Spill
from ._stores import (
    BudgetCheck,
    LedgerEntry,
    LedgerStore,
    LimitCheck,
    MemoryStore,
    ReserveOp,
    SettleOp,
    ledger_labels,
)

if TYPE_CHECKING:
    from .._cascade import Cascade

__all__ = ["CostTracker", "Reservation", "SettlementEvent"]

log = logging.getLogger("cascadeflow.tracker")
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Reservation:
    """What ``admit`` held for a request (the ``Admission.reservation`` handle)."""

    id: str | None
    keys: tuple[str, ...]
    amount: float
    started_at: float
    token_limits: tuple[LimitCheck, ...] = ()
    run: AgentRun | None = None


@dataclass(frozen=True)
class SettlementEvent:
    """One settled request, as seen by listeners such as the OpenTelemetry exporter."""

    request_id: str
    request: Request | None
    attempts: tuple[Attempt, ...]
    result: CascadeResult | None
    entries: tuple[LedgerEntry, ...]
    started_at: float
    ended_at: float
    admission: Admission | None = None


def _plan_label(request: Request) -> str | None:
    md = request.metadata or {}
    value = md.get("plan", md.get("tier"))
    return None if value is None else str(value)


def _accept(drafts: Sequence[Any], request: Request) -> Verdict:
    return Verdict(True, 1.0, ("single tracked model: nothing to escalate to",), "none")


def _new_id() -> str:
    return os.urandom(12).hex()


class CostTracker:
    """Keeps the books of every model call and enforces budgets and rate limits.

    Args:
        store: ``MemoryStore()`` (default), ``SQLiteStore(path)``, ``RedisStore(url)``, ``PostgresStore(dsn)``.
        budgets: ``Budget`` caps (per user, tag, model, plan label or global; daily ... total).
        rate_limits: ``RateLimit`` caps on requests or tokens per user.
        policy: ``TrackerPolicy`` (store-failure behaviour, spill journal, reservation TTL ...).
        on_enforce: ``callback(EnforcementContext) -> EnforcementDecision | str | (decision, message) | None``;
            its answer replaces the threshold decision (so a billing system can decide).

    Example:
        >>> tracker = CostTracker(budgets=[Budget(1.00, "daily")], rate_limits=[RateLimit(60, per="hour")])
        >>> tracker.record("openai/gpt-4o-mini", cost=0.002, user="alice").cost
        0.002
        >>> round(tracker.spent(user="alice"), 6)
        0.002
    """

    def __init__(
        self,
        store: LedgerStore | None = None,
        budgets: Iterable[Budget] = (),
        rate_limits: Iterable[RateLimit] = (),
        policy: TrackerPolicy | None = None,
        on_enforce: Callable[[EnforcementContext], Any] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store: LedgerStore = store if store is not None else MemoryStore()
        for name in ("reserve", "settle", "usage", "entries"):
            if not callable(getattr(self.store, name, None)):
                raise ConfigError(
                    "store",
                    f"{type(self.store).__name__} has no {name}()",
                    "use MemoryStore(), SQLiteStore(path), RedisStore(url) or PostgresStore(dsn)",
                )
        self.budgets = tuple(budgets)
        self.rate_limits = tuple(rate_limits)
        for i, b in enumerate(self.budgets):
            if not isinstance(b, Budget):
                raise ConfigError(
                    f"budgets[{i}]", f"expected Budget, got {type(b).__name__}", 'e.g. Budget(5.0, "daily")'
                )
        for i, r in enumerate(self.rate_limits):
            if not isinstance(r, RateLimit):
                raise ConfigError(
                    f"rate_limits[{i}]",
                    f"expected RateLimit, got {type(r).__name__}",
                    'e.g. RateLimit(100, per="hour")',
                )
        self.policy = policy or TrackerPolicy()
        if not isinstance(self.policy, TrackerPolicy):
            raise ConfigError("policy", f"expected TrackerPolicy, got {type(self.policy).__name__}")
        if on_enforce is not None and not callable(on_enforce):
            raise ConfigError(
                "on_enforce",
                f"{on_enforce!r} is not callable",
                "give a function (EnforcementContext) -> EnforcementDecision",
            )
        self.on_enforce = on_enforce
        self.clock = clock
        self._listeners: list[Callable[[SettlementEvent], None]] = []
        self.runs = RunRegistry(self)
        self.unpriced: Counter[str] = Counter()  # calls of models with no known price, booked at $0
        self._spill = Spill(self.policy.spill_limit, self.policy.spill_path)
        self._spill.load()
        self.settlement_failures = 0  # settlements that raised something other than StorageError
        self.outputs = OutputStats()  # p99 output tokens per model: the reservation without max_tokens
        self.pruned = 0  # ledger entries the scheduled pruning (policy.retention_s) deleted
        self._next_prune = self.clock() + self.policy.prune_every_s if self.policy.retention_s else math.inf

    def __repr__(self) -> str:
        return (
            f"CostTracker(store={self.store!r}, budgets={len(self.budgets)}, "
            f"rate_limits={len(self.rate_limits)}, on_store_error={self.policy.on_store_error!r})"
        )

    # --- construction-time checks ------------------------------------------------------------------------
    def validate_tiers(self, tiers: Sequence[Tier]) -> None:
        """Refuse models without a price when budgets are set (a zero estimate would defeat the budget)."""
        if not self.budgets or not self.policy.require_prices:
            return
        from ..providers._litellm import model_prices

        for i, tier in enumerate(tiers):
            for group in ("models", "fallbacks"):
                for j, spec in enumerate(getattr(tier, group)):
                    if isinstance(spec, ModelSpec) and model_prices(spec) is None:
                        raise ConfigError(
                            f"tiers[{i}].{group}[{j}].input_cost_per_token",
                            f"{spec.model!r} has no price in LiteLLM's price map and none is configured, "
                            "so budgets cannot be enforced",
                            "set ModelSpec(..., input_cost_per_token=..., output_cost_per_token=...)",
                        )

    def add_listener(self, fn: Callable[[SettlementEvent], None]) -> None:
        """Call ``fn(SettlementEvent)`` after each settlement (used by the OpenTelemetry exporter)."""
        self._listeners.append(fn)

    # --- admission -----------------------------------------------------------------------------------------
    def _applicable(
        self, user: str, plan: str | None, tags: Sequence[str], models: Sequence[str], now: float
    ) -> list[tuple[Budget, str, Any, Any]]:
        out = []
        for b in self.budgets:
            if b.plan is not None and b.plan != plan:
                continue
            by_scope: dict[str, list[str | None]] = {
                "user": [user],
                "tag": list(tags),
                "model": list(models),
                "plan": [plan],
                "global": ["all"],
            }
            values = by_scope[b.scope]
            pkey, start, end = period_bounds(b.period, now)
            for v in dict.fromkeys(values):
                if v is None or (b.match is not None and v != b.match):
                    continue
                out.append((b, b.key_for(b.scope, v, pkey), start, end))
        return out

    def _statuses(
        self,
        applicable: list[tuple[Budget, str, Any, Any]],
        estimate: float,
        now: float,
        usage: Mapping[str, tuple[float, float]] | None = None,
    ) -> list[BudgetStatus]:
        if usage is None:
            usage = self.store.usage([key for _, key, _, _ in applicable], now) if applicable else {}
        out = []
        for b, key, start, end in applicable:
            spent, reserved = usage.get(key, (0.0, 0.0))
            frac = (spent + reserved + estimate) / b.limit if b.limit else float("inf")
            decision = b.decision_for(frac)
            forecast = linear_forecast(spent, start, end, now)
            if decision == "allow" and self.policy.forecast_warn and forecast > b.limit and spent > 0:
                decision = "warn" if rank(b.mode) >= rank("warn") else decision
            out.append(BudgetStatus(b, key, spent, reserved, end, forecast, decision))
        return out

    def _context(
        self, request: Request, plan: Plan, estimate: float, statuses: list[BudgetStatus]
    ) -> EnforcementContext:
        decision: DecisionName = max((s.decision for s in statuses), key=rank, default="allow")
        reasons = tuple(
            f"budget {s.key} ({s.budget.name}): ${s.spent + s.reserved:.6f} spent+reserved "
            f"+ ${estimate:.6f} estimate of ${s.budget.limit:g}, "
            f"forecast ${s.forecast:.4f} -> {s.decision}"
            for s in statuses
            if s.decision != "allow"
        )
        tight = min(statuses, key=lambda s: (-rank(s.decision), s.remaining), default=None)
        models = tuple(_plan_models(plan))
        return EnforcementContext(
            user=request.user,
            plan=_plan_label(request),
            tags=request.tags,
            models=models,
            estimate=estimate,
            spent=None if tight is None else tight.spent,
            remaining=None if tight is None else tight.remaining,
            limit=None if tight is None else tight.budget.limit,
            forecast=None if tight is None else tight.forecast,
            decision=decision,
            reasons=reasons,
            budgets=tuple(statuses),
            metadata=request.metadata,
        )

    def _decide(self, ctx: EnforcementContext) -> tuple[EnforcementDecision, bool]:
        """(decision, caps): ``caps`` False when the callback explicitly lifted a threshold block."""
        if self.on_enforce is None:
            return EnforcementDecision(ctx.decision, "; ".join(ctx.reasons)), True
        raw = self.on_enforce(ctx)
        if raw is None:  # documented: None keeps the threshold decision, caps included
            return EnforcementDecision(ctx.decision, "; ".join(ctx.reasons)), True
        answer = EnforcementDecision.coerce(raw)
        return answer, not (ctx.decision == "block" and answer.decision != "block")

    def _rate_checks(self, user: str) -> tuple[tuple[LimitCheck, ...], tuple[LimitCheck, ...]]:
        at_admit, tokens = [], []
        for r in self.rate_limits:
            check = LimitCheck(r.key(user), r.limit, r.window_s, 1.0, r.algorithm, r.unit == "requests")
            at_admit.append(check)
            if r.unit == "tokens":
                tokens.append(check)
        return tuple(at_admit), tuple(tokens)

    def admit(self, request: Request, plan: Plan, estimate: float) -> Admission:
        """Decide and reserve; raise ``BudgetExceededError`` / ``UserRateLimitError`` to block."""
        now = self.clock()
        user = request.user or ANONYMOUS
        estimate = max(float(estimate or 0.0), self.policy.min_estimate)
        applicable = self._applicable(user, _plan_label(request), request.tags, _plan_models(plan), now)
        rates, token_checks = self._rate_checks(user)
        if (applicable or rates) and self.on_enforce is None and getattr(self.store, "reports_usage", False):
            fast = admit_in_one_step(self, request, plan, estimate, (applicable, rates), now)
            if fast is not None:
                decision, ctx, _, rid, keys = fast
                held = Reservation(rid, keys, estimate, now, token_checks)
                return self._admitted(request, decision, ctx, held)
        try:
            self._retry_spill()
            statuses = self._statuses(applicable, estimate, now)
        except StorageError as e:
            return self._store_down(e, "admission", estimate, now)
        ctx = self._context(request, plan, estimate, statuses)
        decision, caps = self._decide(ctx)
        if decision.decision == "block":
            self._raise_budget(
                ctx, decision.message or "; ".join(ctx.reasons) or "blocked by on_enforce", user
            )
        budgets = tuple(BudgetCheck(s.key, s.budget.hard_limit if caps else None) for s in statuses)
        run = self.runs.active()  # an agent run's caps join the same atomic reservation
        budgets, rates = run.checks(budgets, rates) if run is not None else (budgets, rates)
        if not budgets and not rates:  # nothing to reserve or count: no store round trip
            return Admission(
                decision.decision,
                decision.message,
                estimate,
                Reservation(None, (), estimate, now, token_checks, run),
                run_details({"user": request.user}, run),
            )
        rid = _new_id()
        op = ReserveOp(rid, estimate, budgets, rates, now, now + self.policy.reservation_ttl_s)
        try:
            outcome = self.store.reserve(op)
        except StorageError as e:
            return self._store_down(e, "admission", estimate, now)
        if not outcome.ok and run is not None and run.owns(outcome.key):
            raise run.refused(outcome, estimate)
        if not outcome.ok and outcome.reason == "rate":
            raise UserRateLimitError(
                f"rate limit {outcome.key} reached ({outcome.limit:g} per window) for user {user!r}; "
                f"retry after {outcome.retry_after:.2f} s",
                user=request.user,
                retry_after=outcome.retry_after,
                context=ctx,
            )
        if not outcome.ok:
            raise BudgetExceededError(
                f"budget {outcome.key} is spent: ${outcome.spent:.6f} spent + ${outcome.reserved:.6f} reserved "
                f"+ ${estimate:.6f} for this request > ${outcome.limit:g}",
                user=request.user,
                scope=outcome.key,
                spent=outcome.spent,
                limit=outcome.limit,
                context=ctx,
            )
        reservation = Reservation(rid, tuple(b.key for b in budgets), estimate, now, token_checks, run)
        return self._admitted(request, decision, ctx, reservation)

    def _admitted(
        self, request: Request, decision: Any, ctx: EnforcementContext, held: Reservation
    ) -> Admission:
        keys = [s.key for s in ctx.budgets]
        details = {"user": request.user, "estimate": held.amount, "budgets": keys, "spent": ctx.spent}
        details.update(remaining=ctx.remaining, forecast=ctx.forecast)
        details["hold_s"] = self.policy.reservation_ttl_s  # the engine asks hold() to extend it if needed
        run_details(details, held.run)  # the run id and a sticky run's start tier, for the engine
        return Admission(decision.decision, decision.message, held.amount, held, details)

    def hold(self, admission: Admission | None, seconds: float) -> float:
        """Keep a running request's reservation ``seconds`` more (at least the TTL), unchecked (it was
        admitted); the engine calls it before a call that could outlast it. Returns the seconds held."""
        res = admission.reservation if admission is not None else None
        if not isinstance(res, Reservation) or res.id is None or not res.keys:
            return float("inf")
        return extend_hold(self.store, res.id, res.keys, res.amount, self.clock(), held_s(self, seconds))

    def output_bound(self, model: str) -> int | None:
        """The p99 of ``model``'s recent output tokens (what a call without ``max_tokens`` reserves)."""
        return self.outputs.bound(model)

    def _raise_budget(self, ctx: EnforcementContext, message: str, user: str) -> None:
        tight = next((s for s in ctx.budgets if s.decision == "block"), None)
        raise BudgetExceededError(
            f"request for user {user!r} blocked: {message}",
            user=ctx.user,
            scope=tight.key if tight else None,
            spent=ctx.spent,
            limit=ctx.limit,
            context=ctx,
        )

    def _store_down(self, e: StorageError, where: str, estimate: float, now: float) -> Admission:
        if self.policy.on_store_error == "fail_closed":
            raise StorageError(
                f"{e}; the tracker fails closed (policy.on_store_error='fail_closed'), "
                f"so the request was refused at {where}"
            ) from e
        log.warning(
            "tracker store failed at %s (%s); admitting WITHOUT budget or rate checks because "
            "policy.on_store_error='fail_open'",
            where,
            e,
        )
        return Admission(
            "allow",
            f"store unavailable, admitted unchecked (fail_open): {e}",
            estimate,
            Reservation(None, (), estimate, now),
            {"store_error": str(e)},
        )

    # --- settlement ----------------------------------------------------------------------------------------
    def _entries(
        self,
        request: Request | None,
        attempts: Sequence[Attempt],
        request_id: str,
        now: float,
        source: str = "cascade",
        guardrails: tuple[str, ...] = (),
    ) -> tuple[LedgerEntry, ...]:
        user = request.user if request else None
        user = sys.intern(user) if user is not None else None  # lean entries: one copy per user id
        plan = _plan_label(request) if request else None
        tags = request.tags if request else ()
        self.unpriced.update(a.model for a in attempts if a.cost is None)
        if not attempts and guardrails:  # blocked by a guardrail before any model call: booked at no cost
            return (
                LedgerEntry(
                    id=f"{request_id}:0",
                    ts=now,
                    request_id=request_id,
                    user=user,
                    model="-",
                    cost=0.0,
                    status="blocked",
                    tier="guardrails",
                    plan=plan,
                    tags=tags,
                    source=source,
                    guardrails=guardrails,
                ),
            )
        return tuple(
            LedgerEntry(
                id=f"{request_id}:{i}",
                ts=now,
                request_id=request_id,
                user=user,
                model=sys.intern(a.model),
                cost=0.0 if a.cost is None else float(a.cost),
                input_tokens=int(a.input_tokens),
                output_tokens=int(a.output_tokens),
                latency_s=float(a.latency_s),
                status=a.status,
                tier=a.tier,
                plan=plan,
                tags=tags,
                error_kind=a.error_kind,
                cached=a.cached,
                source=source,
                guardrails=guardrails,
            )
            for i, a in enumerate(attempts)
        )

    def _charges(
        self, request: Request | None, entries: Sequence[LedgerEntry], now: float
    ) -> dict[str, float]:
        if not self.budgets or not entries:
            return {}
        user = (request.user if request else None) or ANONYMOUS
        plan = _plan_label(request) if request else None
        tags = request.tags if request else ()
        models = [e.model for e in entries]
        charges: dict[str, float] = {}
        for b, key, _, _ in self._applicable(user, plan, tags, models, now):
            if b.scope == "model":
                amount = sum(e.cost for e in entries if e.model == key.split("|", 1)[0][len("model:") :])
            else:
                amount = sum(e.cost for e in entries)
            charges[key] = charges.get(key, 0.0) + amount
        return charges

    def settle(
        self,
        admission: Admission | None,
        request: Request,
        attempts: Sequence[Attempt],
        result: CascadeResult | None,
        request_id: str,
        guardrails: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Release the reservation and book every attempt (never raises for a store failure).

        ``guardrails``: the request's guardrail decisions, booked as labels such as
        ``input.pii.EMAIL:redact`` on each of its entries (types and actions, never values).
        """
        now = self.clock()
        res = admission.reservation if admission is not None else None
        res = res if isinstance(res, Reservation) else None
        entries = self._entries(request, attempts, request_id, now, guardrails=ledger_labels(guardrails))
        self.outputs.observe(entries)
        tokens = sum(e.input_tokens + e.output_tokens for e in entries if not e.cached)
        rates = tuple(
            LimitCheck(c.key, c.limit, c.window_s, float(tokens), c.algorithm, True)
            for c in (res.token_limits if res else ())
            if tokens > 0
        )
        charges, rates = self.runs.settle(res, self._charges(request, entries, now), rates, attempts, result)
        op = SettleOp(
            f"{request_id}~settle",
            res.id if res else None,
            res.keys if res else (),
            charges,
            rates,
            entries,
            now,
        )
        self._write(op)
        self._scheduled_prune(now)
        started = res.started_at if res else now - (result.latency_s if result else 0.0)
        self._notify(
            SettlementEvent(request_id, request, tuple(attempts), result, entries, started, now, admission)
        )

    def _write(self, op: SettleOp) -> None:
        try:
            self._retry_spill()
            self.store.settle(op)
        except ConfigError:  # a misconfigured store (e.g. another shard layout): the developer's to fix
            raise
        except Exception as e:  # never the user's answer: kept, logged, counted and retried
            if not isinstance(e, StorageError):
                self.settlement_failures += 1
                log.error("tracker store raised %s at settlement", type(e).__name__, exc_info=True)
            self._spill.add(op)
            where = f"and in {self.policy.spill_path}" if self.policy.spill_path else "in memory only"
            log.warning(
                "tracker store failed at settlement (%s): %d ledger entries kept in the spill journal %s "
                "(%d settlements pending); they are retried on the next settlement or flush()",
                e,
                len(op.entries),
                where,
                len(self._spill.ops),
            )

    def _scheduled_prune(self, now: float) -> None:
        if now >= self._next_prune and self.policy.retention_s is not None:
            self._next_prune = now + self.policy.prune_every_s
            self.pruned += scheduled_prune(self, now - self.policy.retention_s)

    def _retry_spill(self) -> None:
        if self._spill.ops:
            self._spill.drain(self.store)

    def _notify(self, event: SettlementEvent) -> None:
        for fn in self._listeners:
            try:
                fn(event)
            except Exception:  # an exporter bug must not break the request
                log.exception("tracker listener %r failed", fn)

    @property
    def pending(self) -> int:
        """Settlements waiting in the spill journal because the store failed."""
        return len(self._spill.ops)

    @property
    def spill_write_errors(self) -> int:
        """Times the spill journal file could not be written (its settlements stayed in memory)."""
        return self._spill.write_errors

    @property
    def spill_torn_lines(self) -> int:
        """Torn lines skipped in the spill journal (moved to ``<spill_path>.torn``)."""
        return self._spill.torn_lines

    def flush(self) -> None:
        """Write spilled settlements to the store now; raises ``StorageError`` if it is still down."""
        self._spill.drain(self.store)

    def run(self, run_id: str | None = None, **limits: Any) -> AgentRun:
        """The agent run ``run_id`` with caps ``max_cost``, ``max_model_calls``, ``max_tool_calls``, ``sticky``
        (``RunRegistry.get``; ``tracker.runs.end(run_id)`` forgets it)."""
        return self.runs.get(run_id or _new_id(), limits)

    # --- standalone use --------------------------------------------------------------------------------------
    def record(
        self,
        model: str | ModelSpec,
        *,
        cost: float | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        user: str | None = None,
        tags: Sequence[str] = (),
        plan: str | None = None,
        latency_s: float = 0.0,
        request_id: str | None = None,
        status: str = "recorded",
        source: str = "record",
        ts: float | None = None,
        error_kind: str | None = None,
    ) -> LedgerEntry:
        """Book one model call made outside a cascade; ``cost`` defaults to the model's price."""
        spec = ModelSpec.coerce(model)
        if cost is None:
            from ..providers._litellm import price

            cost = price(spec, input_tokens, output_tokens)
            if cost is None:
                raise ConfigError(
                    "input_cost_per_token",
                    f"{spec.model!r} has no known price",
                    "pass cost=... or a ModelSpec with input_cost_per_token/output_cost_per_token",
                )
        now = self.clock() if ts is None else ts
        rid = request_id or _new_id()
        request = Request(
            [{"role": "user", "content": "-"}],
            user=user,
            tags=tuple(tags),
            metadata={"plan": plan} if plan else {},
        )
        attempt = Attempt(
            source,
            spec.label,
            status,
            input_tokens,
            output_tokens,
            float(cost),  # type: ignore[arg-type]
            latency_s,
            error_kind=error_kind,
        )
        entries = self._entries(request, (attempt,), rid, now, source)
        tokens = input_tokens + output_tokens
        rates = tuple(
            LimitCheck(c.key, c.limit, c.window_s, float(tokens), c.algorithm, True)
            for c in self._rate_checks(user or ANONYMOUS)[1]
            if tokens > 0
        )
        self._write(
            SettleOp(f"{rid}~record", None, (), self._charges(request, entries, now), rates, entries, now)
        )
        self._scheduled_prune(now)
        self._notify(SettlementEvent(rid, request, (attempt,), None, entries, now - latency_s, now))
        return entries[0]

    def track(self, model: str | ModelSpec | Tier, **cascade_kwargs: Any) -> Cascade:
        """A plain tracked model: a one-tier ``Cascade`` booking into this tracker.

        Nothing is escalated, so no validator runs (unless ``model`` is a ``Tier`` with its own).
        """
        from .._cascade import Cascade

        tier = model if isinstance(model, Tier) else Tier([model], validator=_accept, name="model")
        return Cascade([tier], tracker=self, **cascade_kwargs)

    def litellm_callback(self) -> Any:
        """A LiteLLM ``CustomLogger`` that books calls made with ``litellm.completion`` outside a cascade.

        Register it with ``tracker.litellm_callback().register()`` (or append it to ``litellm.callbacks``),
        remove it with ``.unregister()``. The user id is read from the call's ``user=`` or
        ``metadata={"user": ...}``, tags from ``metadata={"tags": [...]}``. Calls made by a cascade are
        skipped (the cascade books them itself).
        """
        from ._litellm_callback import make_callback

        return make_callback(self)

    # --- audits: records shared through the store, the running estimate and its bounds (``_audit``) -------
    audit_log = property(audit_log_of)
    audit_report = audit_report
    audit_export = audit_export

    # --- reading the books --------------------------------------------------------------------------------
    def entries(
        self,
        since: float | None = None,
        until: float | None = None,
        *,
        user: str | None = None,
        model: str | None = None,
        tag: str | None = None,
    ) -> list[LedgerEntry]:
        """Ledger entries, oldest first, optionally filtered."""
        out = self.store.entries(since, until)
        return [
            e
            for e in out
            if (user is None or e.user == user)
            and (model is None or e.model == model)
            and (tag is None or tag in e.tags)
        ]

    def prune(self, before: datetime | float) -> int:
        """Delete ledger entries older than ``before`` (a datetime or epoch seconds); return how many went.

        Keeps the store from growing without end (the Redis ledger lives in memory). Also deletes the
        counters of budget periods that ended by ``before``; current periods, ``total`` budgets and rate
        limits keep theirs, so what is enforced now does not change. What reads the ledger is: ``entries``,
        ``spent``, ``totals``, reports, exports, forecasts and anomaly baselines, so export first
        (``to_csv``/``to_sqlite``) and keep at least your longest budget period and the anomaly baseline.

        Example:
            >>> from datetime import datetime, timedelta, timezone
            >>> tracker = CostTracker()
            >>> tracker.prune(datetime.now(timezone.utc) - timedelta(days=90))
            0
        """
        if isinstance(before, datetime):
            if before.tzinfo is None:
                raise InputError(
                    f"prune(before={before!r}) has no timezone (fix: give an aware datetime, "
                    "e.g. datetime.now(timezone.utc) - timedelta(days=90))"
                )
            cutoff = before.timestamp()
        elif isinstance(before, (int, float)) and not isinstance(before, bool) and math.isfinite(before):
            cutoff = float(before)
        else:
            raise InputError(f"prune(before=...) needs a datetime or epoch seconds, got {before!r:.80}")
        if cutoff > self.clock():
            raise InputError(
                f"prune(before={before!r}) is after the tracker's clock, so it would delete current "
                "entries (fix: prune what is older than your longest budget period, e.g. 90 days ago)"
            )
        prune = getattr(self.store, "prune", None)
        if not callable(prune):
            raise ConfigError(
                "store",
                f"{type(self.store).__name__} has no prune(before)",
                "implement prune(before: float) -> int on the store, or use a built-in store",
            )
        return int(prune(cutoff))

    def spent(
        self,
        *,
        user: str | None = None,
        model: str | None = None,
        tag: str | None = None,
        period: str = "total",
    ) -> float:
        """Dollars booked in the current ``period`` (``daily`` ... ``total``), optionally filtered."""
        _, start, end = period_bounds(period, self.clock())
        since = None if period == "total" else start.timestamp()
        return sum(e.cost for e in self.entries(since, None, user=user, model=model, tag=tag))

    def totals(self, by: str = "user", *, period: str = "total") -> dict[str, dict[str, float]]:
        """Spend, calls, requests and tokens grouped ``by`` ``user``, ``model``, ``tag``, ``plan``, ``tier``, ``day``."""
        from ._export import totals

        _, start, _ = period_bounds(period, self.clock())
        return totals(self.entries(None if period == "total" else start.timestamp()), by)

    def report(self, *, period: str = "total") -> str:
        """A plain-text summary of the books (spend by user and model, budgets, forecasts)."""
        from ._export import text_report

        return text_report(self, period)

    def _repr_html_(self) -> str:
        from ._export import html_report

        return html_report(self)

    def to_json(self, path: Any = None) -> str:
        from ._export import to_json

        return to_json(self.entries(), path)

    def to_csv(self, path: Any = None) -> str:
        from ._export import to_csv

        return to_csv(self.entries(), path)

    def to_sqlite(self, path: str) -> int:
        from ._export import to_sqlite

        return to_sqlite(self.entries(), path)

    def forecast(self, *, user: str | None = None, lookback_s: float = 3600.0) -> list[Any]:
        """Projected end-of-period spend per budget that applies to ``user`` (see ``forecast_budgets``)."""
        from ._forecast import forecast_budgets

        return forecast_budgets(self, user=user, lookback_s=lookback_s)

    def anomalies(self, *, by: str = "user", window_s: float = 3600.0, **kw: Any) -> list[Any]:
        """Users (or models) whose spend rate jumped far above their own baseline."""
        from ._forecast import detect_anomalies

        return detect_anomalies(self.entries(), by=by, window_s=window_s, now=self.clock(), **kw)

    def close(self) -> None:
        self.store.close()
