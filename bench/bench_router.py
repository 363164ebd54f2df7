"""Router benchmark: domain accuracy per domain, routing overhead per request, cache hit vs miss.

    python bench/bench_router.py            # everything (starts a local redis-server if installed)
    python bench/bench_router.py --quick    # fewer repetitions

Figures are printed, never asserted. Accuracy uses the hand-labelled sets in tests/data/routing/
(see its README for which set was tuned on and which is held out).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: BLAS threads only fight over busy cores
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cascadeflow_core import Admission, Cascade, Draft, ModelSpec, Request, Tier  # noqa: E402
from cascadeflow_core.caching._cache import RedisResponseCache, ResponseCache, SemanticCache  # noqa: E402
from cascadeflow_core.config._build import build_tier  # noqa: E402
from cascadeflow_core.config._config import load_config  # noqa: E402
from cascadeflow_core.engine._engine import plain_plan  # noqa: E402
from cascadeflow_core.routing._complexity import estimate_complexity  # noqa: E402
from cascadeflow_core.routing._domain import DOMAINS, DomainDetector, EmbeddingDomainDetector  # noqa: E402
from cascadeflow_core.routing._router import CascadeRouter  # noqa: E402

DATA = ROOT / "tests" / "data" / "routing"
SETS = (
    ("dev.jsonl", "tuned on"),
    ("holdout.jsonl", "held out, then used for round 2"),
    ("holdout2.jsonl", "held out, then used for round 3"),
    ("holdout3.jsonl", "held out, never tuned on"),
)


RESULT: dict[str, object] = {"domain_accuracy": {}, "embedding_accuracy": {}, "plan_us": {}}


def rows(name: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines()]


def accuracy() -> None:
    det = DomainDetector()
    print("## Domain detection accuracy (rule-based DomainDetector)\n")
    print("| set | role | n | " + " | ".join(DOMAINS) + " | all |")
    print("|---|---|---|" + "---|" * (len(DOMAINS) + 1))
    for name, role in SETS:
        per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in rows(name):
            per[r["domain"]][0] += det.detect(r["text"]).domain == r["domain"]
            per[r["domain"]][1] += 1
        total = sum(a for a, _ in per.values()) / sum(n for _, n in per.values())
        cells = " | ".join(f"{per[d][0] / per[d][1]:.0%}" for d in DOMAINS)
        print(f"| {name} | {role} | {sum(n for _, n in per.values())} | {cells} | **{total:.1%}** |")
        RESULT["domain_accuracy"][name] = round(total, 4)  # type: ignore[index]
    print()


def embedding_accuracy() -> None:
    try:
        from cascadeflow_core.providers._embed import MiniLMEmbedder

        embed = MiniLMEmbedder()
    except Exception as e:  # the model package is optional
        print(f"## Embedding detector: skipped ({e})\n")
        return
    examples: dict[str, list[str]] = defaultdict(list)
    for r in rows("dev.jsonl"):
        examples[r["domain"]].append(r["text"])
    t0 = time.perf_counter()
    det = EmbeddingDomainDetector(examples, embed=embed, min_similarity=0.0)
    build = time.perf_counter() - t0
    print("## EmbeddingDomainDetector (all-MiniLM-L6-v2 in NumPy; examples = dev.jsonl, nearest centroid)\n")
    print(f"Built from {sum(map(len, examples.values()))} examples in {build:.1f} s.\n")
    print("| set | n | " + " | ".join(DOMAINS) + " | all | ms/query |")
    print("|---|---|" + "---|" * (len(DOMAINS) + 2))
    for name, _ in SETS[1:]:
        per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        t0 = time.perf_counter()
        data = rows(name)
        for r in data:
            per[r["domain"]][0] += det.detect(r["text"]).domain == r["domain"]
            per[r["domain"]][1] += 1
        ms = (time.perf_counter() - t0) / len(data) * 1e3
        total = sum(a for a, _ in per.values()) / len(data)
        cells = " | ".join(f"{per[d][0] / per[d][1]:.0%}" for d in DOMAINS)
        print(f"| {name} | {len(data)} | {cells} | **{total:.1%}** | {ms:.1f} |")
        RESULT["embedding_accuracy"][name] = round(total, 4)  # type: ignore[index]
    print()
    cache = SemanticCache(embed, threshold=0.85)
    qs = [r["text"] for r in rows("holdout2.jsonl")][:40]
    for q in qs:
        cache.set(Request(q), Draft("m", "answer"))
    hit_us, _ = per_call_us(cache.get, [Request(q) for q in qs], 1)
    miss_us, _ = per_call_us(cache.get, [Request(q + " Also, what about Mars?") for q in qs], 1)
    print(
        f"SemanticCache.get over 40 entries: exact hit {hit_us / 1e3:.2f} ms, embedding look-up "
        f"{miss_us / 1e3:.1f} ms (one MiniLM embedding + scan)\n"
    )


def per_call_us(fn, items, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for it in items:
            fn(it)
        samples.append((time.perf_counter() - t0) / len(items) * 1e6)
    return statistics.median(samples), max(samples)


def overhead(repeat: int) -> None:
    queries = [Request(r["text"]) for name, _ in SETS for r in rows(name)]
    tiers = tuple(Tier([f"openai/m{i}"], name=f"t{i}") for i in range(3))
    rules_cfg = load_config(ROOT / "examples" / "routing.yaml")
    rule_tiers = tuple(build_tier(t, f"tiers[{i}]") for i, t in enumerate(rules_cfg.tiers))
    plain = CascadeRouter()
    rules = CascadeRouter(rules_cfg.router.to_router_config())
    degrade = Admission("degrade", "91%")
    long_history = Request(
        [
            {"role": "system", "content": "You are helpful. " * 2000},
            *[{"role": "user" if i % 2 == 0 else "assistant", "content": "text " * 300} for i in range(30)],
            {"role": "user", "content": "and what about the second part?"},
        ]
    )
    rows_out = [
        ("plain_plan (engine fallback, baseline)", lambda q: plain_plan(q, tiers, None), queries),
        ("DomainDetector.detect", lambda q: plain.detector.detect(q.last_user_text), queries),
        ("estimate_complexity", lambda q: estimate_complexity(q.last_user_text), queries),
        ("CascadeRouter.plan, no rules", lambda q: plain.plan(q, tiers, None), queries),
        (
            "CascadeRouter.plan, examples/routing.yaml rules",
            lambda q: rules.plan(q, rule_tiers, None),
            queries,
        ),
        ("CascadeRouter.plan, rules + degrade", lambda q: rules.plan(q, rule_tiers, degrade), queries),
        (
            "CascadeRouter.plan, 31 turns + 32 kB system prompt",
            lambda q: rules.plan(q, rule_tiers, None),
            [long_history] * 50,
        ),
    ]
    print(f"## Routing overhead per request ({len(queries)} labelled queries, median of {repeat} passes)\n")
    print("| what | median µs | worst pass µs |\n|---|---|---|")
    for label, fn, items in rows_out:
        med, worst = per_call_us(fn, items, repeat)
        print(f"| {label} | {med:.1f} | {worst:.1f} |")
        RESULT["plan_us"][label] = round(med, 2)  # type: ignore[index]
    print()


def _cascade(cache) -> Cascade:
    ok = lambda drafts, req: bool(drafts[0].text)  # noqa: E731
    return Cascade(
        [
            Tier([ModelSpec("openai/gpt-4o-mini", params={"mock_response": "Paris"})], ok),
            Tier([ModelSpec("openai/gpt-4o", params={"mock_response": "Paris"})], ok),
        ],
        cache=cache,
    )


def cache_latency(n: int) -> None:
    print(f"## Cache hit vs miss ({n} requests each; miss = LiteLLM mock_response call, no network)\n")
    print("| cache | raw get hit µs | raw get miss µs | complete() miss ms | complete() hit ms | miss/hit |")
    print("|---|---|---|---|---|---|")
    caches = [("memory (ResponseCache)", ResponseCache(max_entries=10 * n), None)]
    server = None
    binary = shutil.which("redis-server")
    if binary:
        from tests.support.redis_server import RedisServer

        server = RedisServer(binary)
        caches.append(("redis (RedisResponseCache, loopback)", RedisResponseCache(url=server.url), server))
    try:
        for label, cache, _ in caches:
            cascade = _cascade(cache)
            cascade.complete("warm-up")  # imports LiteLLM once
            reqs = [f"Capital of country number {i}?" for i in range(n)]
            t0 = time.perf_counter()
            for q in reqs:
                cascade.complete(q)
            miss_ms = (time.perf_counter() - t0) / n * 1e3
            t0 = time.perf_counter()
            for q in reqs:
                assert cascade.complete(q).cached
            hit_ms = (time.perf_counter() - t0) / n * 1e3
            hit_us, _ = per_call_us(cache.get, [Request(q) for q in reqs], 3)
            miss_us, _ = per_call_us(cache.get, [Request(q + " (new)") for q in reqs], 3)
            print(
                f"| {label} | {hit_us:.1f} | {miss_us:.1f} | {miss_ms:.2f} | {hit_ms:.2f} | "
                f"{miss_ms / hit_ms:.1f}x |"
            )
        if server is not None:
            async_cascade = _cascade(RedisResponseCache(url=server.url))

            async def run() -> float:
                t0 = time.perf_counter()
                for i in range(n):
                    await async_cascade.acomplete(f"Capital of country number {i}?")
                return (time.perf_counter() - t0) / n * 1e3

            print(f"\nasync acomplete() hits on Redis: {asyncio.run(run()):.2f} ms per request")
    finally:
        if server is not None:
            server.stop()
    print()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    accuracy()
    embedding_accuracy()
    overhead(repeat=3 if args.quick else 7)
    cache_latency(n=50 if args.quick else 200)
    print("RESULT " + json.dumps(RESULT, sort_keys=True))


if __name__ == "__main__":
    main()
