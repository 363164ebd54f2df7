"""Budgets, rate limits and the enforcement decision: validated values, no I/O.

A ``Budget`` caps spend for a scope (each user, a tag, a model, a plan label, or everything) over a
period (daily, weekly, monthly, total, in UTC). Its thresholds turn the share spent into a decision:
``warn`` (>= 80 % by default), ``degrade`` (>= 90 %: the router drops expensive tiers) and ``block``
(>= 100 %). ``mode`` caps how far a budget may go: a ``warn``-mode budget only ever warns.
A ``RateLimit`` caps requests or tokens per user per minute / hour / day.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from .._errors import ConfigError

__all__ = [
    "Budget",
    "EnforcementContext",
    "EnforcementDecision",
    "RateLimit",
    "TrackerPolicy",
]

Period = Literal["daily", "weekly", "monthly", "total"]
Scope = Literal["user", "tag", "model", "plan", "global"]
Mode = Literal["warn", "degrade", "block"]
DecisionName = Literal["allow", "warn", "degrade", "block"]

PERIODS: tuple[str, ...] = ("daily", "weekly", "monthly", "total")
SCOPES: tuple[str, ...] = ("user", "tag", "model", "plan", "global")
MODES: tuple[str, ...] = ("warn", "degrade", "block")
DECISIONS: tuple[str, ...] = ("allow", "warn", "degrade", "block")
_RANK = {d: i for i, d in enumerate(DECISIONS)}
_WINDOWS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}


def _number(name: str, value: Any, *, positive: bool = False, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(name, f"must be a number, got {value!r}", "give a finite number, e.g. 5.0")
    if value < 0 or (positive and value == 0):
        raise ConfigError(name, f"must be {'positive' if positive else 'non-negative'}, got {value!r}")
    return float(value)


def _choice(name: str, value: Any, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ConfigError(name, f"unknown value {value!r}", f"use one of {', '.join(options)}")


def rank(decision: str) -> int:
    """Severity order: allow < warn < degrade < block."""
    return _RANK[decision]


@dataclass(frozen=True)
class Budget:
    """A spending cap for a scope over a period.

    Args:
        limit: dollars allowed per period.
        period: ``daily``, ``weekly`` (ISO week), ``monthly`` or ``total`` (UTC).
        scope: ``user`` (each user separately), ``tag``, ``model``, ``plan`` (a plan label such as
            ``"free"``, read from ``request.metadata["plan"]``) or ``global`` (everything together).
        match: only this user / tag / model / plan; ``None`` means each one separately.
        plan: only users on this plan label (e.g. a per-user budget for ``"free"`` users).
        warn_at, degrade_at, block_at: shares of ``limit`` (0.8, 0.9, 1.0 by default).
        mode: the strongest decision this budget may take: ``warn``, ``degrade`` or ``block``.

    Example:
        >>> Budget(1.0, "daily").key_for("user", "alice", "d:2026-01-02")
        'user:alice|d:2026-01-02'
    """

    limit: float
    period: Period = "daily"
    scope: Scope = "user"
    match: str | None = None
    plan: str | None = None
    warn_at: float = 0.8
    degrade_at: float = 0.9
    block_at: float = 1.0
    mode: Mode = "block"

    def __post_init__(self) -> None:
        object.__setattr__(self, "limit", _number("budget.limit", self.limit))
        _choice("budget.period", self.period, PERIODS)
        _choice("budget.scope", self.scope, SCOPES)
        _choice("budget.mode", self.mode, MODES)
        for name in ("warn_at", "degrade_at", "block_at"):
            object.__setattr__(self, name, _number(f"budget.{name}", getattr(self, name), positive=True))
        if not self.warn_at <= self.degrade_at <= self.block_at:
            raise ConfigError(
                "budget.warn_at/degrade_at/block_at",
                f"must be increasing, got {self.warn_at}, {self.degrade_at}, {self.block_at}",
                "e.g. warn_at=0.8, degrade_at=0.9, block_at=1.0",
            )
        if self.scope == "global" and self.match is not None:
            raise ConfigError(
                "budget.match", "a global budget matches everything", "drop match or pick a scope"
            )

    @property
    def name(self) -> str:
        who = self.match or ("*" if self.scope != "global" else "all")
        extra = f"[plan={self.plan}]" if self.plan else ""
        return f"{self.period} {self.scope}:{who}{extra} ${self.limit:g}"

    @property
    def hard_limit(self) -> float | None:
        """Dollars that may never be exceeded (None when the mode is not ``block``)."""
        return self.limit * self.block_at if self.mode == "block" else None

    def key_for(self, scope: str, value: str, period_key: str) -> str:
        return f"{scope}:{value}|{period_key}"

    def decision_for(self, fraction: float) -> DecisionName:
        """Threshold decision for ``fraction`` = (spent + reserved + estimate) / limit, capped by ``mode``."""
        if self.limit == 0:
            found: DecisionName = "block"
        elif fraction > self.block_at + 1e-12:
            found = "block"
        elif fraction >= self.degrade_at:
            found = "degrade"
        elif fraction >= self.warn_at:
            found = "warn"
        else:
            found = "allow"
        return found if rank(found) <= rank(self.mode) else self.mode


@dataclass(frozen=True)
class RateLimit:
    """A per-user cap on requests or tokens per window.

    Args:
        limit: requests (or tokens) allowed per window.
        per: ``second``, ``minute``, ``hour`` or ``day``.
        unit: ``requests`` (counted at admission) or ``tokens`` (input + output, counted at settlement;
            a user over the limit is refused until the window frees up).
        algorithm: ``sliding`` (exact sliding window) or ``token_bucket`` (smooth refill, allows bursts
            up to ``limit``).
        scope: ``user`` (each user separately) or ``global``.

    Example:
        >>> RateLimit(100, per="hour").window_s
        3600.0
    """

    limit: float
    per: Literal["second", "minute", "hour", "day"] = "minute"
    unit: Literal["requests", "tokens"] = "requests"
    algorithm: Literal["sliding", "token_bucket"] = "sliding"
    scope: Literal["user", "global"] = "user"

    def __post_init__(self) -> None:
        object.__setattr__(self, "limit", _number("rate_limit.limit", self.limit, positive=True))
        _choice("rate_limit.per", self.per, tuple(_WINDOWS))
        _choice("rate_limit.unit", self.unit, ("requests", "tokens"))
        _choice("rate_limit.algorithm", self.algorithm, ("sliding", "token_bucket"))
        _choice("rate_limit.scope", self.scope, ("user", "global"))

    @property
    def window_s(self) -> float:
        return _WINDOWS[self.per]

    @property
    def name(self) -> str:
        return f"{self.limit:g} {self.unit}/{self.per} ({self.algorithm}, {self.scope})"

    def key(self, user: str) -> str:
        who = "all" if self.scope == "global" else user
        return f"rl:{self.unit}:{self.per}:{self.algorithm}:{who}"


@dataclass(frozen=True)
class BudgetStatus:
    """Where one budget stands for this request."""

    budget: Budget
    key: str
    spent: float
    reserved: float
    period_end: datetime
    forecast: float
    decision: DecisionName

    @property
    def remaining(self) -> float:
        return max(0.0, self.budget.limit - self.spent - self.reserved)


@dataclass(frozen=True)
class EnforcementContext:
    """What the developer's ``on_enforce`` callback sees before a request is admitted.

    Attributes:
        user, plan, tags, models: who is asking and which models the plan may call.
        estimate: estimated dollars of this request (reserved if admitted).
        spent, remaining, limit, forecast: of the tightest budget (``None`` without budgets);
            ``forecast`` is the projected end-of-period spend at the current rate.
        decision: what the thresholds decided; ``reasons``: why.
        budgets: the status of every budget that applies.

    Example:
        >>> ctx = EnforcementContext(user="u1", estimate=0.01)
        >>> ctx.decision
        'allow'
    """

    user: str | None = None
    plan: str | None = None
    tags: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    estimate: float = 0.0
    spent: float | None = None
    remaining: float | None = None
    limit: float | None = None
    forecast: float | None = None
    decision: DecisionName = "allow"
    reasons: tuple[str, ...] = ()
    budgets: tuple[BudgetStatus, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EnforcementDecision:
    """The answer of an ``on_enforce`` callback.

    Example:
        >>> EnforcementDecision("degrade", "free plan: cheaper models only").decision
        'degrade'
    """

    decision: DecisionName = "allow"
    message: str = ""

    def __post_init__(self) -> None:
        _choice("enforcement.decision", self.decision, DECISIONS)

    @classmethod
    def coerce(cls, value: Any) -> EnforcementDecision:
        """Accept an ``EnforcementDecision``, a decision string, a ``(decision, message)`` pair or None."""
        if value is None:
            return cls()
        if isinstance(value, EnforcementDecision):
            return value
        if isinstance(value, str):
            return cls(value)  # type: ignore[arg-type]
        if isinstance(value, tuple) and len(value) == 2:
            return cls(value[0], str(value[1]))
        raise ConfigError(
            "on_enforce",
            f"returned {value!r}",
            "return EnforcementDecision(...), 'allow'|'warn'|'degrade'|'block', or (decision, message)",
        )


@dataclass(frozen=True)
class TrackerPolicy:
    """Tracker settings that are not budgets or rate limits.

    Args:
        on_store_error: ``fail_closed`` (refuse requests when the store cannot be reached) or
            ``fail_open`` (admit them and log a warning). Settlement never drops entries either way:
            they are kept in a spill journal and retried.
        spill_path: JSONL file for ledger entries that could not be written (default: in memory only).
        spill_limit: entries kept in memory before the oldest are written only to ``spill_path``.
        reservation_ttl_s: a reservation not settled within this time (a crashed worker) is released.
        forecast_warn: warn when the projected end-of-period spend exceeds a budget.
        min_estimate: dollars reserved at least per request (covers models priced at zero by mistake).
        require_prices: with budgets, refuse at construction tiers whose models have no known price.
        retention_s: keep the ledger for this many seconds: every ``prune_every_s`` a settlement prunes
            older entries (``CostTracker.prune``), in any store (``None``: keep everything, the default).
            Keep at least your longest budget period; counters of current periods are never touched.
        prune_every_s: how often the scheduled pruning runs (per process).

    Example:
        >>> TrackerPolicy(on_store_error="fail_open").on_store_error
        'fail_open'
    """

    on_store_error: Literal["fail_closed", "fail_open"] = "fail_closed"
    spill_path: str | None = None
    spill_limit: int = 10_000
    reservation_ttl_s: float = 600.0
    forecast_warn: bool = True
    min_estimate: float = 0.0
    require_prices: bool = True
    retention_s: float | None = None
    prune_every_s: float = 3600.0

    def __post_init__(self) -> None:
        _choice("policy.on_store_error", self.on_store_error, ("fail_closed", "fail_open"))
        _number("policy.reservation_ttl_s", self.reservation_ttl_s, positive=True)
        _number("policy.min_estimate", self.min_estimate)
        _number("policy.prune_every_s", self.prune_every_s, positive=True)
        if self.retention_s is not None:
            _number("policy.retention_s", self.retention_s, positive=True)
        if (
            isinstance(self.spill_limit, bool)
            or not isinstance(self.spill_limit, int)
            or self.spill_limit <= 0
        ):
            raise ConfigError("policy.spill_limit", f"must be a positive int, got {self.spill_limit!r}")


# --- periods ----------------------------------------------------------------------------------------------


def period_key_end(key: str) -> float | None:
    """When the period of a budget counter key (``user:alice|d:2026-11-23``) ends, in epoch seconds.

    ``None`` for ``total`` counters and for keys of any other form (they are never pruned).
    """
    prefix, _, stamp = key.rpartition("|")[2].partition(":")
    period = {"d": "daily", "w": "weekly", "m": "monthly"}.get(prefix)
    try:
        if period == "weekly":
            year, week = stamp.split("-W")
            start = datetime.fromisocalendar(int(year), int(week), 1)
        elif period is not None:
            start = datetime.strptime(stamp, "%Y-%m-%d" if period == "daily" else "%Y-%m")
        else:
            return None
    except ValueError:
        return None
    # The period that contains its own start: its end comes from the one definition of period lengths.
    return period_bounds(period, start.replace(tzinfo=timezone.utc).timestamp())[2].timestamp()


def period_bounds(period: str, now: float) -> tuple[str, datetime, datetime]:
    """(key, start, end) of the UTC period containing ``now`` (epoch seconds)."""
    t = datetime.fromtimestamp(now, tz=timezone.utc)
    if period == "daily":
        start = t.replace(hour=0, minute=0, second=0, microsecond=0)
        return f"d:{start:%Y-%m-%d}", start, start + timedelta(days=1)
    if period == "weekly":
        start = (t - timedelta(days=t.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        iso = start.isocalendar()
        return f"w:{iso[0]}-W{iso[1]:02d}", start, start + timedelta(days=7)
    if period == "monthly":
        start = t.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + timedelta(days=32)).replace(day=1)
        return f"m:{start:%Y-%m}", start, end
    if period == "total":
        return "total", datetime.fromtimestamp(0, tz=timezone.utc), datetime.max.replace(tzinfo=timezone.utc)
    raise ConfigError("period", f"unknown period {period!r}", f"use one of {', '.join(PERIODS)}")


def linear_forecast(spent: float, start: datetime, end: datetime, now: float) -> float:
    """End-of-period spend if the rate since the period began continues (``spent`` for ``total``)."""
    if end.year == datetime.max.year:
        return spent
    elapsed = now - start.timestamp()
    length = end.timestamp() - start.timestamp()
    if elapsed <= 0:
        return spent
    # Early in a period the rate is noisy: extrapolate from at least a quarter of the period.
    return spent * length / max(elapsed, length / 4)
