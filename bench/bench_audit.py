"""Audit sampling on recorded outputs: does the running estimate track the true loss, how fast is a drift
caught, how often does it cry wolf, what does auditing cost, and what latency does it add?

A stream of queries drawn with replacement from a shared replay set goes through a real Cascade (replay
provider, LiteLLM, engine, tracker) with ``Audit(rate=0.05)``. Halfway through, the drafter's model is
silently replaced by a weaker recorded model behind the same name (a provider updating a model).

- true loss: from the recorded answers, the share of drafter-answered requests whose extracted answer
  differs from the verifier's (the quantity the audit estimates), before and after the swap; also the
  labelled one-sided loss (drafter wrong where the verifier is right);
- the audit estimate and its confidence sequence at the swap and at the end, and the last-window figure;
- requests (and audits) from the swap until ``on_drift`` fired;
- false alarms: the same cascade on streams with no swap, several seeds; plus the drift test alone on
  many more resampled no-drift audit streams (it sees only the sequence of losses);
- audit spend as a share of the cascade's spend (ledger ``source`` ``audit`` vs ``cascade``);
- latency: per-request wall time with audit vs without, same stream, interleaved.

Run: python bench/bench_audit.py [--quick] [--set gsm8k-zeroeval] [--n 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cascadeflow_core import (  # noqa: E402
    AgreementValidator,
    AllOf,
    Audit,
    AuditRecord,
    Cascade,
    CascadeOptions,
    CostTracker,
    LiteLLMBackend,
    ModelSpec,
    ReplaySet,
    RuleValidator,
    Tier,
    extract_answer,
    register_replay,
)
from cascadeflow_core.tracking._audit import _fold, confidence_sequence  # noqa: E402

# the shared data sits beside the repository (../shared); a git worktree may sit one level deeper
SHARED = next(
    (p / "shared" / "data" / "replay" for p in ROOT.parents if (p / "shared" / "data" / "replay").is_dir()),
    ROOT.parent / "shared" / "data" / "replay",
)
DRAFTER = "gpt-4o-mini-2024-07-18"
WEAKER = "gpt-3.5-turbo-0125"
CANDIDATES = ["Meta-Llama-3.1-8B-Instruct", "gpt-3.5-turbo-0125", "Mixtral-8x7B-Instruct-v0.1"]
VERIFIER = "gpt-4o-2024-08-06"
TARGET = 0.08


class Swappable:
    """The drafter's backend: after ``swap()`` it serves another recorded model under the same name."""

    def __init__(self) -> None:
        self.inner = LiteLLMBackend()
        self.served = DRAFTER

    def _spec(self, spec: ModelSpec) -> ModelSpec:
        return replace(spec, model=f"replay/{self.served}", backend=None)

    def complete(self, spec, request):  # type: ignore[no-untyped-def]
        return replace(self.inner.complete(self._spec(spec), request), model=spec.label)

    async def acomplete(self, spec, request):  # type: ignore[no-untyped-def]
        return replace(await self.inner.acomplete(self._spec(spec), request), model=spec.label)


PARTNER = "gemma-2-9b-it"  # the second drafter of the agreement configuration
CONFIG = {"name": "single", "target": TARGET}


def build(audit: Audit | None, swap: Swappable) -> Cascade:
    drafter = ModelSpec(f"replay/{DRAFTER}", backend=swap, name=DRAFTER)
    if CONFIG["name"] == "agreement":  # two drafters that must agree (the recommended GSM8K setup)
        validator = AllOf(RuleValidator(("empty", "truncated")), AgreementValidator())
        first = Tier([drafter, ModelSpec(f"replay/{PARTNER}")], validator, name="drafter")
    else:  # one drafter, rule checks only (the README quickstart shape)
        first = Tier([drafter], name="drafter")
    tiers = [first, Tier([ModelSpec(f"replay/{VERIFIER}")], name="verifier")]
    return Cascade(tiers, tracker=CostTracker(), options=CascadeOptions(audit=audit, progress=False))


def truth(rs: ReplaySet, model: str, qid: str) -> tuple[int, int]:
    """(disagrees with the verifier, one-sided labelled loss) of ``model``'s recorded answer."""
    a, v = rs.answer(model, qid), rs.answer(VERIFIER, qid)
    ka, kv = extract_answer(a.text), extract_answer(v.text)
    return int(ka is None or ka != kv), int(v.correct and not a.correct)


def run_stream(rs: ReplaySet, ids: list[str], seed: int, swap_at: int | None, audit_on: bool = True) -> dict:
    fired: list = []
    swap = Swappable()
    audit = Audit(rate=0.05, target=CONFIG["target"], seed=seed, on_drift=fired.append) if audit_on else None
    c = build(audit, swap)
    served_at: list[str] = []
    losses: list[tuple[int, int, int]] = []  # (request index, disagrees, one-sided loss) for drafter answers
    lat: list[float] = []
    at_swap = None
    for i, qid in enumerate(ids):
        if swap_at is not None and i == swap_at:
            c.flush_audits(30.0)
            at_swap = c.audit_report().tiers
            swap.served = CONFIG["weaker"]
        t0 = time.perf_counter()
        r = c.complete(list(rs.query(qid).messages), replay_id=qid)
        lat.append(time.perf_counter() - t0)
        served_at.append(r.tier)
        if r.tier == "drafter":
            losses.append((i, *truth(rs, swap.served if r.model == DRAFTER else PARTNER, qid)))
    c.flush_audits(60.0)
    report = c.audit_report() if audit_on else None
    return {
        "cascade": c,
        "fired": fired,
        "losses": losses,
        "latency": lat,
        "report": report,
        "at_swap": at_swap,
        "drafter_share": served_at.count("drafter") / len(ids),
    }


def rate(xs: list[int]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def no_drift_pool(rs: ReplaySet, ids: list[str]) -> list[int]:
    """The true loss of every answer the configuration accepts from the drafter tier, before any swap."""
    if CONFIG["name"] == "single":
        return [truth(rs, DRAFTER, q)[0] for q in ids]
    out = []
    for q in ids:
        a, b = extract_answer(rs.answer(DRAFTER, q).text), extract_answer(rs.answer(PARTNER, q).text)
        if a is not None and a == b:
            out.append(int(a != extract_answer(rs.answer(VERIFIER, q).text)))
    return out


def resampled_false_alarms(pool: list[int], seeds: int, audits: int) -> float:
    """The drift test alone on no-drift audit streams resampled from the true losses before the swap."""
    audit = Audit(target=CONFIG["target"])
    alarms = 0
    for s in range(seeds):
        rng = random.Random(10_000 + s)
        recs = [
            AuditRecord(f"r{i}", float(i), f"r{i}", "drafter", DRAFTER, VERIFIER, not rng.choice(pool))
            for i in range(audits)
        ]
        alarms += bool(_fold(recs, audit)["drafter"].events)
    return alarms / seeds


def detection_delays(rs: ReplaySet, weaker: list[str], seeds: int, n0: int = 75, n1: int = 1000) -> dict:
    """Audits from a swap until the drift test fires, on audit streams resampled from the recorded
    answers (``n0`` audits of the drafter, then the weaker model): median, 90th percentile, missed."""
    ids = [q for q in rs.ids if rs.has(DRAFTER, q) and rs.has(VERIFIER, q)]
    pre = [truth(rs, DRAFTER, q)[0] for q in ids]
    audit = Audit(target=CONFIG["target"])
    out = {}
    for w in weaker:
        post = [truth(rs, w, q)[0] for q in ids if rs.has(w, q)]
        delays = []
        for s in range(seeds):
            rng = random.Random(s)
            xs = [rng.choice(pre) for _ in range(n0)] + [rng.choice(post) for _ in range(n1)]
            recs = [
                AuditRecord(f"r{i}", float(i), f"r{i}", "d", DRAFTER, VERIFIER, not x)
                for i, x in enumerate(xs)
            ]
            ev = _fold(recs, audit)["d"].events
            delays.append(int(ev[0].record_id[1:]) - n0 + 1 if ev else None)
        hit = sorted(d for d in delays if d is not None)
        out[w] = {
            "loss": sum(post) / len(post),
            "median_audits": statistics.median(hit) if hit else None,
            "p90_audits": hit[int(0.9 * (len(hit) - 1))] if hit else None,
            "before_swap": sum(1 for d in hit if d <= 0) / seeds,
            "missed_in_1000": sum(1 for d in delays if d is None) / seeds,
        }
        print(f"resampled drift to {w} (loss {out[w]['loss']:.3f}): {out[w]}")
    return out


def after_hook_us() -> dict:
    """Microseconds the audit hook takes on the request's thread: a coin flip, and a queued audit."""
    from cascadeflow_core import Draft, Request
    from cascadeflow_core._types import CascadeResult

    out = {}
    for name, rate_ in (("after_hook_not_sampled_us", 1e-9), ("after_hook_sampled_us", 1.0)):
        c = build(Audit(rate=rate_, queue_size=100_000), Swappable())
        c._auditing._audit = lambda req, res: None  # measure the hook, not the audit
        req = Request("q")
        res = CascadeResult("4", DRAFTER, "drafter", (), 0.0, None, False, 0.0, draft=Draft(DRAFTER, "4"))
        times = []
        for _ in range(5000):
            t0 = time.perf_counter()
            c._auditing.after(req, res)
            times.append(time.perf_counter() - t0)
        c.flush_audits(10.0)
        out[name] = 1e6 * statistics.median(times)
    return out


def drift_run(rs: ReplaySet, ids: list[str], seed: int) -> dict:
    """One stream with the swap halfway: true loss, the audit estimate and bound, when on_drift fired."""
    half = len(ids) // 2
    drift = run_stream(rs, ids, seed=seed, swap_at=half)
    before = [x for x in drift["losses"] if x[0] < half]
    after = [x for x in drift["losses"] if x[0] >= half]
    row = drift["report"].tier("drafter")
    pre = drift["at_swap"][0] if drift["at_swap"] else None
    n_pre = pre.audits if pre else 0
    recs = drift["cascade"].tracker.audit_log.records()
    post = recs[n_pre:]
    lo_post, hi_post = confidence_sequence(sum(not r.agreed for r in post), len(post), 0.05)
    out = {
        "true_loss_before": rate([x[1] for x in before]),
        "true_loss_after": rate([x[1] for x in after]),
        "labelled_loss_before": rate([x[2] for x in before]),
        "labelled_loss_after": rate([x[2] for x in after]),
        "audits_before": n_pre,
        "estimate_before": pre.estimate if pre else None,
        "bound_before": [pre.lower, pre.upper] if pre else None,
        "audits_after_swap": len(post),
        "estimate_after_swap": rate([int(not r.agreed) for r in post]),
        "bound_after_swap": [lo_post, hi_post],
        "audits_total": row.audits,
        "estimate_since_start": row.estimate,
        "bound_since_start": [row.lower, row.upper],
        "window_estimate": row.window_estimate,
        "window_bound": [row.window_lower, row.window_upper],
        "audits_until_drift": None,
        "requests_until_drift": None,
    }
    first = next((e for e in drift["fired"] if e.kind == "drift"), None)
    if first is not None:
        out["audits_until_drift"] = next(i for i, r in enumerate(recs) if r.id == first.record_id) + 1 - n_pre
        idx = _request_index(drift["cascade"], first.record_id)
        out["requests_until_drift"] = idx - half if idx is not None else None
    led = drift["cascade"].tracker.entries()
    out["audit_cost"] = sum(e.cost for e in led if e.source == "audit")
    out["cascade_cost"] = sum(e.cost for e in led if e.source == "cascade")
    out["verifier_alone_cost"] = sum(rs.answer(VERIFIER, q).cost for q in ids)
    out["audit_share"] = out["audit_cost"] / out["cascade_cost"]
    out["audit_share_of_verifier_alone"] = out["audit_cost"] / out["verifier_alone_cost"]
    out["drafter_share"] = drift["drafter_share"]
    print(f"drift seed {seed}: {json.dumps(out)}")
    if seed == 0:
        print(drift["report"])
    return out


def no_drift_alarms(rs: ReplaySet, ids_all: list[str], n: int, seeds: int) -> str:
    fa = 0
    for s in range(1, seeds + 1):
        out = run_stream(rs, random.Random(1000 + s).choices(ids_all, k=n), seed=1000 + s, swap_at=None)
        fa += bool(out["fired"])
        print(
            f"no-drift stream {s}: {out['report'].tier('drafter').audits} audits, alarms {len(out['fired'])}"
        )
    return f"{fa}/{seeds}"


def latency(rs: ReplaySet, ids: list[str]) -> dict:
    """Per-request wall time with and without audit, same stream, alternating runs."""
    lat_on: list[float] = []
    lat_off: list[float] = []
    for i in range(2):
        lat_off += run_stream(rs, ids, seed=100 + i, swap_at=None, audit_on=False)["latency"]
        lat_on += run_stream(rs, ids, seed=100 + i, swap_at=None, audit_on=True)["latency"]
    out = {}
    for name, xs in (("latency_audit", sorted(lat_on)), ("latency_no_audit", sorted(lat_off))):
        out[f"{name}_p50_ms"] = 1000 * statistics.median(xs)
        out[f"{name}_p99_ms"] = 1000 * xs[int(0.99 * (len(xs) - 1))]
    out["latency_added_p50_ms"] = out["latency_audit_p50_ms"] - out["latency_no_audit_p50_ms"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--set", default="gsm8k-zeroeval")
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--drift-seeds", type=int, default=5, help="streams with the swap halfway")
    ap.add_argument("--seeds", type=int, default=5, help="full-cascade no-drift streams")
    ap.add_argument("--weaker", default=WEAKER, help="the recorded model swapped in halfway")
    ap.add_argument("--config", choices=["single", "agreement"], default="single")
    ap.add_argument("--target", type=float, default=None, help="default 0.08 single, 0.04 agreement")
    args = ap.parse_args()
    CONFIG.update(name=args.config, weaker=args.weaker)
    CONFIG["target"] = args.target or (TARGET if args.config == "single" else 0.04)
    n = 600 if args.quick else args.n
    seeds, drift_seeds = (1, 1) if args.quick else (args.seeds, args.drift_seeds)
    rs = ReplaySet.load(SHARED / args.set)
    ids_all = [q for q in rs.ids if rs.has(DRAFTER, q) and rs.has(args.weaker, q) and rs.has(VERIFIER, q)]
    result: dict = {"config": args.config, "set": args.set, "n": n, "target": CONFIG["target"], "rate": 0.05}
    result.update(drafter=DRAFTER, weaker=args.weaker)
    with register_replay(rs):
        runs = [drift_run(rs, random.Random(s).choices(ids_all, k=n), s) for s in range(drift_seeds)]
        result.update(runs[0])
        result["requests_until_drift_per_seed"] = [r["requests_until_drift"] for r in runs]
        result["audits_until_drift_per_seed"] = [r["audits_until_drift"] for r in runs]
        for key in (
            "true_loss_before",
            "true_loss_after",
            "estimate_before",
            "estimate_after_swap",
            "audit_share",
        ):
            result[f"mean_{key}"] = statistics.mean(r[key] for r in runs if r[key] is not None)
        result["false_alarm_streams"] = no_drift_alarms(rs, ids_all, n, seeds)
        result.update(latency(rs, random.Random(0).choices(ids_all, k=min(n, 1000))))
    result.update(after_hook_us())
    before_losses = no_drift_pool(rs, ids_all)
    result["resampled_streams"] = 50 if args.quick else 400
    result["resampled_false_alarm_rate"] = resampled_false_alarms(
        before_losses, result["resampled_streams"], 1000
    )
    # the boundary of the guarantee: a loss rate exactly at the target
    at_target = [1] * round(1000 * CONFIG["target"]) + [0] * round(1000 * (1 - CONFIG["target"]))
    result["resampled_false_alarm_rate_at_target"] = resampled_false_alarms(
        at_target, result["resampled_streams"], 1000
    )
    if args.config == "single":
        result["resampled_detection"] = detection_delays(rs, CANDIDATES, 50 if args.quick else 200)
    for k_, v in result.items():
        print(f"{k_}: {v:.4f}" if isinstance(v, float) else f"{k_}: {v}")
    print("RESULT " + json.dumps(result))


def _request_index(cascade: Cascade, record_id: str) -> int | None:
    """Position in the stream of the request whose audit fired the alarm (ledger order of request ids)."""
    rid = record_id.split(":", 1)[0]
    order = list(dict.fromkeys(e.request_id for e in cascade.tracker.entries() if e.source == "cascade"))
    return order.index(rid) if rid in order else None


if __name__ == "__main__":
    main()
