"""Cascade overhead and import times.

* ``Cascade.complete`` with one accepted tier vs a bare ``litellm.completion(mock_response=...)`` in the same
  run, interleaved, as a ratio of medians (and the difference in microseconds); the same for
  ``acomplete`` vs ``litellm.acompletion``.
* Import time of ``cascadeflow_core`` vs ``litellm``, each measured in fresh subprocesses (median).

Run from the repository root: ``python bench/bench_overhead.py [--calls 300] [--imports 5] [--quick]``.
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

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from cascadeflow_core import Cascade, ModelSpec  # noqa: E402
from cascadeflow_core.providers._litellm import litellm_module  # noqa: E402

MODEL = "openai/gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "What is 2 + 2?"}]


def _sync(calls: int) -> dict[str, float]:
    lm = litellm_module()
    cascade = Cascade([ModelSpec(MODEL, params={"mock_response": "4"})])
    for _ in range(20):  # warm up both paths
        cascade.complete(MESSAGES)
        lm.completion(model=MODEL, messages=MESSAGES, mock_response="4")
    bare, casc = [], []
    for _ in range(calls):
        t0 = time.perf_counter()
        lm.completion(model=MODEL, messages=MESSAGES, mock_response="4", num_retries=0)
        t1 = time.perf_counter()
        cascade.complete(MESSAGES)
        t2 = time.perf_counter()
        bare.append(t1 - t0)
        casc.append(t2 - t1)
    return _figures(bare, casc)


async def _async(calls: int) -> dict[str, float]:
    lm = litellm_module()
    cascade = Cascade([ModelSpec(MODEL, params={"mock_response": "4"})])
    for _ in range(20):
        await cascade.acomplete(MESSAGES)
        await lm.acompletion(model=MODEL, messages=MESSAGES, mock_response="4")
    bare, casc = [], []
    for _ in range(calls):
        t0 = time.perf_counter()
        await lm.acompletion(model=MODEL, messages=MESSAGES, mock_response="4", num_retries=0)
        t1 = time.perf_counter()
        await cascade.acomplete(MESSAGES)
        t2 = time.perf_counter()
        bare.append(t1 - t0)
        casc.append(t2 - t1)
    return _figures(bare, casc)


def _figures(bare: list[float], casc: list[float]) -> dict[str, float]:
    mb, mc = statistics.median(bare), statistics.median(casc)
    return {
        "litellm_median_us": round(mb * 1e6, 1),
        "cascade_median_us": round(mc * 1e6, 1),
        "overhead_us": round((mc - mb) * 1e6, 1),
        "ratio": round(mc / mb, 3),
    }


def _import_time(module: str, runs: int) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return round(statistics.median(times) * 1000, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--imports", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer calls and import runs")
    args = ap.parse_args()
    calls, imports = (100, 3) if args.quick else (args.calls, args.imports)
    sync = _sync(calls)
    print(
        f"sync   complete : cascade {sync['cascade_median_us']:8.1f} us  litellm {sync['litellm_median_us']:8.1f} us"
        f"  overhead {sync['overhead_us']:7.1f} us  ratio {sync['ratio']:.3f}"
    )
    asy = asyncio.run(_async(calls))
    print(
        f"async acomplete : cascade {asy['cascade_median_us']:8.1f} us  litellm {asy['litellm_median_us']:8.1f} us"
        f"  overhead {asy['overhead_us']:7.1f} us  ratio {asy['ratio']:.3f}"
    )
    core_ms, litellm_ms = _import_time("cascadeflow_core", imports), _import_time("litellm", imports)
    print(
        f"import          : cascadeflow_core {core_ms:.1f} ms   litellm {litellm_ms:.1f} ms "
        f"(fresh subprocesses, median of {imports})"
    )
    result = {
        "sync": sync,
        "async": asy,
        "import_ms": {"cascadeflow_core": core_ms, "litellm": litellm_ms},
        "calls": calls,
    }
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
