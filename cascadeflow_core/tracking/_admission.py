"""Admission in one store round trip: reserve first, then decide from the spend the reserve read.

The tracker's two-step admission reads each budget's spend (``usage``), decides allow / warn / degrade /
block, then reserves: two store round trips. A store whose ``reserve`` returns the spend it read inside
its atomic step (``reports_usage = True``: every built-in store) lets the tracker reserve first and
decide from that: one round trip for an admitted request (on Redis, one script; on PostgreSQL, one
transaction). The two-step path stays for requests the store refuses (it produces the exact error) and
for trackers with an ``on_enforce`` callback (which may lift or impose a block, so it must be asked
before anything is counted).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from .._errors import StorageError
from .._protocols import Plan
from .._types import Request
from ._budget import Budget, BudgetStatus, EnforcementContext, EnforcementDecision
from ._stores import BudgetCheck, LimitCheck, ReserveOp

if TYPE_CHECKING:
    from ._tracker import CostTracker

__all__ = ["admit_in_one_step"]

log = logging.getLogger("cascadeflow.tracker")

Admitted = tuple[EnforcementDecision, EnforcementContext, list[BudgetStatus], str, tuple[str, ...]]


def admit_in_one_step(
    tracker: CostTracker,
    request: Request,
    plan: Plan,
    estimate: float,
    checks: tuple[list[tuple[Budget, str, Any, Any]], tuple[LimitCheck, ...]],
    now: float,
) -> Admitted | None:
    """(decision, context, statuses, reservation id, reserved keys) of an admitted request, or ``None``
    when the store refused or failed (the caller then takes the two-step path). A threshold ``block`` is
    the store's own inequality, so it coincides with a refusal; should rounding ever split them, the
    hold is released and the request blocked.
    """
    applicable, rates = checks
    budgets = tuple(BudgetCheck(key, b.hard_limit) for b, key, _, _ in applicable)
    rid = os.urandom(12).hex()
    op = ReserveOp(rid, estimate, budgets, rates, now, now + tracker.policy.reservation_ttl_s)
    try:
        tracker._retry_spill()
        outcome = tracker.store.reserve(op)
    except StorageError:
        return None  # the two-step path meets the same failure and applies the policy
    keys = tuple(b.key for b in budgets)
    if not outcome.ok or outcome.usage is None:
        if outcome.ok:  # a store that says it reports usage but did not: undo, go the long way
            tracker.store.release(rid, keys)
        return None
    statuses = tracker._statuses(applicable, estimate, now, outcome.usage)
    ctx = tracker._context(request, plan, estimate, statuses)
    decision, _ = tracker._decide(ctx)
    if decision.decision == "block":
        try:
            tracker.store.release(rid, keys)
        except StorageError:
            log.warning("could not release reservation %s (it expires by itself)", rid)
        message = decision.message or "; ".join(ctx.reasons) or "blocked"
        tracker._raise_budget(ctx, message, request.user or "anonymous")
    return decision, ctx, statuses, rid, keys
