"""Issue 25 item 9: a stalled Redis (SIGSTOP) blocked every request for as long as it lasted.

Every store connection has socket and connect timeouts, so a stall becomes a ``StorageError`` within
the timeout and the tracker's fail-closed / fail-open policy applies.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator

import pytest

from cascadeflow_core import (
    Cascade,
    CostTracker,
    Draft,
    ModelSpec,
    RedisResponseCache,
    RedisStore,
    Request,
    StorageError,
    TrackerPolicy,
)
from tests.support.redis_server import RedisServer


@pytest.fixture
def stalled() -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server binary not found")
    server = RedisServer(binary)
    try:
        yield server
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
        server.stop()


class _Backend:
    def complete(self, spec: ModelSpec, request: Request) -> Draft:
        return Draft(spec.label, "ok", finish_reason="stop", input_tokens=3, output_tokens=1, cost=0.001)

    async def acomplete(self, spec: ModelSpec, request: Request) -> Draft:
        return self.complete(spec, request)


def test_a_stalled_redis_fails_within_the_timeout(stalled: RedisServer) -> None:
    store = RedisStore(stalled.url + "?socket_timeout=0.5&socket_connect_timeout=0.5")
    cache = RedisResponseCache(url=stalled.url, timeout_s=0.5)
    store.usage(["k"], 0.0)  # connected while the server answers
    os.kill(stalled.proc.pid, signal.SIGSTOP)
    t0 = time.monotonic()
    with pytest.raises(StorageError):
        store.usage(["k"], 0.0)
    with pytest.raises(StorageError):
        cache.get(Request("q"))
    assert time.monotonic() - t0 < 3.0  # was: blocked until SIGCONT


def test_fail_open_applies_to_a_stall(stalled: RedisServer) -> None:
    from cascadeflow_core import Budget

    tracker = CostTracker(
        RedisStore(stalled.url + "?socket_timeout=0.3&socket_connect_timeout=0.3"),
        budgets=[Budget(1.0, "daily")],
        policy=TrackerPolicy(on_store_error="fail_open"),
    )
    cascade = Cascade([ModelSpec("m/a", 1e-6, 1e-6, backend=_Backend())], tracker=tracker)
    assert cascade.complete("hi", user="u").text == "ok"
    os.kill(stalled.proc.pid, signal.SIGSTOP)
    t0 = time.monotonic()
    assert cascade.complete("hi", user="u").text == "ok"
    assert time.monotonic() - t0 < 3.0 and tracker.pending == 1


def test_default_timeouts_are_set() -> None:
    from cascadeflow_core.tracking._redis_connect import CONNECT_TIMEOUT_S, SOCKET_TIMEOUT_S

    store = RedisStore("redis://127.0.0.1:1/0")
    kw = store.client.connection_pool.connection_kwargs
    assert (kw["socket_timeout"], kw["socket_connect_timeout"]) == (SOCKET_TIMEOUT_S, CONNECT_TIMEOUT_S)
    cache = RedisResponseCache(url="redis://127.0.0.1:1/0")
    assert cache.client.connection_pool.connection_kwargs["socket_timeout"] == 5.0


def test_a_redis_without_aof_is_warned_about_at_start(
    stalled: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Durability: killing Redis without persistence lost 35% of the ledger -> warned at start."""
    import logging

    import redis

    with caplog.at_level(logging.WARNING, logger="cascadeflow.tracker"):
        RedisStore(stalled.url)  # the test server runs with --appendonly no --save ""
    assert any("append-only" in r.getMessage() for r in caplog.records)
    caplog.clear()
    redis.Redis.from_url(stalled.url).config_set("appendonly", "yes")
    with caplog.at_level(logging.WARNING, logger="cascadeflow.tracker"):
        RedisStore(stalled.url)
    assert not any("append-only" in r.getMessage() for r in caplog.records)
