"""Budget exactness across processes: 4 worker processes x 20 concurrent requests share one budget."""

from __future__ import annotations

import multiprocessing as mp

import pytest

from cascadeflow_core import CostTracker
from tests.support import tracker_stores as _fixtures

redis_server, redis_url = _fixtures.redis_server, _fixtures.redis_url
redis_cluster, redis_cluster_url = _fixtures.redis_cluster, _fixtures.redis_cluster_url
redis_sentinel, redis_sentinel_url = _fixtures.redis_sentinel, _fixtures.redis_sentinel_url
postgres_server, postgres_dsn = _fixtures.postgres_server, _fixtures.postgres_dsn
postgres_schema = _fixtures.postgres_schema

PROCS, THREADS, COST, LIMIT = 4, 20, 0.01, 0.25  # 80 requests, the budget allows 25


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "redis", "redis-cluster", "redis-sentinel", "postgres"])
def test_processes_cannot_overspend_one_budget(kind, tmp_path, request):
    store = _fixtures.make_store(kind, request, tmp_path)
    ctx = mp.get_context("spawn")
    barrier = ctx.Manager().Barrier(PROCS)
    with ctx.Pool(PROCS) as pool:  # each worker gets the store pickled and reconnects from its URL / DSN
        counts = pool.starmap(_fixtures.mp_worker, [(store, THREADS, LIMIT, COST, barrier)] * PROCS)
    spent = CostTracker(store).spent(user="u1")
    assert sum(counts) == 25, counts  # exactly the requests the budget allows
    assert spent == pytest.approx(LIMIT) and spent <= LIMIT + 1e-9
    assert len(CostTracker(store).entries()) == 25
    store.close()


@pytest.mark.slow
def test_saas_budget_and_hourly_limit_across_workers_sharing_redis(redis_url, tmp_path):
    # one process alone first: warned before the limit, degraded near it, then refused
    import redis

    solo = _fixtures.saas_worker(redis_url, 12, _NoBarrier())
    assert solo[:7] == ["allow"] * 7 and solo[7] == "warn" and solo[8] == "degrade"
    assert solo[9:] == ["UserRateLimitError"] * 3
    redis.Redis.from_url(redis_url).flushdb()
    # then three workers race for the same user
    ctx = mp.get_context("spawn")
    barrier = ctx.Manager().Barrier(3)
    with ctx.Pool(3) as pool:
        outcomes = [
            o for out in pool.starmap(_fixtures.saas_worker, [(redis_url, 6, barrier)] * 3) for o in out
        ]
    admitted = [o for o in outcomes if o in ("allow", "warn", "degrade")]
    assert len(admitted) == 9, outcomes  # the hourly limit, exactly, across processes
    assert set(outcomes) - {"allow", "warn", "degrade"} <= {"UserRateLimitError", "BudgetExceededError"}
    tracker = _fixtures.saas_cascade(redis_url).tracker
    assert tracker.spent(user="acme", period="daily") <= 0.10 + 1e-9
    path = tmp_path / "books.csv"
    tracker.to_csv(str(path))
    rows = path.read_text().splitlines()
    assert rows[0].startswith("time,id,ts,request_id,user,model,cost")
    assert len({r.split(",")[3] for r in rows[1:]}) == 9  # one request id per admitted request


class _NoBarrier:
    def wait(self) -> None:
        return None
