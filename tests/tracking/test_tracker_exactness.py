"""Budget exactness at scale: 8 processes x 50 concurrent requests for one user, a budget that admits
only part, on a real Redis Cluster, through a Sentinel failover, and on PostgreSQL."""

from __future__ import annotations

import time

import pytest

from cascadeflow_core import PostgresStore, RedisStore
from tests.support import tracker_stores as _fixtures

redis_cluster, redis_cluster_url = _fixtures.redis_cluster, _fixtures.redis_cluster_url
redis_sentinel, redis_sentinel_url = _fixtures.redis_sentinel, _fixtures.redis_sentinel_url
postgres_server, postgres_dsn = _fixtures.postgres_server, _fixtures.postgres_dsn
postgres_schema = _fixtures.postgres_schema

PROCS, THREADS, ESTIMATE, LIMIT = 8, 50, 0.01, 1.37  # 400 requests, the budget allows 137


def _exact(out: dict[str, float], admitted: int | None = 137) -> None:
    assert out["unflushed"] == 0, out
    assert out["spent"] <= LIMIT + 1e-9, out  # never overspent
    assert out["entries"] == out["admitted"], out  # one ledger entry per admitted request, none lost
    assert out["spent"] == pytest.approx(out["admitted"] * ESTIMATE), out  # every settlement counted once
    if admitted is not None:
        assert out["admitted"] == admitted, out  # and the budget was used up exactly
    assert out["admitted"] + out["refused"] + out["store_errors"] == out["attempts"], out


@pytest.mark.slow
def test_exact_on_a_redis_cluster(redis_cluster_url):
    _exact(_fixtures.exactness_run(RedisStore(redis_cluster_url), PROCS, THREADS, LIMIT, ESTIMATE))


@pytest.mark.slow
def test_exact_on_postgres(postgres_dsn, postgres_schema):
    store = PostgresStore(postgres_dsn, schema=postgres_schema)
    _exact(_fixtures.exactness_run(store, PROCS, THREADS, LIMIT, ESTIMATE))


@pytest.mark.slow
def test_exact_through_a_sentinel_failover_when_writes_wait_for_the_replica(
    redis_sentinel, redis_sentinel_url
):
    # wait_replicas=1: a write the old master accepts after its replica was promoted is not confirmed, so
    # it is retried (failover_wait_s) until the client reaches the new master; nothing acknowledged is lost
    store = RedisStore(redis_sentinel_url, wait_replicas=1, wait_timeout_s=0.2, failover_wait_s=20)
    old = redis_sentinel.master()

    def failover() -> None:
        time.sleep(0.2)  # requests admitted, their model calls in flight
        assert redis_sentinel.failover() != old

    try:
        out = _fixtures.exactness_run(store, PROCS, THREADS, LIMIT, ESTIMATE, during=failover, call_s=1.0)
    finally:
        redis_sentinel.wait_replicated()
    assert out["store_errors"] == 0, out
    _exact(out)
