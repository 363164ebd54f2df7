"""Soak: memory of a long-running process with the default in-memory tracker, per 10,000 requests.

A one-tier cascade (an in-process backend: no network, no LiteLLM, so the tracker's own growth shows)
answers ``--requests`` requests for 200 users with a daily budget, in a fresh subprocess per variant:
``tracker`` (``CostTracker()`` with its default ``MemoryStore``), ``bounded`` (a ``MemoryStore`` keeping
10,000 entries, so the bound is reached within the run) and ``none`` (no tracker, the baseline of the
same run). Reported: RSS after each 10,000 requests, the growth per 10,000 (last block against
the first, after warm-up), how many ledger entries the store holds, and whether the budget counters stayed
exact (the spend the budget sees equals the sum of every request's cost). Bounded: 40,000 requests, or
10,000 with ``--quick``; stops by itself.

Run from the repository root: ``python bench/bench_memory.py [--requests 40000] [--quick]``.
The last line is ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCK = 10_000


def _rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _child(variant: str, n: int) -> dict[str, Any]:
    import gc

    from cascadeflow_core import Budget, Cascade, CostTracker, Draft, ModelSpec, Request

    class Backend:
        def complete(self, spec: ModelSpec, request: Request) -> Draft:
            return Draft(spec.label, "ok", finish_reason="stop", input_tokens=12, output_tokens=3, cost=1e-5)

        async def acomplete(self, spec: ModelSpec, request: Request) -> Draft:
            return self.complete(spec, request)

    from cascadeflow_core import MemoryStore

    budgets = [Budget(1000.0, "daily", scope="user")]
    tracker = None
    if variant == "tracker":
        tracker = CostTracker(budgets=budgets)
    elif variant == "bounded":  # the ledger bound reached within the run
        tracker = CostTracker(MemoryStore(max_entries=BLOCK), budgets=budgets)
    cascade = Cascade([ModelSpec("m/a", 1e-6, 1e-6, backend=Backend())], tracker=tracker)
    rss = []
    total = 0.0
    for i in range(n):
        r = cascade.complete("What is 2+2?", user=f"user{i % 200}", max_tokens=8)
        total += r.cost
        if (i + 1) % BLOCK == 0:
            gc.collect()
            rss.append(_rss_kb())
    out: dict[str, Any] = {"rss_kb": rss}
    if tracker is not None:
        store = tracker.store
        out["ledger_entries"] = len(store.entries())
        keys = [f"user:user{u}|" for u in range(200)]
        spent = sum(v for k, v in getattr(store, "_spent", {}).items() if any(k.startswith(p) for p in keys))
        out["budget_counters_exact"] = abs(spent - total) < 1e-9
    return out


def _has_bound() -> bool:
    import inspect

    from cascadeflow_core import MemoryStore

    return "max_entries" in inspect.signature(MemoryStore).parameters


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=40_000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--child", choices=("tracker", "bounded", "none"))
    args = ap.parse_args()
    n = min(max(BLOCK, args.requests if not args.quick else BLOCK * 2), 100_000)
    if args.child:
        print(json.dumps(_child(args.child, n)))
        return
    result: dict[str, Any] = {"requests": n}
    variants = ("none", "tracker", "bounded") if _has_bound() else ("none", "tracker")
    for variant in variants:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.run(
            [sys.executable, __file__, "--child", variant, "--requests", str(n)],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
            check=True,
        )
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        rss = data["rss_kb"]
        growth = (rss[-1] - rss[0]) / max(1, len(rss) - 1)
        print(f"{variant:>8}: RSS per 10k requests {rss} KB; growth {growth:.0f} KB per 10k after the first")
        result[variant] = {**data, "growth_kb_per_10k": round(growth)}
    extra = result["tracker"]["growth_kb_per_10k"] - result["none"]["growth_kb_per_10k"]
    result["tracker_growth_kb_per_10k_over_baseline"] = extra
    print(f"tracker growth over the no-tracker baseline: {extra} KB per 10k requests")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    main()
