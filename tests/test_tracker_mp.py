"""Budget exactness across processes: 4 worker processes x 20 concurrent requests share one budget."""

from __future__ import annotations

import multiprocessing as mp

import pytest

from cascadeflow_core import CostTracker, RedisStore, SQLiteStore
from tests.support import tracker_stores as _fixtures

redis_server, redis_url = _fixtures.redis_server, _fixtures.redis_url

PROCS, THREADS, COST, LIMIT = 4, 20, 0.01, 0.25   # 80 requests, the budget allows 25


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_processes_cannot_overspend_one_budget(kind, tmp_path, request):
    store = SQLiteStore(tmp_path / "ledger.db") if kind == "sqlite" else RedisStore(request.getfixturevalue("redis_url"))
    spec = _fixtures.store_spec(store)
    ctx = mp.get_context("spawn")
    barrier = ctx.Manager().Barrier(PROCS)
    with ctx.Pool(PROCS) as pool:
        counts = pool.starmap(_fixtures.mp_worker, [(spec, THREADS, LIMIT, COST, barrier)] * PROCS)
    spent = CostTracker(store).spent(user="u1")
    assert sum(counts) == 25, counts              # exactly the requests the budget allows
    assert spent == pytest.approx(LIMIT) and spent <= LIMIT + 1e-9
    assert len(CostTracker(store).entries()) == 25
    store.close()
