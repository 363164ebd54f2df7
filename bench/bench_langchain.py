"""Overhead of ``ChatCascade`` against the core's ``Cascade.complete`` (same backend), and import times.

Each variant answers the same two-tier request (the cheap draft is accepted):
  core          cascade.complete(messages)                 the baseline
  invoke        ChatCascade.invoke(messages)               LangChain chat model (callback manager, tracing hooks)
  ainvoke       await ChatCascade.ainvoke(messages)        vs await cascade.acomplete(messages)
  stream        list(ChatCascade.stream(messages))         vs list(cascade.stream(messages))
  convert_only  payload builder + formatter around cascade.complete (the adapter's own share)

with two backends: ``instant`` (an in-process backend that returns at once: the worst case for a ratio,
since all time is overhead) and ``litellm-mock`` (LiteLLM's ``mock_response``, the usual test backend).
Rounds interleave the variants so drift hits all alike; the figure is the median time per call.

Import times are measured in fresh subprocesses (median of several): ``langchain_core`` alone (its
chat-model module, what any LangChain integration imports), ``cascadeflow_core``, and
``cascadeflow_langchain`` (which imports both).

Run: ``python bench/bench_langchain.py [--calls 200] [--rounds 5] [--imports 7]``; the last line is
``RESULT {json}``.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from langchain_core.messages import HumanMessage, SystemMessage  # noqa: E402

from cascadeflow_core import Cascade, Draft, ModelSpec, Request, Tier, Verdict  # noqa: E402
from cascadeflow_langchain import ChatCascade  # noqa: E402
from cascadeflow_langchain._convert import build_payload, chat_result  # noqa: E402

ANSWER = "The answer is 42."


class InstantBackend:
    """Returns a fixed draft at once: every microsecond measured is framework or adapter overhead."""

    def complete(self, spec: ModelSpec, request: Request) -> Draft:
        return Draft(
            model=spec.label,
            text=ANSWER,
            finish_reason="stop",
            input_tokens=20,
            output_tokens=8,
            cost=20 * 0.15e-6 + 8 * 0.6e-6,
        )

    async def acomplete(self, spec: ModelSpec, request: Request) -> Draft:
        return self.complete(spec, request)

    def stream(self, spec: ModelSpec, request: Request) -> Any:
        yield ANSWER
        yield self.complete(spec, request)

    async def astream(self, spec: ModelSpec, request: Request) -> Any:
        yield ANSWER
        yield self.complete(spec, request)


def _accept(drafts: Any, request: Request) -> Verdict:
    return Verdict(True, 0.9, ("ok",), validator="bench")


def _cascade(kind: str) -> Cascade:
    if kind == "instant":
        b = InstantBackend()
        cheap, strong = ModelSpec("openai/gpt-4o-mini", backend=b), ModelSpec("openai/gpt-4o", backend=b)
    else:
        cheap = ModelSpec("openai/gpt-4o-mini", params={"mock_response": ANSWER})
        strong = ModelSpec("openai/gpt-4o", params={"mock_response": ANSWER})
    return Cascade([Tier([cheap], validator=_accept), Tier([strong], validator=_accept)])


LC_MESSAGES = [SystemMessage("Be brief."), HumanMessage("What is 6*7?")]
OA_MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 6*7?"}]


def _variants(cascade: Cascade) -> dict[str, Callable[[], Any]]:
    llm = ChatCascade(cascade)

    def convert_only() -> Any:
        p = build_payload({}, LC_MESSAGES, None, {})
        return chat_result(cascade.complete(p.messages, **p.kwargs))

    return {
        "core": lambda: cascade.complete(OA_MESSAGES),
        "invoke": lambda: llm.invoke(LC_MESSAGES),
        "convert_only": convert_only,
        "core_stream": lambda: list(cascade.stream(OA_MESSAGES)),
        "stream": lambda: list(llm.stream(LC_MESSAGES)),
        "core_async": lambda: asyncio.run(_many(lambda: cascade.acomplete(OA_MESSAGES))),
        "ainvoke": lambda: asyncio.run(_many(lambda: llm.ainvoke(LC_MESSAGES))),
    }


_ASYNC_BATCH = 20


async def _many(make: Callable[[], Any]) -> None:
    for _ in range(_ASYNC_BATCH):
        await make()


def _time(fn: Callable[[], Any], calls: int, per_call: int = 1) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / (calls * per_call)


def measure(kind: str, calls: int, rounds: int) -> dict[str, float]:
    variants = _variants(_cascade(kind))
    for fn in variants.values():  # warm-up (imports, LiteLLM's first call)
        fn()
    samples: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            is_async = name in ("core_async", "ainvoke")
            n = max(1, calls // _ASYNC_BATCH) if is_async else calls
            samples[name].append(_time(fn, n, _ASYNC_BATCH if is_async else 1))
    med = {k: statistics.median(v) for k, v in samples.items()}
    return {
        **{f"{k}_us": round(v * 1e6, 1) for k, v in med.items()},
        "invoke_ratio": round(med["invoke"] / med["core"], 2),
        "ainvoke_ratio": round(med["ainvoke"] / med["core_async"], 2),
        "stream_ratio": round(med["stream"] / med["core_stream"], 2),
        "convert_ratio": round(med["convert_only"] / med["core"], 2),
        "invoke_overhead_us": round((med["invoke"] - med["core"]) * 1e6, 1),
    }


def import_time(module: str, repeats: int) -> float:
    """Median wall seconds of ``import module`` in a fresh interpreter (interpreter start subtracted)."""
    code = (
        f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"
        if module
        else "print(0.0)"
    )
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(ROOT)}
    out = []
    for _ in range(repeats):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        out.append(float(r.stdout.strip().splitlines()[-1]))
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--imports", type=int, default=7)
    args = ap.parse_args()
    result: dict[str, Any] = {"calls": args.calls, "rounds": args.rounds}
    for kind in ("instant", "litellm-mock"):
        calls = args.calls if kind == "instant" else max(20, args.calls // 4)
        result[kind] = measure(kind, calls, args.rounds)
        print(f"{kind:>13}: " + ", ".join(f"{k}={v}" for k, v in result[kind].items()))
    imports = {
        name: round(import_time(mod, args.imports) * 1000, 1)
        for name, mod in (
            ("langchain_core_ms", "langchain_core.language_models.chat_models"),
            ("cascadeflow_core_ms", "cascadeflow_core"),
            ("cascadeflow_langchain_ms", "cascadeflow_langchain"),
        )
    }
    imports["import_ratio"] = round(imports["cascadeflow_langchain_ms"] / imports["langchain_core_ms"], 2)
    result["imports"] = imports
    print("      imports: " + ", ".join(f"{k}={v}" for k, v in imports.items()))
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
