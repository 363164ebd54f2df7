"""What guardrails cost per request: detector microseconds per KB and the pipeline's added latency.

* ``PIIDetector.find``, ``Redactor.redact`` and ``InjectionDetector.score``: median microseconds per
  1 KB of text, over texts built from ordinary support-ticket sentences with and without PII.
* A one-tier cascade on an instant in-process backend, without guardrails and with
  ``Guardrails(pii="redact", injection="block", output_entities=["SECRET"])``, for 1 KB and 10 KB
  user messages: median microseconds per request and the difference, measured interleaved.

Precision and recall per entity, and injection TPR/FPR, are in ``bench_pii.py`` and
``bench_injection.py`` (labelled corpora under ``tests/data/guardrails``).

Run from the repository root: ``python bench/bench_guardrails.py [--quick]``. Last line: ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from cascadeflow_core import Cascade, Draft, Guardrails, ModelSpec  # noqa: E402
from cascadeflow_core.guardrails._injection import InjectionDetector  # noqa: E402
from cascadeflow_core.guardrails._pii import PIIDetector, Redactor  # noqa: E402

PLAIN = [
    "My order has not arrived yet and the tracking page has not changed since Tuesday.",
    "Can you explain how to reset the router to factory settings without losing the config?",
    "The invoice shows two charges for the same month, could you look into it?",
    "I would like to upgrade my plan to the annual option if the discount still applies.",
    "The app crashes when I open the settings page on version 4.2.1 of the Android build.",
    "Please summarise the attached meeting notes in three bullet points for the team.",
]
WITH_PII = [
    "You can reach me at jordan.miles@example.com or on +1 415 555 0132 after five.",
    "Please refund the card ending 4242, full number 4242 4242 4242 4242, expiry 04/28.",
    "Send the contract to 221B Baker Street, London; my date of birth is 12 March 1985.",
    "Our IBAN is DE89 3704 0044 0532 0130 00 and the server IP is 203.0.113.42.",
    "The staging key is sk-proj-Xb3kLm9Qp2Rz7Ts1Vw4Yh6Nd8Fg0Jc5 - please rotate it.",
]


def text_of(kb: int, rng: random.Random, pii_share: float = 0.3) -> str:
    out: list[str] = []
    while sum(len(s) + 1 for s in out) < kb * 1024:
        out.append(rng.choice(WITH_PII if rng.random() < pii_share else PLAIN))
    return " ".join(out)[: kb * 1024]


def us_per_kb(fn, texts: list[str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        for t in texts:
            t0 = time.perf_counter()
            fn(t)
            samples.append((time.perf_counter() - t0) * 1e6 / (len(t) / 1024))
    return statistics.median(samples)


class Instant:
    draft = Draft(
        "instant", "Thanks, <EMAIL_1>: done.", finish_reason="stop", input_tokens=10, output_tokens=5
    )

    def complete(self, spec, request):  # type: ignore[no-untyped-def]
        return self.draft


def pipeline(kb: int, n: int, rng: random.Random) -> dict[str, float]:
    spec = ModelSpec("instant", backend=Instant())
    plain = Cascade([spec])
    guarded = Cascade(
        [spec], guardrails=Guardrails(pii="redact", injection="block", output_entities=["SECRET"])
    )
    msgs = [[{"role": "user", "content": text_of(kb, rng)}] for _ in range(20)]
    for m in msgs:
        plain.complete(m)
        guarded.complete(m)
    a, b = [], []
    for i in range(n):
        m = msgs[i % len(msgs)]
        t0 = time.perf_counter()
        plain.complete(m)
        t1 = time.perf_counter()
        guarded.complete(m)
        t2 = time.perf_counter()
        a.append(t1 - t0)
        b.append(t2 - t1)
    pa, pb = statistics.median(a) * 1e6, statistics.median(b) * 1e6
    return {"plain_us": round(pa, 1), "guarded_us": round(pb, 1), "added_us": round(pb - pa, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rng = random.Random(7)
    texts = [text_of(1, rng) for _ in range(60 if args.quick else 200)]
    repeat = 2 if args.quick else 5
    det, inj = PIIDetector(), InjectionDetector()
    result: dict[str, object] = {
        "pii_find_us_per_kb": round(us_per_kb(det.find, texts, repeat), 1),
        "pii_redact_us_per_kb": round(us_per_kb(lambda t: Redactor(det).redact(t), texts, repeat), 1),
        "injection_us_per_kb": round(us_per_kb(inj.score, texts, repeat), 1),
    }
    print(f"{len(texts)} texts of 1 KB (about 30% of sentences carry PII), median per KB:")
    print(f"  PIIDetector.find        {result['pii_find_us_per_kb']:8.1f} us")
    print(f"  Redactor.redact         {result['pii_redact_us_per_kb']:8.1f} us")
    print(f"  InjectionDetector.score {result['injection_us_per_kb']:8.1f} us")
    n = 300 if args.quick else 1000
    for kb in (1, 10):
        fig = pipeline(kb, n, rng)
        result[f"pipeline_{kb}kb"] = fig
        print(
            f"one request, {kb:2d} KB user message, instant backend: {fig['plain_us']:8.1f} us without guardrails, "
            f"{fig['guarded_us']:8.1f} us with pii=redact + injection=block + output secrets "
            f"(+{fig['added_us']:.1f} us)"
        )
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
