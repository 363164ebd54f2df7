"""Redis Cluster, Sentinel and PostgreSQL specifics, each on a real server started by the test setup.

The behaviour every store shares is in ``test_tracker.py`` (parametrized over all of them); here: what
only a distributed store has (declared keys, shards spread over slots, one round trip, server time,
pickling from URLs and clients, replica acknowledgement, the Postgres schema).
"""

from __future__ import annotations

import pickle
import time

import pytest

from cascadeflow_core import CostTracker, PostgresStore, RateLimit, RedisStore, UserRateLimitError
from cascadeflow_core._errors import ConfigError, StorageError
from cascadeflow_core.tracking._stores import BudgetCheck, LimitCheck, ReserveOp
from tests.support import tracker_stores as _fixtures

redis_server, redis_url = _fixtures.redis_server, _fixtures.redis_url
redis_cluster, redis_cluster_url = _fixtures.redis_cluster, _fixtures.redis_cluster_url
redis_sentinel, redis_sentinel_url = _fixtures.redis_sentinel, _fixtures.redis_sentinel_url
postgres_server, postgres_dsn = _fixtures.postgres_server, _fixtures.postgres_dsn
postgres_schema = _fixtures.postgres_schema


def _workload(tracker: CostTracker, users: int = 6) -> None:
    from cascadeflow_core import Attempt, Plan, Request

    for i in range(users):
        req = Request([{"role": "user", "content": "hi"}], user=f"u{i}", tags=("chat",))
        adm = tracker.admit(req, Plan(()), 0.01)
        tracker.settle(adm, req, (Attempt("t", "m", "accepted", 10, 5, 0.01),), None, f"r{i}")


def _tracker(store) -> CostTracker:  # type: ignore[no-untyped-def]
    from cascadeflow_core import Budget

    return CostTracker(
        store,
        budgets=[
            Budget(1.0, "daily"),
            Budget(5.0, "daily", scope="global"),
            Budget(5.0, "total", scope="tag"),
        ],
        rate_limits=[RateLimit(100, per="minute"), RateLimit(10_000, per="hour", unit="tokens")],
    )


def _evalsha_calls(ports: list[int]) -> int:
    import redis

    total = 0
    for port in ports:
        stats = redis.Redis(port=port).info("commandstats")
        total += int(stats.get("cmdstat_evalsha", {}).get("calls", 0))
    return total


def test_scripts_touch_only_the_keys_they_declare(redis_url, monkeypatch):
    store = RedisStore(redis_url)
    declared: set[str] = set()
    real_run = store._run

    def spy(calls, what):  # type: ignore[no-untyped-def]
        for _, keys, _ in calls:
            declared.update(keys)
        return real_run(calls, what)

    monkeypatch.setattr(store, "_run", spy)
    tracker = _tracker(store)
    _workload(tracker)
    tracker.entries()
    tracker.prune(time.time() - 3600)
    written = {k.decode() for k in store.client.scan_iter("*")}
    assert written, "the workload wrote nothing"
    assert written - declared == {"{cascadeflow}:layout"}  # the one key written outside a script
    store.close()


def test_tenants_spread_over_every_cluster_master(redis_cluster, redis_cluster_url):
    import redis

    store = RedisStore(redis_cluster_url)
    tracker = CostTracker(store, rate_limits=[RateLimit(100, per="minute")])
    for i in range(60):
        tracker.record("m", cost=0.001, user=f"user{i}")
    sizes = [redis.Redis(port=p).dbsize() for p in redis_cluster.ports]
    assert all(n > 0 for n in sizes), sizes  # not one node holding every tenant
    assert len(tracker.entries()) == 60
    store.close()


def test_one_round_trip_per_admission_and_per_settlement_on_the_cluster(redis_cluster, redis_cluster_url):
    store = RedisStore(redis_cluster_url)
    tracker = CostTracker(store, rate_limits=[RateLimit(100, per="minute")])
    tracker.record("m", cost=0.0, user="warm")  # scripts loaded, layout checked
    op = ReserveOp(
        "rid-1",
        0.01,
        (BudgetCheck("user:solo|total", 1.0),),
        (LimitCheck("rl:requests:minute:sliding:solo", 10, 60),),
        time.time(),
        time.time() + 60,
    )
    before = _evalsha_calls(redis_cluster.ports)
    assert store.reserve(op).ok
    assert _evalsha_calls(redis_cluster.ports) - before == 1
    before = _evalsha_calls(redis_cluster.ports)
    tracker.record("m", cost=0.01, user="solo")
    assert _evalsha_calls(redis_cluster.ports) - before == 1
    store.close()


def test_a_refusal_on_one_shard_undoes_the_reservation_on_the_other(redis_cluster_url):
    store = RedisStore(redis_cluster_url)
    user = next(
        f"u{i}" for i in range(100) if store.shard_of(f"user:u{i}|total") != store.shard_of("global:all|x")
    )
    mine, everyone = f"user:{user}|total", "global:all|total"
    now = time.time()
    rate = LimitCheck(f"rl:requests:minute:sliding:{user}", 1, 60)
    op = ReserveOp("r1", 0.02, (BudgetCheck(mine, 1.0), BudgetCheck(everyone, 0.01)), (rate,), now, now + 60)
    out = store.reserve(op)
    assert (out.ok, out.reason, out.key) == (False, "budget", everyone)
    assert store.usage([mine, everyone], now) == {mine: (0.0, 0.0), everyone: (0.0, 0.0)}
    ok = ReserveOp("r2", 0.005, (BudgetCheck(mine, 1.0), BudgetCheck(everyone, 0.01)), (rate,), now, now + 60)
    assert store.reserve(ok).ok  # the refused request's rate event was undone too (limit 1 a minute)
    store.close()


@pytest.mark.parametrize("clock", ["tracker", "server"])
def test_server_clock_keeps_workers_with_skewed_clocks_in_one_window(redis_url, clock):
    from cascadeflow_core import Plan, Request

    store = RedisStore(redis_url, clock=clock)
    behind = CostTracker(store, rate_limits=[RateLimit(2, per="minute")], clock=lambda: time.time() - 120)
    right = CostTracker(store, rate_limits=[RateLimit(2, per="minute")])
    req = Request([{"role": "user", "content": "hi"}], user="skew")
    admitted = 0
    for tracker in (behind, behind, right, right):
        try:
            tracker.admit(req, Plan(()), 0.0)
            admitted += 1
        except UserRateLimitError:
            pass
    # the tracker's clocks disagree by two minutes: its own windows admit 4 in one real minute
    assert admitted == (2 if clock == "server" else 4)
    store.close()


def test_stores_pickle_from_urls_and_from_clients(
    redis_url, redis_cluster_url, redis_sentinel, redis_sentinel_url
):
    import redis
    from redis.sentinel import Sentinel

    sentinel_client = Sentinel([("127.0.0.1", redis_sentinel.sentinel_port)]).master_for(
        redis_sentinel.service
    )
    stores = [
        RedisStore.from_url(redis_url),
        RedisStore.from_url(redis_cluster_url, shards=16),
        RedisStore.from_url(redis_sentinel_url),
        RedisStore(redis.Redis.from_url(redis_url)),
        RedisStore(RedisStore.from_url(redis_cluster_url, shards=16).client, shards=16),
        RedisStore(sentinel_client),
    ]
    for store in stores:
        copy = pickle.loads(pickle.dumps(store))
        CostTracker(copy).record("m", cost=0.5, user="p")
        assert CostTracker(store).spent(user="p") >= 0.5
        assert (copy.shards, copy.clock) == (store.shards, store.clock)
        copy.close()
        store.close()


def test_urls_are_checked_and_passwords_never_shown():
    with pytest.raises(ConfigError, match="unknown scheme"):
        RedisStore("memcached://127.0.0.1:1")
    with pytest.raises(ConfigError, match="service name"):
        RedisStore("redis+sentinel://127.0.0.1:26379")
    with pytest.raises(ConfigError, match="host:port"):
        RedisStore("redis+cluster://127.0.0.1")
    store = RedisStore("redis+sentinel://app:s3cret@127.0.0.1:1/main")
    assert "s3cret" not in repr(store) and "***" in repr(store)
    assert pickle.loads(pickle.dumps(store)).url == store.url  # the copy can still authenticate


def test_a_namespace_keeps_its_shard_count(redis_url):
    CostTracker(RedisStore(redis_url, shards=64)).record("m", cost=0.1, user="a")
    with pytest.raises(ConfigError, match="shards"):
        CostTracker(RedisStore(redis_url, shards=32)).record("m", cost=0.1, user="a")


def test_wait_replicas_confirms_writes_on_sentinel_and_is_refused_on_a_cluster(
    redis_sentinel_url, redis_cluster_url
):
    store = RedisStore(redis_sentinel_url, wait_replicas=1)
    tracker = CostTracker(store)
    tracker.record("m", cost=0.25, user="w")
    assert tracker.spent(user="w") == pytest.approx(0.25)
    impossible = CostTracker(RedisStore(redis_sentinel_url, wait_replicas=3, wait_timeout_s=0.05))
    with pytest.raises(StorageError, match="replicas confirmed"):
        impossible.store.settle(tracker_settle_op())
    with pytest.raises(ConfigError, match="wait_replicas"):
        RedisStore(redis_cluster_url, wait_replicas=1)


def tracker_settle_op():  # type: ignore[no-untyped-def]
    from cascadeflow_core.tracking._stores import SettleOp

    return SettleOp("op-wait", None, (), {"user:w|total": 0.1}, now=time.time())


# --- PostgreSQL ----------------------------------------------------------------------------------------------


def test_postgres_ledger_is_a_table_the_team_can_query(postgres_dsn, postgres_schema):
    import psycopg

    store = PostgresStore(postgres_dsn, schema=postgres_schema)
    tracker = CostTracker(store)
    tracker.record("acme/model", cost=0.02, user="alice", tags=("chat",))
    tracker.record("acme/model", cost=0.03, user="bob")
    with psycopg.connect(postgres_dsn) as conn:
        rows = conn.execute(
            f'SELECT "user", sum(cost), min(at) FROM {postgres_schema}.ledger GROUP BY "user" ORDER BY "user"'
        ).fetchall()
        indexes = {
            r[0]
            for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s", (postgres_schema,)
            )
        }
    assert [(u, round(c, 6)) for u, c, _ in rows] == [("alice", 0.02), ("bob", 0.03)]
    assert rows[0][2].tzinfo is not None  # ``at`` is a timestamptz, ready for joins
    assert {"ledger_ts", "ledger_user_ts", "ledger_model_ts", "ledger_request"} <= indexes
    assert tracker.entries(user="alice")[0].tags == ("chat",)
    store.close()


def test_postgres_migrations_run_once_and_refuse_a_newer_schema(postgres_dsn, postgres_schema):
    import psycopg

    from cascadeflow_core.tracking._store_postgres import MIGRATIONS

    first = PostgresStore(postgres_dsn, schema=postgres_schema)
    second = PostgresStore(postgres_dsn, schema=postgres_schema)  # opens the same tables: no second migration
    assert first.version == second.version == len(MIGRATIONS)
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        n = conn.execute(f"SELECT count(*) FROM {postgres_schema}.schema_version").fetchone()[0]
        assert n == len(MIGRATIONS)
        conn.execute(f"INSERT INTO {postgres_schema}.schema_version (version) VALUES (99)")
    with pytest.raises(StorageError, match="newer than this cascadeflow"):
        PostgresStore(postgres_dsn, schema=postgres_schema)
    first.close()
    second.close()


def test_postgres_store_pickles_and_hides_its_password(postgres_dsn, postgres_schema):
    store = PostgresStore(postgres_dsn, schema=postgres_schema)
    copy = pickle.loads(pickle.dumps(store))
    CostTracker(copy).record("m", cost=0.5, user="p")
    assert CostTracker(store).spent(user="p") == pytest.approx(0.5)
    secret = PostgresStore(
        postgres_dsn.replace("cascadeflow@", "cascadeflow:hunter2@"), schema=postgres_schema
    )
    assert "hunter2" not in repr(secret) and "***" in repr(secret)  # trust auth: any password connects
    secret.close()
    with pytest.raises(ConfigError, match="schema"):
        PostgresStore(postgres_dsn, schema="Robert'); DROP TABLE x;--")
    copy.close()
    store.close()


def test_a_retried_reservation_does_not_count_itself(redis_url):
    # A reserve whose reply was lost (or not confirmed by a replica) is sent again with the same id: it
    # must neither hold the budget twice nor refuse itself, and a refusal removes its earlier hold.
    store = RedisStore(redis_url)
    now = time.time()
    budget = (BudgetCheck("user:x|total", 0.015),)
    rate = (LimitCheck("rl:requests:minute:sliding:x", 1, 60),)
    op = ReserveOp("rid", 0.01, budget, rate, now, now + 60)
    assert store.reserve(op).ok and store.reserve(op).ok
    assert store.usage(["user:x|total"], now) == {"user:x|total": (0.0, 0.01)}
    bigger = ReserveOp("rid", 0.02, budget, (), now, now + 60)  # the same id, now refused
    assert not store.reserve(bigger).ok
    assert store.usage(["user:x|total"], now) == {"user:x|total": (0.0, 0.0)}
    store.close()


def test_configuration_opens_cluster_sentinel_and_postgres_stores(
    redis_cluster_url, redis_sentinel_url, postgres_dsn
):
    from cascadeflow_core.config._build import build_tracker
    from cascadeflow_core.config._schema import TrackerSection

    for url, kind in (
        (redis_cluster_url, RedisStore),
        (redis_sentinel_url, RedisStore),
        (postgres_dsn, PostgresStore),
    ):
        tracker = build_tracker(TrackerSection.model_validate({"store": url}))
        assert isinstance(tracker.store, kind)
        tracker.record("m", cost=0.01, user="cfg")
        tracker.close()


def test_an_admitted_request_costs_one_round_trip_on_the_cluster(redis_cluster, redis_cluster_url):
    from cascadeflow_core import Budget, Plan, Request

    store = RedisStore(redis_cluster_url)
    tracker = CostTracker(store, budgets=[Budget(1.0, "daily")], rate_limits=[RateLimit(100, per="minute")])
    req = Request([{"role": "user", "content": "hi"}], user="one-trip")
    tracker.admit(req, Plan(()), 0.01)  # scripts loaded, layout checked
    before = _evalsha_calls(redis_cluster.ports)
    admission = tracker.admit(req, Plan(()), 0.01)
    assert _evalsha_calls(redis_cluster.ports) - before == 1  # decide from the spend read by the reserve
    assert admission.decision == "allow" and admission.details["spent"] == 0.0
    asked = CostTracker(store, budgets=[Budget(1.0, "daily")], on_enforce=lambda ctx: None)
    before = _evalsha_calls(redis_cluster.ports)
    asked.admit(req, Plan(()), 0.01)
    assert _evalsha_calls(redis_cluster.ports) - before == 2  # a callback is asked before anything is held
    store.close()


def test_postgres_synchronous_commit_off_is_per_session_and_survives_pickling(postgres_dsn, postgres_schema):
    store = PostgresStore(postgres_dsn, schema=postgres_schema, synchronous_commit=False)
    copy = pickle.loads(pickle.dumps(store))
    for s in (store, copy):
        with s._conn() as conn:
            assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "off"
    with PostgresStore(postgres_dsn, schema=postgres_schema)._conn() as conn:
        assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "on"  # the default stays durable
    copy.close()
    store.close()


def test_counters_of_the_old_single_tag_layout_are_refused_until_migrated(redis_url):
    import json

    import redis

    old = redis.Redis.from_url(redis_url)  # what versions before shards wrote
    old.hset("{cascadeflow}:spent", "user:alice|total", "0.75")
    entry = {
        "id": "e1",
        "ts": 1_790_000_000.0,
        "request_id": "r1",
        "user": "alice",
        "model": "m",
        "cost": 0.75,
    }
    old.rpush("{cascadeflow}:ledger", json.dumps(entry))
    old.hset("{cascadeflow}:res:user:alice|total", "rid", "0.1|1e18")
    tracker = CostTracker(RedisStore(redis_url))
    with pytest.raises(ConfigError, match="migrate_legacy"):
        tracker.spent(user="alice")  # not a silent $0
    assert RedisStore(redis_url).migrate_legacy() == 1
    tracker = CostTracker(RedisStore(redis_url))
    assert tracker.store.usage(["user:alice|total"], time.time()) == {"user:alice|total": (0.75, 0.0)}
    assert [e.id for e in tracker.entries(user="alice")] == ["e1"]
    assert set(old.keys("{cascadeflow}:*")) == {b"{cascadeflow}:layout"}  # the old keys are gone
