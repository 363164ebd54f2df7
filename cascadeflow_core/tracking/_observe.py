"""What the tracker learns from settlements to reserve realistically: output tokens per model.

Without ``max_tokens`` a call's output has no hard bound, and reserving a fixed worst case blocked
budgets long before they were spent. ``OutputStats`` keeps the last ``window`` output-token counts of
each model (answered calls only, cache hits excluded) and reports a high percentile (p99 by default)
once ``min_samples`` are in: the reservation for the next call. The exactness with ``max_tokens`` set is
untouched (the estimate then reserves every allowed token).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from .._errors import StorageError
from .._protocols import Plan
from ._stores import BudgetCheck, LedgerEntry, LedgerStore, ReserveOp

__all__ = ["OutputStats", "extend_hold", "held_s", "plan_models", "scheduled_prune"]

log = logging.getLogger("cascadeflow.tracker")


class OutputStats:
    """Rolling per-model output-token counts and their high percentile (bounded memory)."""

    def __init__(self, window: int = 512, percentile: float = 0.99, min_samples: int = 20) -> None:
        self.window, self.percentile, self.min_samples = window, percentile, min_samples
        self._samples: dict[str, deque[int]] = {}
        self._bound: dict[str, int] = {}
        self._lock = threading.Lock()

    def observe(self, entries: Iterable[LedgerEntry]) -> None:
        with self._lock:
            for e in entries:
                if e.cached or e.status == "error" or e.output_tokens <= 0:
                    continue
                d = self._samples.get(e.model)
                if d is None:
                    if len(self._samples) >= 4 * self.window:  # models seen: bounded as well
                        continue
                    d = self._samples[e.model] = deque(maxlen=self.window)
                d.append(int(e.output_tokens))
                self._bound.pop(e.model, None)

    def bound(self, model: str) -> int | None:
        """The percentile of ``model``'s recent outputs, or None until ``min_samples`` are in."""
        with self._lock:
            if model in self._bound:
                return self._bound[model]
            d = self._samples.get(model)
            if d is None or len(d) < self.min_samples:
                return None
            ranked = sorted(d)
            value = ranked[min(len(ranked) - 1, math.ceil(self.percentile * len(ranked)) - 1)]
            self._bound[model] = value
            return value


def plan_models(plan: Plan) -> list[str]:
    """Every model the plan may call, fallbacks included (their budgets apply at admission too)."""
    out: dict[str, None] = {}
    for t in plan.tiers:
        for m in (*getattr(t, "models", ()), *getattr(t, "fallbacks", ())):
            out[m.label] = None
    return list(out)


def held_s(tracker: Any, seconds: float) -> float:
    """How long a hold lasts: the call's need, at least the reservation TTL."""
    return max(float(tracker.policy.reservation_ttl_s), float(seconds))


def extend_hold(
    store: LedgerStore, rid: str, keys: Sequence[str], amount: float, now: float, held: float
) -> float:
    """Re-write reservation ``rid`` to expire ``held`` seconds from ``now``, without a budget check (the
    request was admitted); 0.0 when the store refused (the reservation may then expire early)."""
    op = ReserveOp(rid, amount, tuple(BudgetCheck(k, None) for k in keys), (), now, now + held)
    try:
        store.reserve(op)
    except StorageError as e:
        log.warning("tracker could not extend reservation %s (%s); it may expire early", rid, e)
        return 0.0
    return held


def scheduled_prune(tracker: Any, before: float) -> int:
    """``tracker.prune(before)`` for the schedule: a failure is logged and retried next time, never raised."""
    try:
        n = int(tracker.prune(before))
    except Exception as e:
        log.warning("tracker scheduled pruning failed (%s); retried in %g s", e, tracker.policy.prune_every_s)
        return 0
    if n:
        log.info("tracker pruned %d ledger entries older than %s", n, before)
    return n
