"""Budgets and rate limits: warn, degrade and block per user, a billing callback, the ledger and a CSV export.

Run: python examples/budgets.py [--live]

Each user has $1.00 a day: at 80 % a request is admitted with a warning, at 90 % it is degraded (only the
cheap model), above 100 % it is refused with ``BudgetExceededError``, unless the billing callback (here a
dict standing in for a Stripe lookup) finds prepaid credit. Earlier spend is booked with
``tracker.record``. Offline (default) the models answer with LiteLLM's ``mock_response``: the cheap one
hedges, so allowed users escalate to gpt-4o. ``--live`` calls OpenAI (needs OPENAI_API_KEY).
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

from cascadeflow_core import (
    AdmissionError,
    Budget,
    BudgetExceededError,
    Cascade,
    CostTracker,
    EnforcementContext,
    EnforcementDecision,
    ModelSpec,
    RateLimit,
    UserRateLimitError,
)

LIVE = "--live" in sys.argv
if LIVE and not os.environ.get("OPENAI_API_KEY"):
    print("--live calls OpenAI: set OPENAI_API_KEY, or run without --live (offline).", file=sys.stderr)
    sys.exit(2)

ACCOUNTS: dict[str, dict[str, Any]] = {"eve": {"plan": "pro", "prepaid_usd": 20.0}}  # as from Stripe
SPENT_TODAY = {"ana": 0.10, "ben": 0.85, "cem": 0.93, "dia": 1.00, "eve": 1.00}


def billing(ctx: EnforcementContext) -> EnforcementDecision | None:
    """Called at admission with the threshold decision; None keeps it."""
    account = ACCOUNTS.get(ctx.user or "", {"plan": "free", "prepaid_usd": 0.0})
    if ctx.decision == "block" and account["prepaid_usd"] > ctx.estimate:
        return EnforcementDecision(
            "allow", f"over budget, billed to prepaid credit (${account['prepaid_usd']:.2f})"
        )
    return None


def model(name: str, mock: str) -> ModelSpec:
    return ModelSpec(name) if LIVE else ModelSpec(name, params={"mock_response": mock})


tracker = CostTracker(
    budgets=[Budget(1.00, "daily", scope="user", warn_at=0.8, degrade_at=0.9)],
    rate_limits=[RateLimit(3, per="minute")],
    on_enforce=billing,
)
cascade = Cascade(
    [model("openai/gpt-4o-mini", "I'm not sure, maybe Canberra?"), model("openai/gpt-4o", "Canberra.")],
    tracker=tracker,
)

for user, dollars in SPENT_TODAY.items():  # earlier calls, booked as a LiteLLM callback would
    tracker.record("openai/gpt-4o", cost=dollars, user=user)

for user in SPENT_TODAY:
    try:
        r = cascade.complete("What is the capital of Australia? One word.", user=user, max_tokens=20)
    except BudgetExceededError as e:
        print(f"{user}: BLOCKED  spent ${e.spent:.2f} of ${e.limit:.2f} ({e.scope})")
        continue
    admission = dict(r.admission or {})
    print(f"{user}: {admission.get('decision', 'allow'):<8} answered by {r.model:<18} ${r.cost:.6f}")
    if admission.get("message"):
        print(f"     why: {admission['message']}")

print("\nRate limit, 3 requests a minute per user:")
for i in range(4):
    try:
        cascade.complete(f"Say {i}.", user="fay", max_tokens=5)
        print(f"  request {i + 1}: ok")
    except UserRateLimitError as e:
        print(f"  request {i + 1}: refused, retry after {e.retry_after:.0f} s")
    except AdmissionError as e:  # the common base of budget and rate-limit refusals
        print(f"  request {i + 1}: refused: {e}")

print("\n" + tracker.report(period="daily"))
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "ledger.csv")
    tracker.to_csv(path)
    with open(path) as f:
        rows = f.read().splitlines()
    print(f"\nexported {len(rows) - 1} ledger entries to {path}; columns: {rows[0]}")
