"""Overhead of the LlamaIndex and DSPy adapters against the core's ``Cascade.complete``, same backend.

Each variant answers the same two-tier request (the cheap draft is accepted) through:
  core        cascade.complete(messages)                  the baseline
  li_chat     CascadeLLM.chat(messages)                   LlamaIndex adapter (callbacks + instrumentation on)
  li_achat    await CascadeLLM.achat(messages)            vs await cascade.acomplete(messages)
  li_convert_only  payload builder + formatter around cascade.complete (the adapter's own share)
  dspy_lm     CascadeLM("...")                            DSPy LM call through the engine (history, usage)
  dspy_predict dspy.Predict("question -> answer")(...)    a whole DSPy module call (prompt format + parse)

with two backends: ``instant`` (an in-process backend that returns at once: the worst case for a ratio,
since all time is overhead) and ``litellm-mock`` (LiteLLM's ``mock_response``, the usual test backend).
Rounds interleave the variants so drift hits all alike; the figure is the median time per call.

Run: ``python bench/bench_adapters.py [--calls 200] [--rounds 5]``; the last line is ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dspy  # noqa: E402
from llama_index.core.llms import ChatMessage  # noqa: E402

from cascadeflow_core import Cascade, Draft, ModelSpec, Request, Tier, Verdict  # noqa: E402
from cascadeflow_dspy import CascadeLM  # noqa: E402
from cascadeflow_llamaindex import CascadeLLM  # noqa: E402
from cascadeflow_llamaindex._convert import build_payload, chat_response  # noqa: E402

ANSWER = "[[ ## answer ## ]]\n42\n\n[[ ## completed ## ]]"


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
        yield self.complete(spec, request)

    async def astream(self, spec: ModelSpec, request: Request) -> Any:
        yield self.complete(spec, request)


def _accept(drafts: Any, request: Request) -> Verdict:
    return Verdict(True, 1.0, ("bench: accept",), validator="bench")


def make_cascade(kind: str) -> Cascade:
    if kind == "instant":
        backend = InstantBackend()
        cheap = ModelSpec("openai/gpt-4o-mini", backend=backend)
        strong = ModelSpec("openai/gpt-4o", backend=backend)
    else:
        cheap = ModelSpec("openai/gpt-4o-mini", params={"mock_response": ANSWER})
        strong = ModelSpec("openai/gpt-4o", params={"mock_response": ANSWER})
    return Cascade([Tier([cheap], validator=_accept), Tier([strong], validator=_accept)])


def _timed(fn: Callable[[], Any], calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls


def _atimed(fn: Callable[[], Any], calls: int) -> float:
    async def run() -> float:
        t0 = time.perf_counter()
        for _ in range(calls):
            await fn()
        return (time.perf_counter() - t0) / calls

    return asyncio.run(run())


def variants(cascade: Cascade) -> dict[str, Callable[[int], float]]:
    msgs = [{"role": "user", "content": "What is 6 times 7?"}]
    li_msgs = [ChatMessage(role="user", content="What is 6 times 7?")]
    llm = CascadeLLM(cascade)
    lm = CascadeLM(cascade, cache=False)
    predict = dspy.Predict("question -> answer")

    def dspy_lm() -> Any:
        return lm("What is 6 times 7?")

    def li_convert_only() -> Any:  # the adapter's own work, without LlamaIndex's callbacks/instrumentation
        m, kw = build_payload({}, li_msgs, {})
        return chat_response(cascade.complete(m, **kw))

    def dspy_predict() -> Any:
        with dspy.context(lm=lm):
            return predict(question="What is 6 times 7?")

    return {
        "core": lambda n: _timed(lambda: cascade.complete(msgs), n),
        "li_chat": lambda n: _timed(lambda: llm.chat(li_msgs), n),
        "li_convert_only": lambda n: _timed(li_convert_only, n),
        "core_async": lambda n: _atimed(lambda: cascade.acomplete(msgs), n),
        "li_achat": lambda n: _atimed(lambda: llm.achat(li_msgs), n),
        "dspy_lm": lambda n: _timed(dspy_lm, n),
        "dspy_predict": lambda n: _timed(dspy_predict, n),
    }


def measure(kind: str, calls: int, rounds: int) -> dict[str, float]:
    runs = variants(make_cascade(kind))
    for run in runs.values():  # warm-up: imports, caches, first LiteLLM call
        run(max(2, calls // 20))
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            samples[name].append(run(calls))
    return {name: statistics.median(v) for name, v in samples.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=200, help="calls per variant per round (instant backend)")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    dspy.settings.configure(disable_history=False)
    out: dict[str, Any] = {}
    for kind, calls in (("instant", args.calls), ("litellm-mock", max(10, args.calls // 4))):
        t = measure(kind, calls, args.rounds)
        ratios = {
            "li_chat_vs_core": t["li_chat"] / t["core"],
            "li_convert_only_vs_core": t["li_convert_only"] / t["core"],
            "li_achat_vs_core_async": t["li_achat"] / t["core_async"],
            "dspy_lm_vs_core": t["dspy_lm"] / t["core"],
            "dspy_predict_vs_core": t["dspy_predict"] / t["core"],
        }
        print(f"[{kind}] median per call: " + ", ".join(f"{k} {v * 1e6:.0f} us" for k, v in t.items()))
        print(f"[{kind}] ratios: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))
        out[kind] = {
            "us_per_call": {k: round(v * 1e6, 1) for k, v in t.items()},
            "ratios": {k: round(v, 3) for k, v in ratios.items()},
            "calls": calls,
            "rounds": args.rounds,
        }
    print("RESULT " + json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
