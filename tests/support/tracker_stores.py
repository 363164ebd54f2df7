"""The ``store`` fixture: the same tracker tests run against every store, each on a real server.

Kinds: ``memory``, ``sqlite``, ``redis`` (one server), ``redis-cluster`` (3 masters), ``redis-sentinel``
(master + replica behind a Sentinel) and ``postgres``. The suite drives time with a ``Clock``, so the
Redis stores here use the tracker's clock (``clock="tracker"``); the server clock has its own tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cascadeflow_core import LedgerStore, MemoryStore, PostgresStore, RedisStore, SQLiteStore

from .postgres_server import postgres_dsn, postgres_schema, postgres_server  # noqa: F401  (used by `store`)
from .redis_server import redis_server, redis_url  # noqa: F401
from .redis_topologies import (  # noqa: F401
    redis_cluster,
    redis_cluster_url,
    redis_sentinel,
    redis_sentinel_url,
)

__all__ = [
    "Clock",
    "exactness_run",
    "exactness_worker",
    "make_store",
    "mp_worker",
    "postgres_dsn",
    "postgres_schema",
    "postgres_server",
    "redis_cluster",
    "redis_cluster_url",
    "redis_sentinel",
    "redis_sentinel_url",
    "redis_server",
    "redis_url",
    "store",
    "store_kind",
    "store_spec",
]

STORE_KINDS = ("memory", "sqlite", "redis", "redis-cluster", "redis-sentinel", "postgres")
_URL_FIXTURE = {
    "redis": "redis_url",
    "redis-cluster": "redis_cluster_url",
    "redis-sentinel": "redis_sentinel_url",
}


def make_store(kind: str, request: pytest.FixtureRequest, tmp_path) -> LedgerStore:  # type: ignore[no-untyped-def]
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "ledger.db")
    if kind == "postgres":
        return PostgresStore(
            request.getfixturevalue("postgres_dsn"), schema=request.getfixturevalue("postgres_schema")
        )
    return RedisStore(request.getfixturevalue(_URL_FIXTURE[kind]), clock="tracker")


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(store_kind: str, request: pytest.FixtureRequest, tmp_path) -> Iterator[LedgerStore]:  # type: ignore[no-untyped-def]
    s = make_store(store_kind, request, tmp_path)
    try:
        yield s
    finally:
        s.close()


class Clock:
    """A settable clock for trackers (epoch seconds)."""

    def __init__(self, t: float = 1_790_000_000.0) -> None:  # 2026-09-21, a Monday at 13:33 UTC
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def store_spec(store: LedgerStore) -> tuple[str, str]:
    """How a worker process rebuilds the same store (SQLite path or Redis URL)."""
    if isinstance(store, SQLiteStore):
        return ("sqlite", store.path)
    if isinstance(store, RedisStore):
        assert store.url is not None
        return ("redis", store.url)
    raise TypeError("only SQLite and Redis stores have a spec; pickle the others")


def mp_worker(s: LedgerStore, threads: int, limit: float, cost: float, barrier) -> int:  # type: ignore[no-untyped-def]
    """One worker process: ``threads`` concurrent requests for user u1; returns how many were admitted.

    ``s`` arrives pickled: the worker's store reconnects from its URL / DSN / path.
    """
    import threading

    from cascadeflow_core import Attempt, Budget, BudgetExceededError, CostTracker, Plan, Request

    tracker = CostTracker(s, budgets=[Budget(limit, "daily")])
    req = Request([{"role": "user", "content": "hi"}], user="u1")
    admitted = [0]
    lock = threading.Lock()
    go = threading.Barrier(threads)

    def one(i: int) -> None:
        go.wait()
        try:
            adm = tracker.admit(req, Plan(()), cost)
        except BudgetExceededError:
            return
        with lock:
            admitted[0] += 1
        tracker.settle(adm, req, (Attempt("t", "m", "accepted", 10, 5, cost),), None, f"{os.getpid()}-{i}")

    barrier.wait()
    ts = [threading.Thread(target=one, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    s.close()
    return admitted[0]


class PricedBackend:
    """A model backend answering at once with fixed usage (10 in, 20 out), priced from the ``ModelSpec``."""

    def _draft(self, spec, request):  # type: ignore[no-untyped-def]
        from cascadeflow_core import Draft

        cost = 10 * (spec.input_cost_per_token or 0.0) + 20 * (spec.output_cost_per_token or 0.0)
        return Draft(
            model=spec.label,
            text=f"answer from {spec.label}",
            input_tokens=10,
            output_tokens=20,
            cost=cost,
            latency_s=0.001,
        )

    def complete(self, spec, request):  # type: ignore[no-untyped-def]
        return self._draft(spec, request)

    async def acomplete(self, spec, request):  # type: ignore[no-untyped-def]
        return self._draft(spec, request)

    def stream(self, spec, request):  # type: ignore[no-untyped-def]
        yield self._draft(spec, request)

    async def astream(self, spec, request):  # type: ignore[no-untyped-def]
        yield self._draft(spec, request)


def saas_cascade(url: str):  # type: ignore[no-untyped-def]
    """Two tiers: cheap ($0.001 a request, always escalates) then strong ($0.010); each user gets $0.10 a day
    and 9 requests an hour, shared through Redis."""
    from cascadeflow_core import (
        Budget,
        Cascade,
        CostTracker,
        ModelSpec,
        RateLimit,
        RedisStore,
        Tier,
        TrackerPolicy,
    )

    backend = PricedBackend()
    cheap = ModelSpec(
        "acme/cheap", input_cost_per_token=0.00002, output_cost_per_token=0.00004, backend=backend
    )
    strong = ModelSpec(
        "acme/strong", input_cost_per_token=0.0002, output_cost_per_token=0.0004, backend=backend
    )
    tracker = CostTracker(
        RedisStore(url),
        budgets=[Budget(0.10, "daily")],
        rate_limits=[RateLimit(9, per="hour")],
        policy=TrackerPolicy(forecast_warn=False),
    )  # thresholds only: independent of the hour
    return Cascade(
        [Tier([cheap], validator=lambda drafts, request: False, name="cheap"), Tier([strong], name="strong")],
        tracker=tracker,
    )


def saas_worker(url: str, n: int, barrier) -> list[str]:  # type: ignore[no-untyped-def]
    """Send ``n`` requests for one user; return each outcome (decision or error class name)."""
    from cascadeflow_core import AdmissionError

    cascade = saas_cascade(url)
    out = []
    barrier.wait()
    for _ in range(n):
        try:
            r = cascade.complete(
                "what is the answer here?",
                user="acme",  # estimated at exactly 10 tokens
                max_tokens=20,
            )
            out.append(r.admission["decision"])
        except AdmissionError as e:
            out.append(type(e).__name__)
    return out


def exactness_worker(  # type: ignore[no-untyped-def]
    store: LedgerStore,
    threads: int,
    limit: float,
    estimate: float,
    seed: int,
    barrier,
    started=None,
    call_s=0.001,
) -> dict[str, int]:
    """One process of the exactness run: ``threads`` concurrent requests for one user, fail closed.

    Each admitted request "calls a model" for ``call_s`` and is settled at its estimate. Settlements the
    store refused (a failover) wait in the spill journal; the worker flushes them before it returns.
    Returns counts: admitted, refused (budget), store_errors (admission failed closed), unflushed.
    """
    import threading
    import time

    from cascadeflow_core import (
        Attempt,
        Budget,
        BudgetExceededError,
        CostTracker,
        Plan,
        Request,
        TrackerPolicy,
    )
    from cascadeflow_core._errors import StorageError

    tracker = CostTracker(
        store, budgets=[Budget(limit, "daily")], policy=TrackerPolicy(on_store_error="fail_closed")
    )
    req = Request([{"role": "user", "content": "hi"}], user="tenant-1")
    counts = {"admitted": 0, "refused": 0, "store_errors": 0, "unflushed": 0}
    lock = threading.Lock()
    go = threading.Barrier(threads)

    def one(i: int) -> None:
        go.wait()
        try:
            adm = tracker.admit(req, Plan(()), estimate)
        except BudgetExceededError:
            outcome = "refused"
        except StorageError:
            outcome = "store_errors"
        else:
            outcome = "admitted"
            time.sleep(call_s)  # the model call
            tracker.settle(adm, req, (Attempt("t", "m", "accepted", 10, 2, estimate),), None, f"{seed}-{i}")
        with lock:
            counts[outcome] += 1

    barrier.wait()
    if started is not None:
        started.set()
    ts = [threading.Thread(target=one, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    deadline = time.monotonic() + 60
    while tracker.pending and time.monotonic() < deadline:
        try:
            tracker.flush()
        except StorageError:
            time.sleep(0.2)
    counts["unflushed"] = tracker.pending
    store.close()
    return counts


def exactness_run(  # type: ignore[no-untyped-def]
    store: LedgerStore, procs: int, threads: int, limit: float, estimate: float, during=None, call_s=0.001
) -> dict[str, float]:
    """Run ``exactness_worker`` in ``procs`` spawned processes (the store pickled to each); ``during()``
    runs in this process once the workers are past their barrier (e.g. a Sentinel failover)."""
    import multiprocessing as mp

    from cascadeflow_core import CostTracker

    ctx = mp.get_context("spawn")
    manager = ctx.Manager()
    barrier, started = manager.Barrier(procs), manager.Event()
    with ctx.Pool(procs) as pool:
        job = pool.starmap_async(
            exactness_worker,
            [(store, threads, limit, estimate, seed, barrier, started, call_s) for seed in range(procs)],
        )
        if during is not None:
            started.wait(120)
            during()
        per_process = job.get(300)
    manager.shutdown()
    totals = {k: sum(c[k] for c in per_process) for k in per_process[0]}
    tracker = CostTracker(store)
    totals["spent"] = tracker.spent(user="tenant-1")
    totals["entries"] = len(tracker.entries())
    totals["attempts"] = procs * threads
    totals["budget"] = limit
    return totals
