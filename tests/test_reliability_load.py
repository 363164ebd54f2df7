"""Load across processes: several worker processes run concurrent cascades over one local HTTP server
(with injected faults), sharing one budget on SQLite or Redis. The budget is never overspent, no ledger
entry is lost (the ledger equals the attempts the workers saw), and nothing untyped escapes.
"""

from __future__ import annotations

import multiprocessing as mp

import pytest

from cascadeflow_core import CostTracker, RedisStore, SQLiteStore
from cascadeflow_core.testing import Faults, OpenAICompatServer
from tests.support import tracker_stores as _stores
from tests.support.openai_server import load_worker

redis_server, redis_url = _stores.redis_server, _stores.redis_url

PROCS, REQUESTS, LIMIT = 3, 16, 0.25


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_processes_share_one_budget_over_http_under_faults(kind: str, tmp_path, request) -> None:  # type: ignore[no-untyped-def]
    store = (
        SQLiteStore(tmp_path / "ledger.db")
        if kind == "sqlite"
        else RedisStore(request.getfixturevalue("redis_url"))
    )
    spec = _stores.store_spec(store)
    replies = {"small": ["4", "4", "not sure"], "big": "The answer is 4."}
    faults = Faults(rate=0.15, kinds=("rate_limit", "unavailable", "reset", "malformed"), retry_after=0.01)
    with OpenAICompatServer(replies=replies, faults=faults, seed=11) as server:
        ctx = mp.get_context("spawn")
        barrier = ctx.Manager().Barrier(PROCS)
        with ctx.Pool(PROCS) as pool:
            reports = pool.starmap(load_worker, [(spec, server.base_url, REQUESTS, LIMIT, barrier)] * PROCS)
        served = len(server.served)
    kinds = [k for r in reports for k in r["kinds"]]
    assert not [k for k in kinds if k.startswith("UNTYPED")], kinds
    assert set(kinds) <= {"answered", "BudgetExceededError", "ExhaustedError"}, set(kinds)
    assert "answered" in kinds and "BudgetExceededError" in kinds  # the budget really was the limit
    tracker = CostTracker(store)
    entries = tracker.entries()
    assert len(entries) == sum(r["attempts"] for r in reports) == served  # every call booked, once
    spent = tracker.spent(user="u1")
    assert spent == pytest.approx(sum(r["cost"] for r in reports), rel=1e-9)
    assert spent <= LIMIT + 1e-9, f"overspent: {spent} > {LIMIT}"
    store.close()
