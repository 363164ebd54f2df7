"""The ``store`` fixture: the same tracker tests run against MemoryStore, SQLiteStore and RedisStore."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cascadeflow_core import LedgerStore, MemoryStore, RedisStore, SQLiteStore

from .redis_server import redis_server, redis_url  # noqa: F401  (fixtures used by `store`)

__all__ = ["Clock", "make_store", "mp_worker", "redis_server", "redis_url", "store", "store_kind", "store_spec"]

STORE_KINDS = ("memory", "sqlite", "redis")


def make_store(kind: str, request: pytest.FixtureRequest, tmp_path) -> LedgerStore:  # type: ignore[no-untyped-def]
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "ledger.db")
    url = request.getfixturevalue("redis_url")
    return RedisStore(url)


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
    """How a worker process rebuilds the same store."""
    if isinstance(store, SQLiteStore):
        return ("sqlite", store.path)
    if isinstance(store, RedisStore):
        assert store.url is not None
        return ("redis", store.url)
    raise TypeError("only SQLite and Redis stores are shared across processes")


def mp_worker(spec: tuple[str, str], threads: int, limit: float, cost: float, barrier) -> int:  # type: ignore[no-untyped-def]
    """One worker process: ``threads`` concurrent requests for user u1; returns how many were admitted."""
    import threading

    from cascadeflow_core import Attempt, Budget, BudgetExceededError, CostTracker, Plan, Request

    s = SQLiteStore(spec[1]) if spec[0] == "sqlite" else RedisStore(spec[1])
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
