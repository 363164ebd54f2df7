"""CostTracker behaviour, run against every store (memory, SQLite, real Redis / Cluster / Sentinel, PostgreSQL)."""

from __future__ import annotations

import itertools
import threading

import pytest

from cascadeflow_core import (
    Attempt,
    Budget,
    BudgetExceededError,
    CostTracker,
    EnforcementContext,
    EnforcementDecision,
    Plan,
    RateLimit,
    Request,
    Tier,
    TrackerPolicy,
    UserRateLimitError,
)
from tests.support import tracker_stores as _fixtures
from tests.support.tracker_stores import Clock

# the parametrized ``store`` fixture (memory, SQLite, Redis: one server, Cluster, Sentinel; PostgreSQL)
# and the real servers it starts
store, store_kind = _fixtures.store, _fixtures.store_kind
redis_server, redis_url = _fixtures.redis_server, _fixtures.redis_url
redis_cluster, redis_cluster_url = _fixtures.redis_cluster, _fixtures.redis_cluster_url
redis_sentinel, redis_sentinel_url = _fixtures.redis_sentinel, _fixtures.redis_sentinel_url
postgres_server, postgres_dsn = _fixtures.postgres_server, _fixtures.postgres_dsn
postgres_schema = _fixtures.postgres_schema

DAY = 86400.0
_IDS = itertools.count()


def req(user: str = "alice", tags: tuple[str, ...] = (), plan: str | None = None) -> Request:
    return Request(
        [{"role": "user", "content": "hi"}], user=user, tags=tags, metadata={"plan": plan} if plan else {}
    )


def plan_of(*models: str) -> Plan:
    return Plan(tuple(Tier([m]) for m in models)) if models else Plan(())


def run(
    tracker: CostTracker,
    cost: float,
    *,
    user: str = "alice",
    estimate: float | None = None,
    model: str = "m",
    rid: str | None = None,
    **kw,
) -> str:
    """Admit and settle one request that costs ``cost``; returns the admission decision."""
    r = req(user, **kw)
    adm = tracker.admit(r, plan_of(model), cost if estimate is None else estimate)
    attempts = (Attempt("tier1", model, "accepted", 100, 20, cost, 0.1),)
    tracker.settle(adm, r, attempts, None, rid or f"r{next(_IDS)}")
    return adm.decision


def test_ledger_totals_by_user_model_tag(store):
    t = CostTracker(store)
    run(t, 0.01, user="alice", model="a", tags=("chat",))
    run(t, 0.02, user="bob", model="b", tags=("chat", "eval"))
    t.record("b", cost=0.005, user="alice", input_tokens=3, output_tokens=4, tags=("eval",))
    assert t.spent(user="alice") == pytest.approx(0.015)
    assert t.spent(model="b") == pytest.approx(0.025)
    assert t.spent(tag="eval") == pytest.approx(0.025)
    by_user = t.totals("user")
    assert list(by_user) == ["bob", "alice"]
    assert by_user["alice"]["requests"] == 2 and by_user["alice"]["input_tokens"] == 103
    assert t.totals("tag")["chat"]["cost"] == pytest.approx(0.03)
    entries = t.entries(user="alice")
    assert {e.status for e in entries} == {"accepted", "recorded"}
    assert all(e.accepted for e in entries)


def test_budget_blocks_with_typed_error(store):
    clock = Clock()
    t = CostTracker(store, budgets=[Budget(0.10, "daily")], clock=clock)
    for _ in range(9):
        run(t, 0.01)
    with pytest.raises(BudgetExceededError) as ei:
        t.admit(req(), plan_of("m"), 0.02)
    err = ei.value
    assert err.user == "alice" and err.limit == pytest.approx(0.10)
    assert err.spent == pytest.approx(0.09) and "user:alice" in err.scope
    assert isinstance(err.context, EnforcementContext) and err.context.estimate == pytest.approx(0.02)
    # another user is unaffected; the next day the budget is fresh
    assert run(t, 0.01, user="bob") == "allow"
    clock.advance(DAY)
    assert run(t, 0.01) == "allow"


def decide(t: CostTracker, estimate: float, **kw) -> str:
    """Admission decision for ``estimate``; the reservation is released right away (nothing spent)."""
    r = req(**kw)
    adm = t.admit(r, plan_of("m"), estimate)
    t.settle(adm, r, (), None, f"d{next(_IDS)}")
    return adm.decision


def test_thresholds_warn_degrade_block(store):
    t = CostTracker(store, budgets=[Budget(1.0, "total")])
    assert run(t, 0.5, estimate=0.1) == "allow"
    assert decide(t, 0.29) == "allow"
    assert decide(t, 0.30) == "warn"  # 0.5 + 0.3 = 80 %
    assert decide(t, 0.40) == "degrade"  # 90 %
    assert decide(t, 0.50) == "degrade"  # exactly 100 % is still allowed
    with pytest.raises(BudgetExceededError):
        decide(t, 0.51)
    assert t.spent() == pytest.approx(0.5)


def test_custom_thresholds_and_modes(store):
    t = CostTracker(store, budgets=[Budget(1.0, "total", warn_at=0.5, degrade_at=0.6, block_at=0.7)])
    assert decide(t, 0.55) == "warn"
    assert decide(t, 0.65) == "degrade"
    with pytest.raises(BudgetExceededError):
        decide(t, 0.71)
    soft = CostTracker(store, budgets=[Budget(1.0, "total", scope="global", mode="degrade")])
    assert decide(soft, 5.0) == "degrade"  # a degrade-mode budget never blocks
    warn_only = CostTracker(store, budgets=[Budget(1.0, "total", scope="tag", match="x", mode="warn")])
    assert decide(warn_only, 5.0, tags=("x",)) == "warn"
    assert decide(warn_only, 5.0, tags=("y",)) == "allow"


def test_on_enforce_callback_decides(store):
    seen: list[EnforcementContext] = []
    paid_users = {"carol"}

    def billing(ctx: EnforcementContext):
        seen.append(ctx)
        if ctx.user in paid_users:
            return "allow"  # e.g. Stripe says carol topped up: lift the block
        if ctx.plan == "free":
            return EnforcementDecision("degrade", "free plan: cheaper tiers only")
        if ctx.remaining is not None and ctx.remaining < ctx.estimate:
            return ("block", "out of credits")
        return None

    t = CostTracker(store, budgets=[Budget(0.10, "daily")], on_enforce=billing)
    adm = t.admit(req("dave", plan="free"), plan_of("cheap", "strong"), 0.01)
    assert adm.decision == "degrade" and adm.message == "free plan: cheaper tiers only"
    ctx = seen[-1]
    assert ctx.user == "dave" and ctx.plan == "free" and ctx.models == ("cheap", "strong")
    assert ctx.limit == pytest.approx(0.10) and ctx.remaining == pytest.approx(0.10)
    assert ctx.estimate == pytest.approx(0.01) and ctx.forecast is not None and len(ctx.budgets) == 1
    with pytest.raises(BudgetExceededError, match="out of credits"):
        t.admit(req("erin"), plan_of("m"), 0.5)
    assert t.admit(req("carol"), plan_of("m"), 0.5).decision == "allow"


def test_on_enforce_none_keeps_the_threshold_decision_and_its_caps(store):
    t = CostTracker(store, budgets=[Budget(0.10, "daily")], on_enforce=lambda ctx: None)
    assert t.admit(req("frank"), plan_of("m"), 0.05).decision == "allow"
    with pytest.raises(BudgetExceededError):
        t.admit(req("frank"), plan_of("m"), 0.2)  # over the cap: None does not lift the block
    t.admit(req("frank"), plan_of("m"), 0.03)
    with pytest.raises(BudgetExceededError):  # 0.08 reserved + 0.06 > 0.10: the cap still holds
        t.admit(req("frank"), plan_of("m"), 0.06)


def test_scopes_tag_model_plan_global(store):
    t = CostTracker(
        store,
        budgets=[
            Budget(0.05, "monthly", scope="tag", match="batch"),
            Budget(0.03, "weekly", scope="model", match="gpt-big"),
            Budget(0.10, "daily", scope="plan", match="free"),
            Budget(0.02, "daily", scope="user", plan="trial"),
            Budget(1.00, "total", scope="global"),
        ],
    )
    run(t, 0.04, tags=("batch",))
    with pytest.raises(BudgetExceededError, match="tag:batch"):
        t.admit(req(tags=("batch",)), plan_of("m"), 0.02)
    run(t, 0.03, model="gpt-big")
    with pytest.raises(BudgetExceededError, match="model:gpt-big"):
        t.admit(req(), plan_of("gpt-big"), 0.001)
    assert run(t, 0.01, model="small") == "allow"  # other models are fine
    run(t, 0.02, user="u1", plan="trial")
    with pytest.raises(BudgetExceededError, match="user:u1"):
        t.admit(req("u1", plan="trial"), plan_of("m"), 0.001)
    for i in range(9):
        run(t, 0.01, user=f"f{i}", plan="free")
    with pytest.raises(BudgetExceededError, match="plan:free"):
        t.admit(req("f99", plan="free"), plan_of("m"), 0.02)


def test_rate_limit_sliding_window_with_retry_after(store):
    clock = Clock()
    t = CostTracker(store, rate_limits=[RateLimit(3, per="minute")], clock=clock)
    for _ in range(3):
        run(t, 0.0)
        clock.advance(10)
    with pytest.raises(UserRateLimitError) as ei:
        t.admit(req(), plan_of("m"), 0.0)
    assert ei.value.retry_after == pytest.approx(30.0) and ei.value.user == "alice"
    assert run(t, 0.0, user="bob") == "allow"  # per user
    clock.advance(30.5)
    assert run(t, 0.0) == "allow"


def test_rate_limit_token_bucket_and_tokens(store):
    clock = Clock()
    t = CostTracker(store, rate_limits=[RateLimit(200, per="hour", unit="tokens")], clock=clock)
    run(t, 0.0)  # 120 tokens: still under 200
    clock.advance(60)
    run(t, 0.0)  # 240 tokens now
    with pytest.raises(UserRateLimitError) as ei:
        t.admit(req(), plan_of("m"), 0.0)
    assert "tokens" in str(ei.value) and ei.value.retry_after == pytest.approx(3540.0)
    t2 = CostTracker(store, rate_limits=[RateLimit(2, per="minute", algorithm="token_bucket")], clock=clock)
    run(t2, 0.0, user="zed")
    run(t2, 0.0, user="zed")
    with pytest.raises(UserRateLimitError) as ei:
        t2.admit(req("zed"), plan_of("m"), 0.0)
    assert ei.value.retry_after == pytest.approx(30.0)
    clock.advance(30)
    assert run(t2, 0.0, user="zed") == "allow"


def test_reserve_then_settle_under_threads(store):
    t = CostTracker(store, budgets=[Budget(0.05, "daily")])
    admitted, refused = [], []
    barrier = threading.Barrier(16)

    def one(i: int) -> None:
        barrier.wait()
        try:
            adm = t.admit(req(), plan_of("m"), 0.01)
        except BudgetExceededError:
            refused.append(i)
            return
        admitted.append(i)
        t.settle(adm, req(), (Attempt("t", "m", "accepted", 1, 1, 0.008),), None, f"th{i}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(admitted) + len(refused) == 16
    assert 5 <= len(admitted) <= 6  # 5 fit by estimate; settling at 0.008 may free room for a 6th
    assert t.spent() <= 0.05 + 1e-12
    assert store.usage([k for k in store.usage(["x"], 0)], 0)  # store answers plain usage queries


def test_settle_releases_reservation_and_is_idempotent(store):
    clock = Clock()
    t = CostTracker(store, budgets=[Budget(1.0, "daily")], clock=clock)
    r = req()
    adm = t.admit(r, plan_of("m"), 0.3)
    key = adm.reservation.keys[0]
    assert store.usage([key], clock()) == {key: (0.0, pytest.approx(0.3))}
    attempts = (
        Attempt("tier1", "m", "rejected", 5, 5, 0.01),
        Attempt("tier2", "big", "accepted", 5, 5, 0.1),
        Attempt("tier2", "alt", "error", error="boom", error_kind="timeout"),
    )
    t.settle(adm, r, attempts, None, "req-1")
    t.settle(adm, r, attempts, None, "req-1")  # a retried settle must not double-count
    assert store.usage([key], clock())[key] == (pytest.approx(0.11), 0.0)
    assert [e.status for e in t.entries()] == ["rejected", "accepted", "error"]
    assert t.entries()[2].error_kind == "timeout"


def test_unsettled_reservation_expires(store):
    clock = Clock()
    t = CostTracker(
        store, budgets=[Budget(1.0, "daily")], policy=TrackerPolicy(reservation_ttl_s=60), clock=clock
    )
    t.admit(req(), plan_of("m"), 0.9)  # a worker that crashed before settling
    with pytest.raises(BudgetExceededError):
        t.admit(req(), plan_of("m"), 0.2)
    clock.advance(61)
    assert decide(t, 0.2) == "allow"


def test_prune_deletes_old_entries_but_not_budgets_or_idempotency(store, store_kind, monkeypatch):
    if store_kind.startswith("redis"):  # small batches, so the Redis prune loop runs several times
        from cascadeflow_core.tracking import _store_redis

        monkeypatch.setattr(_store_redis, "_PRUNE_BATCH", 3)
    clock = Clock()
    t = CostTracker(store, budgets=[Budget(1.0, "total")], clock=clock)
    for i in range(7):
        run(t, 0.1, rid=f"old-{i}")
    clock.advance(10 * DAY)
    run(t, 0.1, rid="new-0")
    run(t, 0.1, rid="new-1")
    assert t.prune(clock() - 5 * DAY) == 7
    assert [e.request_id for e in t.entries()] == ["new-0", "new-1"]
    assert t.prune(clock() - 5 * DAY) == 0
    # the total budget still counts the pruned spend: 0.9 of 1.0 spent
    with pytest.raises(BudgetExceededError):
        t.admit(req(), plan_of("m"), 0.2)
    # a retried settle of a request newer than the cutoff is still recognised
    r = req()
    t.settle(None, r, (Attempt("tier1", "m", "accepted", 1, 1, 0.05),), None, "new-1")
    assert len(t.entries()) == 2 and t.spent() == pytest.approx(0.2)


@pytest.mark.parametrize(
    "before, problem",
    [
        ("yesterday", "datetime or epoch seconds"),
        (float("nan"), "datetime or epoch seconds"),
        (True, "datetime or epoch seconds"),
        ("naive", "no timezone"),
        ("future", "after the tracker's clock"),
    ],
)
def test_prune_bad_input_is_a_typed_error_and_deletes_nothing(store, before, problem):
    from datetime import datetime

    from cascadeflow_core import InputError

    clock = Clock()
    t = CostTracker(store, clock=clock)
    run(t, 0.1)
    value = {"naive": datetime(2026, 1, 1), "future": clock() + 60}.get(before, before)
    with pytest.raises(InputError, match=problem):
        t.prune(value)
    assert len(t.entries()) == 1


def test_prune_accepts_an_aware_datetime(store):
    from datetime import datetime, timedelta, timezone

    clock = Clock()
    t = CostTracker(store, clock=clock)
    run(t, 0.1)
    clock.advance(DAY)
    assert t.prune(datetime.fromtimestamp(clock(), timezone.utc) - timedelta(hours=1)) == 1
    assert t.entries() == []


def test_prune_needs_a_store_that_can_prune():
    from cascadeflow_core import ConfigError, MemoryStore

    class NoPrune:  # a custom store written before prune existed
        def __init__(self) -> None:
            self.inner = MemoryStore()

        def __getattr__(self, name):
            if name == "prune":
                raise AttributeError(name)
            return getattr(self.inner, name)

    t = CostTracker(NoPrune(), clock=Clock())
    with pytest.raises(ConfigError, match="has no prune"):
        t.prune(0.0)


def test_sqlite_file_from_before_prune_is_migrated(tmp_path):
    import sqlite3

    from cascadeflow_core import SQLiteStore

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # the settled table as earlier versions wrote it
        conn.execute("CREATE TABLE settled (op_id TEXT PRIMARY KEY)")
        conn.execute("INSERT INTO settled VALUES ('r-old~settle')")
    store = SQLiteStore(path)
    try:
        clock = Clock()
        t = CostTracker(store, clock=clock)
        run(t, 0.1, rid="r-old")  # already marked settled by the old version: ignored
        assert t.entries() == []
        run(t, 0.1, rid="r-new")
        assert t.prune(clock() - 1) == 0 and len(t.entries()) == 1
        run(t, 0.1, rid="r-old")  # the old mark (ts 0) was pruned with everything before the cutoff
        assert len(t.entries()) == 2
    finally:
        store.close()


def test_prune_never_deletes_a_newer_entry_even_out_of_order(store, store_kind):
    # Workers on several machines can append entries slightly out of time order.
    t = CostTracker(store, clock=Clock(1_000.0))
    for ts in (100.0, 300.0, 200.0, 400.0):
        t.record("m", cost=0.01, ts=ts)
    removed = t.prune(250.0)
    left = sorted(e.ts for e in t.entries())
    assert 300.0 in left and 400.0 in left and 100.0 not in left
    assert (removed, left) == (2, [300.0, 400.0])  # Redis too: its ledger is scored by time


def test_prune_drops_counters_of_ended_periods_and_keeps_current_and_total(store):
    from cascadeflow_core.tracking._budget import period_bounds

    clock = Clock()
    t = CostTracker(
        store, budgets=[Budget(1.0, "daily"), Budget(5.0, "monthly"), Budget(9.0, "total")], clock=clock
    )
    day1, month1 = period_bounds("daily", clock())[0], period_bounds("monthly", clock())[0]
    run(t, 0.4)
    clock.advance(40 * DAY)  # a later day and a later month
    run(t, 0.3)
    day2, month2 = period_bounds("daily", clock())[0], period_bounds("monthly", clock())[0]
    keys = [f"user:alice|{p}" for p in (day1, month1, day2, month2, "total")]
    assert [store.usage(keys, clock())[k][0] for k in keys] == pytest.approx([0.4, 0.4, 0.3, 0.3, 0.7])
    t.prune(clock() - DAY)
    assert [store.usage(keys, clock())[k][0] for k in keys] == pytest.approx([0.0, 0.0, 0.3, 0.3, 0.7])
    assert decide(t, 0.45) == "allow"  # today's daily budget still counts today's 0.3 (0.75 < 80%)
    with pytest.raises(BudgetExceededError):
        t.admit(req(), plan_of("m"), 0.75)


def test_period_key_end():
    from datetime import datetime, timezone

    from cascadeflow_core.tracking._budget import period_key_end

    def ts(*a: int) -> float:
        return datetime(*a, tzinfo=timezone.utc).timestamp()

    assert period_key_end("user:a|d:2026-11-23") == ts(2026, 11, 24)
    assert period_key_end("tag:x|w:2026-W48") == ts(2026, 11, 30)
    assert period_key_end("global:all|m:2026-12") == ts(2027, 1, 1)
    assert period_key_end("user:a|total") is None
    assert period_key_end("user:a|d:not-a-date") is None and period_key_end("odd") is None


def test_prune_while_other_threads_settle_loses_nothing_new(store):
    # Pruning old entries while requests keep settling must not drop or double any new entry.
    clock = Clock()
    t = CostTracker(store, clock=clock)
    for i in range(30):
        t.record("m", cost=0.01, ts=clock() - 10 * DAY, request_id=f"old-{i}")
    errors: list[BaseException] = []

    def settle(k: int) -> None:
        try:
            for i in range(20):
                run(t, 0.01, rid=f"new-{k}-{i}")
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=settle, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    removed = t.prune(clock() - DAY)
    for th in threads:
        th.join()
    assert not errors and removed == 30
    ids = [e.request_id for e in t.entries()]
    assert len(ids) == 80 and len(set(ids)) == 80 and all(i.startswith("new-") for i in ids)
