"""Forecasting end-of-period spend and spotting spend anomalies, from the ledger alone.

``forecast_spend``: spend so far in the period plus the recent rate (over ``lookback_s``) times the time
left. ``detect_anomalies``: a user (or model) whose spend in the last window is ``factor`` times its own
average over the previous windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from .._errors import ConfigError
from ._budget import Budget, period_bounds
from ._stores import LedgerEntry

if TYPE_CHECKING:
    from ._tracker import CostTracker

__all__ = ["Anomaly", "Forecast", "detect_anomalies", "forecast_budgets", "forecast_spend"]


@dataclass(frozen=True)
class Forecast:
    """Projected spend at the end of a budget's period.

    Example:
        >>> Forecast("user:a|d:2026-01-01", 1.0, 0.5, 1.5, 0.1, "2026-01-02T00:00:00+00:00").exceeds
        True
    """

    key: str
    limit: float
    spent: float
    projected: float
    rate_per_hour: float
    period_end: str

    @property
    def exceeds(self) -> bool:
        return self.projected > self.limit

    def describe(self) -> str:
        flag = "  WARNING: projected over budget" if self.exceeds else ""
        return (
            f"{self.key}: ${self.spent:.6f} of ${self.limit:g} spent, ${self.rate_per_hour:.6f}/h, "
            f"projected ${self.projected:.6f} by {self.period_end}{flag}"
        )


@dataclass(frozen=True)
class Anomaly:
    """A group whose recent spend rate jumped far above its own baseline."""

    by: str
    key: str
    recent: float
    baseline: float
    ratio: float

    def describe(self) -> str:
        return (
            f"{self.by} {self.key}: ${self.recent:.6f} in the last window vs ${self.baseline:.6f} "
            f"baseline ({self.ratio:.1f}x)"
        )


def forecast_spend(
    entries: Sequence[LedgerEntry], start: float, end: float, now: float, lookback_s: float = 3600.0
) -> tuple[float, float, float]:
    """(spent in [start, now], dollars per second over the lookback, projected spend at ``end``)."""
    if lookback_s <= 0:
        raise ConfigError("lookback_s", f"must be positive, got {lookback_s!r}")
    spent = sum(e.cost for e in entries if start <= e.ts <= now)
    since = max(start, now - lookback_s)
    span = now - since
    recent = sum(e.cost for e in entries if since < e.ts <= now or (e.ts == since == start))
    rate = recent / span if span > 0 else 0.0
    return spent, rate, spent + rate * max(0.0, end - now)


def _matches(e: LedgerEntry, scope: str, value: str) -> bool:
    return {
        "user": e.user == value,
        "tag": value in e.tags,
        "model": e.model == value,
        "plan": e.plan == value,
        "global": True,
    }[scope]


def _values(b: Budget, entries: Sequence[LedgerEntry], user: str | None) -> list[str]:
    if b.scope == "global":
        return ["all"]
    if b.match is not None:
        return [b.match]
    if b.scope == "user":
        return [user] if user is not None else sorted({e.user for e in entries if e.user})
    pool = [e for e in entries if user is None or e.user == user]
    if b.scope == "tag":
        return sorted({t for e in pool for t in e.tags})
    return sorted({str(getattr(e, b.scope)) for e in pool if getattr(e, b.scope)})


def forecast_budgets(
    tracker: CostTracker, *, user: str | None = None, lookback_s: float = 3600.0
) -> list[Forecast]:
    """A ``Forecast`` for every budget (and every user / tag ... it covers), or for ``user``'s budgets."""
    now = tracker.clock()
    out = []
    for b in tracker.budgets:
        if b.period == "total":
            continue
        pkey, start, end = period_bounds(b.period, now)
        entries = [e for e in tracker.entries(start.timestamp()) if e.ts <= now]  # a test clock may lag
        if b.plan is not None:
            entries = [e for e in entries if e.plan == b.plan]
            if user is not None and not any(e.user == user for e in entries):
                continue  # a plan budget applies to a user only once they spent under that plan
        for v in _values(b, entries, user):
            mine = [e for e in entries if _matches(e, b.scope, v)]
            spent, rate, projected = forecast_spend(mine, start.timestamp(), end.timestamp(), now, lookback_s)
            out.append(
                Forecast(b.key_for(b.scope, v, pkey), b.limit, spent, projected, rate * 3600, end.isoformat())
            )
    return out


def detect_anomalies(
    entries: Sequence[LedgerEntry],
    *,
    by: str = "user",
    window_s: float = 3600.0,
    now: float | None = None,
    baseline_windows: int = 24,
    factor: float = 3.0,
    min_spend: float = 0.0,
) -> list[Anomaly]:
    """Groups whose spend in the last ``window_s`` exceeds ``factor`` x their mean over earlier windows.

    A group needs history (spend in at least one earlier window) to be judged; brand-new groups are not
    flagged. ``min_spend`` ignores tiny absolute amounts.
    """
    if by not in ("user", "model", "tag", "plan"):
        raise ConfigError("by", f"cannot detect anomalies by {by!r}", "use user, model, tag or plan")
    if window_s <= 0 or baseline_windows <= 0 or factor <= 0:
        raise ConfigError("window_s/baseline_windows/factor", "must be positive")
    now = now if now is not None else datetime.now(timezone.utc).timestamp()
    lo = now - window_s * (baseline_windows + 1)
    recent: dict[str, float] = {}
    history: dict[str, list[tuple[float, float]]] = {}
    for e in entries:
        if e.ts < lo or e.ts > now:
            continue
        keys = e.tags if by == "tag" else (getattr(e, by),)
        for k in keys:
            if k is None:
                continue
            if e.ts > now - window_s:
                recent[k] = recent.get(k, 0.0) + e.cost
            else:
                history.setdefault(k, []).append((e.ts, e.cost))
    out = []
    for k, spend in recent.items():
        past = history.get(k)
        if not past or spend < min_spend:
            continue
        first = min(ts for ts, _ in past)
        windows = min(baseline_windows, max(1, int((now - window_s - first) // window_s) + 1))
        baseline = sum(c for _, c in past) / windows
        if baseline > 0 and spend > factor * baseline:
            out.append(Anomaly(by, k, spend, baseline, spend / baseline))
    return sorted(out, key=lambda a: -a.ratio)
