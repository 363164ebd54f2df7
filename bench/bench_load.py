"""Load: the cascade vs direct ``litellm.acompletion`` against a local OpenAI-compatible HTTP server.

The server (``cascadeflow_core.testing.OpenAICompatServer``) runs in its own process on 127.0.0.1 with a
configurable latency and error rate. At each concurrency (1, 16, 64, 256) the same number of requests
goes (a) straight to ``litellm.acompletion``, (b) through a one-tier ``Cascade.acomplete`` (the same
single HTTP call plus the cascade's work), and (c) through a two-tier cascade whose cheap tier is
rejected one time in four (so about 1.25 calls per request). Each level runs three interleaved, rotated
rounds (one with ``--quick``); reported are the medians over rounds of throughput (requests/s), p50 and
p99 latency, the errors, and the cascade/direct ratios. Request counts are bounded; a run stops by itself.

Run from the repository root: ``python bench/bench_load.py [--latency 0.02] [--error-rate 0] [--quick]``.
The last line is ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from cascadeflow_core import (  # noqa: E402
    Cascade,
    CascadeError,
    CascadeOptions,
    ModelSpec,
    RetryPolicy,
    Tier,
    Verdict,
)
from cascadeflow_core.providers._litellm import litellm_module  # noqa: E402

SERVER_CODE = """
import sys
from cascadeflow_core.testing import Faults, OpenAICompatServer
latency, rate = float(sys.argv[1]), float(sys.argv[2])
kinds = ("rate_limit", "unavailable", "server_error", "reset")
replies = {"small": ["4", "4", "4", "not sure"], "big": "The answer is 4.", "direct": "4"}
server = OpenAICompatServer(replies=replies, latency=latency, faults=Faults(rate=rate, kinds=kinds), seed=1).start()
print(server.base_url, flush=True)
sys.stdin.read()
server.stop()
"""


def _has_digit(drafts: Any, request: Any) -> Verdict:
    ok = any(c.isdigit() for c in drafts[0].text)
    return Verdict(ok, 0.9 if ok else 0.1, ("number" if ok else "no number",), validator="has_digit")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def _drive(fn: Callable[[int], Awaitable[Any]], n: int, concurrency: int) -> dict[str, float]:
    sem = asyncio.Semaphore(concurrency)
    lat: list[float] = []
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        async with sem:
            t0 = time.perf_counter()
            try:
                await fn(i)
            except CascadeError:
                errors += 1
            except Exception:
                errors += 1
            lat.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    wall = time.perf_counter() - t0
    return {
        "requests": n,
        "rps": round(n / wall, 1),
        "p50_ms": round(statistics.median(lat) * 1000, 2),
        "p99_ms": round(_percentile(lat, 0.99) * 1000, 2),
        "errors": errors,
    }


def _median_row(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Per measure, the median over rounds (a single stall, e.g. a GC pause, then decides nothing)."""
    row = {k: statistics.median(r[k] for r in rounds) for k in ("rps", "p50_ms", "p99_ms")}
    return {
        "requests": sum(r["requests"] for r in rounds),
        **{k: round(v, 2) for k, v in row.items()},
        "errors": sum(r["errors"] for r in rounds),
        "rounds": len(rounds),
    }


async def _run(
    base_url: str, levels: list[int], per_level: Callable[[int], int], rounds: int
) -> dict[str, Any]:
    lm = litellm_module()
    common = {
        "api_base": base_url,
        "api_key": "sk-local-bench",
        "input_cost_per_token": 1e-7,
        "output_cost_per_token": 4e-7,
    }
    opts = CascadeOptions(retry=RetryPolicy(max_retries=1, backoff=0.01, max_retry_after=0.1))
    one_tier = Cascade([Tier([ModelSpec("openai/direct", **common)])], options=opts)
    two_tier = Cascade(
        [
            Tier([ModelSpec("openai/small", **common)], validator=_has_digit),
            Tier([ModelSpec("openai/big", **common)]),
        ],
        options=opts,
    )
    msgs = [{"role": "user", "content": "What is 2 + 2?"}]

    async def direct(i: int) -> Any:
        return await lm.acompletion(
            model="openai/direct", messages=msgs, api_base=base_url, api_key="sk-local-bench", num_retries=0
        )

    variants = {
        "direct": direct,
        "cascade_1tier": lambda i: one_tier.acomplete(msgs),
        "cascade_2tier": lambda i: two_tier.acomplete(msgs),
    }
    for fn in variants.values():  # warm up connections and first-call costs
        await _drive(fn, 8, 4)
    out: dict[str, Any] = {}
    names = list(variants)
    for k, c in enumerate(levels):
        n = per_level(c)
        done: dict[str, list[dict[str, float]]] = {name: [] for name in names}
        for r in range(rounds):  # interleaved rounds, rotated, so no variant always runs first
            shift = (k + r) % len(names)
            for name in names[shift:] + names[:shift]:
                done[name].append(await _drive(variants[name], n, c))
        row = {name: _median_row(done[name]) for name in names}
        d = row["direct"]
        for name in ("cascade_1tier", "cascade_2tier"):
            row[name]["rps_ratio"] = round(row[name]["rps"] / d["rps"], 3)
            row[name]["p50_ratio"] = round(row[name]["p50_ms"] / d["p50_ms"], 3)
        out[str(c)] = row
        print(
            f"c={c:<4} n={n}x{rounds:<3} "
            + "  ".join(
                f"{name}: {r['rps']:7.1f} rps p50 {r['p50_ms']:7.2f} ms p99 {r['p99_ms']:7.2f} ms err {r['errors']}"
                for name, r in row.items()
            ),
            flush=True,
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", type=float, default=0.02, help="server latency per request, seconds")
    ap.add_argument("--error-rate", type=float, default=0.0, help="fraction of requests the server fails")
    ap.add_argument("--levels", default="1,16,64,256")
    ap.add_argument("--max-requests", type=int, default=768, help="cap on requests per variant and level")
    ap.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds per level (medians are reported)"
    )
    ap.add_argument("--quick", action="store_true", help="fewer requests per level, one round")
    args = ap.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    cap = 256 if args.quick else args.max_requests
    floor = 40 if args.quick else 100

    def per_level(c: int) -> int:
        return min(cap, max(floor, 3 * c))

    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER_CODE, str(args.latency), str(args.error_rate)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))},
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        if not base_url.startswith("http://127.0.0.1:"):
            raise SystemExit(f"the local server did not start: {base_url!r}")
        print(
            f"server {base_url} (own process), latency {args.latency * 1000:.0f} ms, "
            f"error rate {args.error_rate:.0%}",
            flush=True,
        )
        table = asyncio.run(_run(base_url, levels, per_level, 1 if args.quick else max(1, args.rounds)))
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    result = {"latency_s": args.latency, "error_rate": args.error_rate, "levels": table}
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
