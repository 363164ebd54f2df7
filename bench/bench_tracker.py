"""Tracker benchmarks: admit+settle throughput per store, added latency per request, budget exactness
across processes (8 processes x 50 concurrent requests for one user, SQLite and Redis), and how fast
``prune`` deletes old ledger entries.

Run from the repository root:  python bench/bench_tracker.py [--quick]
Needs the ``redis-server`` binary for the Redis rows (started here on a free loopback port).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cascadeflow_core import (  # noqa: E402
    Attempt,
    Budget,
    BudgetExceededError,
    Cascade,
    CostTracker,
    Draft,
    MemoryStore,
    ModelSpec,
    Plan,
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


def make_store(kind: str, where: str) -> object:
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(where)
    return RedisStore(where)


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


def worker(
    kind: str,
    where: str,
    threads: int,
    limit: float,
    estimate: float,
    seed: int,
    vary: bool,  # type: ignore[no-untyped-def]
    barrier,
) -> int:
    tracker = CostTracker(make_store(kind, where), budgets=[Budget(limit, "daily")])
    req = Request([{"role": "user", "content": "hi"}], user="tenant-1")
    rng = random.Random(seed)
    costs = [rng.uniform(0.5, 1.0) * estimate if vary else estimate for _ in range(threads)]  # <= estimate
    admitted = [0]
    lock = threading.Lock()
    go = threading.Barrier(threads)

    def one(i: int) -> None:
        go.wait()
        try:
            adm = tracker.admit(req, Plan(()), estimate)
        except BudgetExceededError:
            return
        with lock:
            admitted[0] += 1
        time.sleep(0.001)  # the model call
        tracker.settle(adm, req, (Attempt("t", "m", "accepted", 10, 2, costs[i]),), None, f"{seed}-{i}")

    barrier.wait()
    ts = [threading.Thread(target=one, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return admitted[0]


def exactness(
    kind: str, where: str, procs: int, threads: int, limit: float, estimate: float, vary: bool
) -> None:
    ctx = mp.get_context("spawn")
    barrier = ctx.Manager().Barrier(procs)
    t0 = time.perf_counter()
    with ctx.Pool(procs) as pool:
        counts = pool.starmap(
            worker, [(kind, where, threads, limit, estimate, s, vary, barrier) for s in range(procs)]
        )
    wall = time.perf_counter() - t0
    tracker = CostTracker(make_store(kind, where))
    spent = tracker.spent(user="tenant-1")
    n = len(tracker.entries())
    ok = "OK" if spent <= limit + 1e-9 else "OVERSPENT"
    how = "real cost 50-100% of estimate" if vary else "real cost = estimate"
    print(
        f"  {kind:6} {how:29} {procs} procs x {threads} concurrent: admitted {sum(counts):3d}/{procs * threads} "
        f"(per process {counts}), ledger entries {n}, spent ${spent:.4f} of budget ${limit:.4f} "
        f"-> {ok}; wall {wall:.2f} s"
    )
    RESULT["exactness"][f"{kind}{'_varied' if vary else ''}"] = {
        "admitted": sum(counts),
        "spent": round(spent, 6),
        "budget": limit,
        "ok": ok == "OK",
    }
    tracker.close()


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer operations")
    args = ap.parse_args()
    n = 300 if args.quick else 2000
    tmp = tempfile.mkdtemp(prefix="cf-bench-")
    server = None
    binary = shutil.which("redis-server")
    if binary:
        from tests.support.redis_server import RedisServer

        server = RedisServer(binary)
    try:
        kinds = [("memory", ""), ("sqlite", os.path.join(tmp, "tp.db"))]
        if server:
            kinds.append(("redis", server.url))
        print(f"admit+settle throughput, one thread, {n} requests (1 budget + 1 rate limit per request):")
        for kind, where in kinds:
            ops, us = throughput(kind, where, n)
            print(f"  {kind:6} {ops:9.0f} requests/s  ({us:7.1f} us per admit+settle)")
            RESULT["ops_per_s"][kind] = round(ops)
        print(f"added latency per request (instant one-tier cascade, {n} requests over 50 users):")
        for kind, where in kinds:
            w = os.path.join(tmp, "lat.db") if kind == "sqlite" else where
            plain, tracked = added_latency(kind, w, n)
            print(
                f"  {kind:6} {plain:7.1f} us without tracker, {tracked:7.1f} us with: +{tracked - plain:6.1f} us"
            )
            RESULT["added_us"][kind] = round(tracked - plain, 1)
        print(f"prune: {n * 5} old ledger entries deleted, {n // 2} recent ones kept:")
        for kind, where in kinds:
            if kind == "redis":
                import redis

                redis.Redis.from_url(where).flushdb()
            rate = prune_rate(kind, os.path.join(tmp, "prune.db") if kind == "sqlite" else where, n * 5)
            print(f"  {kind:6} {rate:10.0f} entries/s")
            RESULT["prune_entries_per_s"][kind] = round(rate)
        print("budget exactness across processes (one user, budget $1.37, estimate $0.01 per request):")
        for vary in (False, True):
            shared = [("sqlite", os.path.join(tmp, f"mp{vary}.db"))] + (
                [("redis", server.url)] if server else []
            )
            for kind, where in shared:
                if kind == "redis":
                    import redis

                    redis.Redis.from_url(where).flushdb()
                exactness(kind, where, 8, 50, 1.37, 0.01, vary)
        if not server:
            print("  (redis rows skipped: redis-server not found)")
    finally:
        if server:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("RESULT " + json.dumps(RESULT, sort_keys=True))


if __name__ == "__main__":
    main()
