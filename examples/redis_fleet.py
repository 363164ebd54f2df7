"""A fleet of worker processes shares one Redis-backed tracker and one budget; together they never overspend.

Run: python examples/redis_fleet.py [--live]

Four processes, each with eight threads, send requests for the same team, whose budget is $0.001 in
total. Admission reserves each request's estimated cost in Redis atomically (a Lua script), so however
the requests interleave, spend stays within the budget. (A cascade reserves the cost of every tier it
might call, and settlement frees what it did not use; one model keeps the arithmetic plain here.) Offline (default) it starts a throw-away
``redis-server`` on a free port (or uses REDIS_URL) and the models answer with LiteLLM's
``mock_response``; ``--live`` calls OpenAI (needs OPENAI_API_KEY; keep the budget tiny). At the end it
exports the ledger and prunes it (``tracker.prune``): budgets still hold, they keep their own counters.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from cascadeflow_core import Budget, BudgetExceededError, CostTracker, ModelSpec, RedisStore

LIVE = "--live" in sys.argv
if LIVE and not os.environ.get("OPENAI_API_KEY"):
    print("--live calls OpenAI: set OPENAI_API_KEY, or run without --live (offline).", file=sys.stderr)
    sys.exit(2)
BUDGET = Budget(0.001, "total", scope="user", match="team-a")  # one budget, shared by every worker


def tracker(url: str, namespace: str) -> CostTracker:
    return CostTracker(RedisStore(url, namespace=namespace), budgets=[BUDGET])


def worker(url: str, namespace: str, worker_id: int, requests: int = 40) -> tuple[int, int]:
    mock = {} if LIVE else {"mock_response": "4"}
    model = tracker(url, namespace).track(ModelSpec("openai/gpt-4o-mini", params=mock))  # a tracked model

    def one(i: int) -> bool:
        try:  # max_tokens bounds the estimate, so the reservation covers the real cost
            model.complete(f"What is 2 + 2? (worker {worker_id}, request {i})", user="team-a", max_tokens=20)
            return True
        except BudgetExceededError:
            return False

    with ThreadPoolExecutor(8) as pool:
        admitted = sum(pool.map(one, range(requests)))
    return admitted, requests - admitted


@contextlib.contextmanager
def local_redis(binary: str) -> Iterator[str]:
    import redis

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                tmp,
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                with contextlib.suppress(redis.ConnectionError):
                    if redis.Redis(port=port).ping():
                        break
                time.sleep(0.05)
            else:
                raise RuntimeError(f"redis-server did not answer on port {port} within 10 s")
            print(f"started a throw-away redis-server on 127.0.0.1:{port}")
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)


def main() -> int:
    binary, url = shutil.which("redis-server"), os.environ.get("REDIS_URL")
    if url is None and binary is None:
        print(
            "This example needs Redis: install it (`apt-get install -y redis-server`, `brew install redis`) "
            "or set REDIS_URL=redis://host:6379/0. Nothing was run."
        )
        return 0
    with contextlib.nullcontext(url) if url else local_redis(binary or "redis-server") as url:
        namespace = f"fleet-example-{uuid.uuid4().hex[:8]}"  # a fresh ledger on a shared Redis
        with multiprocessing.get_context("spawn").Pool(4) as pool:
            results = pool.starmap(worker, [(url, namespace, w) for w in range(4)])
        for w, (ok, refused) in enumerate(results):
            print(f"worker {w}: {ok} admitted, {refused} refused with BudgetExceededError")
        spent = tracker(url, namespace).spent(user="team-a")  # the books, read back from Redis
        print(
            f"fleet: {sum(r[0] for r in results)} requests admitted; team-a spent ${spent:.6f} "
            f"of its ${BUDGET.limit:.6f} budget ({'within' if spent <= BUDGET.limit else 'OVER'} budget)"
        )
        # Retention: the Redis ledger lives in memory, so export it and prune what is old. (Here "old" is
        # everything until now; in production keep at least your longest budget period, e.g. 90 days.)
        books = tracker(url, namespace)
        with tempfile.TemporaryDirectory() as out:
            books.to_csv(os.path.join(out, "ledger.csv"))
            pruned = books.prune(time.time())
        try:  # budgets keep their own counters: pruning the ledger does not give the money back, so a
            # request reserving about half the budget (800 output tokens) is refused as before
            books.track(ModelSpec("openai/gpt-4o-mini", params={"mock_response": "4"})).complete(
                "one more?", user="team-a", max_tokens=800
            )
            still = "admitted"
        except BudgetExceededError:
            still = "refused"
        print(
            f"retention: exported and pruned {pruned} ledger entries; {len(books.entries())} left; "
            f"a team-a request for half the budget is still {still}"
        )
        return 0 if spent <= BUDGET.limit and still == "refused" else 1


if __name__ == "__main__":
    sys.exit(main())
