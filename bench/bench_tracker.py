"""Tracker benchmarks: admit+settle throughput per store, added latency per request, budget exactness
across processes (8 processes x 50 concurrent requests for one user), and how fast ``prune`` deletes old
ledger entries.

Stores: memory, SQLite, Redis (one server), a 3-master Redis Cluster, Redis behind Sentinel (master +
replica; the exactness run fails the master over in the middle), PostgreSQL. Every server is started
here on free loopback ports (``redis-server``, ``redis-cli``, Debian's PostgreSQL); a store whose binaries
are missing is skipped with a line saying so. Ratios are against memory and SQLite in the same run.

Run from the repository root:  python bench/bench_tracker.py [--quick] [--only redis,postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cascadeflow_core import (  # noqa: E402
    Attempt,
    Budget,
    Cascade,
    CostTracker,
    Draft,
    MemoryStore,
    ModelSpec,
    Plan,
    PostgresStore,
    RateLimit,
    RedisStore,
    Request,
    SQLiteStore,
    Tier,
)


class InstantBackend:
    """A model that answers at once, so the tracker's own cost is what is measured."""

    def complete(self, spec: ModelSpec, request: Request) -> Draft:
        return Draft(model=spec.label, text="ok", input_tokens=10, output_tokens=2, cost=0.0001)

    async def acomplete(self, spec: ModelSpec, request: Request) -> Draft:
        return self.complete(spec, request)

    def stream(self, spec, request):  # type: ignore[no-untyped-def]
        yield self.complete(spec, request)

    async def astream(self, spec, request):  # type: ignore[no-untyped-def]
        yield self.complete(spec, request)


RESULT: dict[str, dict[str, object]] = {
    "ops_per_s": {},
    "added_us": {},
    "exactness": {},
    "prune_entries_per_s": {},
}


_SCHEMAS = iter(range(10_000))


def make_store(kind: str, where: str, **redis_kw: float) -> object:
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(where)
    if kind.startswith("postgres"):  # postgres-async: synchronous_commit off
        dsn, _, schema = where.partition("#")
        return PostgresStore(dsn, schema=schema, synchronous_commit=kind == "postgres")
    return RedisStore(where, **redis_kw)


def fresh(kind: str, where: str, servers: dict[str, object], tmp: str, tag: str) -> str:
    """An empty place for ``kind``: a new SQLite file, a flushed Redis, a new Postgres schema."""
    if kind == "sqlite":
        return os.path.join(tmp, f"{tag}.db")
    if kind.startswith("postgres"):
        return f"{where.partition('#')[0]}#bench_{tag}_{next(_SCHEMAS)}"
    if kind.startswith("redis"):
        server = servers[kind]
        if hasattr(server, "flush"):
            server.flush()  # type: ignore[attr-defined]
        else:
            import redis

            redis.Redis.from_url(where).flushdb()
    return where


def throughput(kind: str, where: str, n: int) -> tuple[float, float]:
    """(admit+settle operations per second, mean microseconds per admit+settle), one thread."""
    tracker = CostTracker(
        make_store(kind, where), budgets=[Budget(1e9, "daily")], rate_limits=[RateLimit(1e9, per="minute")]
    )
    plan = Plan(())
    times = []
    for i in range(n):
        req = Request([{"role": "user", "content": "hi"}], user=f"u{i % 50}")
        t0 = time.perf_counter()
        adm = tracker.admit(req, plan, 0.001)
        tracker.settle(adm, req, (Attempt("t", "m", "accepted", 10, 2, 0.0009),), None, f"tp-{kind}-{i}")
        times.append(time.perf_counter() - t0)
    tracker.close()
    return n / sum(times), statistics.mean(times) * 1e6


def added_latency(kind: str, where: str, n: int) -> tuple[float, float]:
    """(mean us per complete() without a tracker, with one) for an instant one-tier cascade, 50 users.

    The sliding-window log costs O(requests in the window) per check, bounded by the limit; 50 users keep
    it at the size a real per-user limit would.
    """
    spec = ModelSpec(
        "bench/instant", input_cost_per_token=1e-6, output_cost_per_token=2e-6, backend=InstantBackend()
    )
    tier = Tier([spec], validator=lambda drafts, request: True)
    plain = Cascade([tier])
    tracked = Cascade(
        [tier],
        tracker=CostTracker(
            make_store(kind, where),
            budgets=[Budget(1e9, "daily")],
            rate_limits=[RateLimit(1e9, per="minute")],
        ),
    )
    out = []
    for cascade in (plain, tracked):
        for i in range(50):
            cascade.complete("hi", user=f"u{i}")
        t0 = time.perf_counter()
        for i in range(n):
            cascade.complete("hi", user=f"u{i % 50}")
        out.append((time.perf_counter() - t0) / n * 1e6)
    return out[0], out[1]


def exactness(kind: str, where: str, procs: int, threads: int, limit: float, estimate: float, **kw) -> None:  # type: ignore[no-untyped-def]
    """8 processes x 50 concurrent requests for one user; ``kw``: ``during`` (a failover), ``call_s``."""
    from tests.support.tracker_stores import exactness_run

    label = kw.pop("label", kind)
    store = make_store(kind, where, **kw.pop("store_kw", {}))
    t0 = time.perf_counter()
    out = exactness_run(store, procs, threads, limit, estimate, **kw)  # type: ignore[arg-type]
    wall = time.perf_counter() - t0
    ok = out["spent"] <= limit + 1e-9 and out["entries"] == out["admitted"] and out["unflushed"] == 0
    print(
        f"  {label:24} admitted {out['admitted']:3.0f}/{out['attempts']:.0f} (refused {out['refused']:.0f}, "
        f"store errors {out['store_errors']:.0f}), spent ${out['spent']:.4f} of ${limit:.2f}, ledger entries "
        f"{out['entries']:.0f} for {out['admitted']:.0f} admitted -> {'OK' if ok else 'NOT EXACT'}; wall {wall:.1f} s"
    )
    RESULT["exactness"][label] = {k: round(v, 6) for k, v in out.items()} | {"ok": ok}
    store.close()  # type: ignore[attr-defined]


def prune_rate(kind: str, where: str, n: int) -> float:
    """Ledger entries deleted per second by ``tracker.prune`` (n old entries, n/10 recent ones kept)."""
    store = make_store(kind, where)
    tracker = CostTracker(store, clock=lambda: 2_000_000.0)
    for i in range(n + n // 10):
        tracker.record("m", cost=0.001, user=f"u{i % 50}", ts=1_000_000.0 + i * (1.0 if i < n else 1e6))
    t0 = time.perf_counter()
    removed = tracker.prune(1_500_000.0)
    elapsed = time.perf_counter() - t0
    assert removed == n and len(tracker.entries()) == n // 10, (removed, len(tracker.entries()))
    tracker.close()
    return n / elapsed


def start_servers(only: set[str] | None) -> dict[str, object]:
    """Start what the machine has: one Redis, a Cluster, a Sentinel set, PostgreSQL."""
    from tests.support.postgres_server import PostgresServer, find_postgres_bin
    from tests.support.redis_server import RedisServer
    from tests.support.redis_topologies import RedisCluster, RedisSentinel

    servers: dict[str, object] = {}
    binary = shutil.which("redis-server")
    wanted = lambda k: only is None or k in only  # noqa: E731
    if binary and shutil.which("redis-cli"):
        for kind, cls in (
            ("redis", RedisServer),
            ("redis-cluster", RedisCluster),
            ("redis-sentinel", RedisSentinel),
        ):
            if wanted(kind):
                servers[kind] = cls(binary)
    else:
        print("  (Redis rows skipped: redis-server / redis-cli not found)")
    bindir = find_postgres_bin()
    if bindir and wanted("postgres"):
        servers["postgres"] = PostgresServer(bindir, durable=True)
    elif not bindir:
        print("  (PostgreSQL rows skipped: initdb/postgres not found)")
    return servers


def where_of(kind: str, server: object) -> str:
    if kind == "postgres":
        return f"{server.dsn}#bench"  # type: ignore[attr-defined]
    return server.url  # type: ignore[attr-defined]


def part_throughput(kinds: list[tuple[str, str]], servers: dict[str, object], tmp: str, n: int) -> None:
    rounds = 3
    print(
        f"admit+settle throughput, one thread, {n} requests (1 budget + 1 rate limit per request), "
        f"the stores taken in turn {rounds} times (median: load on a shared machine drifts):"
    )
    samples: dict[str, list[tuple[float, float]]] = {k: [] for k, _ in kinds}
    for r in range(rounds):
        for kind, where in kinds:
            samples[kind].append(throughput(kind, fresh(kind, where, servers, tmp, f"tp{r}"), n // rounds))
    for kind, _ in kinds:
        ops, us = sorted(samples[kind])[rounds // 2]
        RESULT["ops_per_s"][kind] = round(ops)
        base = RESULT["ops_per_s"]
        print(
            f"  {kind:15} {ops:9.0f} requests/s  ({us:7.1f} us per admit+settle)"
            f"  x{ops / base['memory']:.3f} of memory, x{ops / base.get('sqlite', ops):.2f} of SQLite"  # type: ignore[operator]
        )


def part_latency(kinds: list[tuple[str, str]], servers: dict[str, object], tmp: str, n: int) -> None:
    print(f"added latency per request (instant one-tier cascade, {n} requests over 50 users):")
    for kind, where in kinds:
        plain, tracked = added_latency(kind, fresh(kind, where, servers, tmp, "lat"), n)
        RESULT["added_us"][kind] = round(tracked - plain, 1)
        ratio = (tracked - plain) / max(float(RESULT["added_us"].get("sqlite", tracked - plain)), 1e-9)  # type: ignore[arg-type]
        print(
            f"  {kind:15} {plain:7.1f} us without tracker, {tracked:7.1f} us with: +{tracked - plain:6.1f} us"
            f"  ({ratio:.2f}x SQLite's)"
        )


def part_prune(kinds: list[tuple[str, str]], servers: dict[str, object], tmp: str, n: int) -> None:
    print(f"prune: {n * 5} old ledger entries deleted, {n // 2} recent ones kept:")
    for kind, where in kinds:
        rate = prune_rate(kind, fresh(kind, where, servers, tmp, "prune"), n * 5)
        print(f"  {kind:15} {rate:10.0f} entries/s")
        RESULT["prune_entries_per_s"][kind] = round(rate)


def part_exactness(kinds: list[tuple[str, str]], servers: dict[str, object], tmp: str) -> None:
    print("budget exactness: 8 processes x 50 concurrent requests, one user, budget $1.37, $0.01 each:")
    for kind, where in kinds[1:]:
        if kind != "redis-sentinel":
            exactness(kind, fresh(kind, where, servers, tmp, "mp"), 8, 50, 1.37, 0.01)
            continue
        sentinel = servers[kind]

        def failover(sentinel: object = sentinel) -> None:
            time.sleep(0.2)  # requests admitted, their model calls (1 s) in flight
            sentinel.failover()  # type: ignore[attr-defined]

        for wait in (0, 1):
            w = fresh(kind, where, servers, tmp, "mp")
            label = f"sentinel failover wait={wait}"
            kw = {"wait_replicas": wait, "failover_wait_s": 20.0 if wait else 0.0}
            exactness(kind, w, 8, 50, 1.37, 0.01, during=failover, call_s=1.0, label=label, store_kw=kw)
            sentinel.wait_replicated()  # type: ignore[attr-defined]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer operations")
    ap.add_argument("--only", default="", help="comma-separated stores besides memory and sqlite")
    ap.add_argument("--parts", default="throughput,latency,prune,exactness", help="which measurements")
    args = ap.parse_args()
    n = 300 if args.quick else 2000
    only = set(args.only.split(",")) if args.only else None
    parts = set(args.parts.split(","))
    tmp = tempfile.mkdtemp(prefix="cf-bench-")
    servers = start_servers(only)
    try:
        kinds = [("memory", ""), ("sqlite", "")] + [(k, where_of(k, s)) for k, s in servers.items()]
        if "postgres" in servers:
            kinds.append(("postgres-async", where_of("postgres", servers["postgres"])))
        if "throughput" in parts:
            part_throughput(kinds, servers, tmp, n)
        if "latency" in parts:
            part_latency(kinds, servers, tmp, n)
        if "prune" in parts:
            part_prune(kinds, servers, tmp, n)
        if "exactness" in parts:
            part_exactness(kinds, servers, tmp)
    finally:
        for server in servers.values():
            server.stop()  # type: ignore[attr-defined]
        shutil.rmtree(tmp, ignore_errors=True)
    print("RESULT " + json.dumps(RESULT, sort_keys=True))


if __name__ == "__main__":
    main()
