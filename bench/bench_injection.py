"""How well and how fast the prompt-injection detector works.

* TPR (attacks flagged) and FPR (benign requests flagged) at the default threshold 0.4, per split
  (``dev``: the split the patterns were tuned on; ``holdout``: written at the same time, not tuned on;
  ``holdout2``: 40 attacks and 40 benign written on 2026-11-23 and committed before the detector first ran on them,
  then used for a tuning round; ``holdout3``: 30 + 30 written after that round, never tuned on),
  TPR per attack category and FPR per benign source; the corpora are
  ``tests/data/guardrails/injection_{attacks,benign}.jsonl``.
* TPR/FPR at thresholds 0.3 / 0.4 / 0.5 / 0.7 on each part (the trade-off a user picks from).
* Median microseconds per 1 KB of text: ordinary support-ticket prose, text built from the benign
  corpus (dense in trigger words: hard negatives), the same with one attack appended, and the worst of a set of repetitive adversarial inputs (regex backtracking check).

Run from the repository root: ``python bench/bench_injection.py [--quick]``. Last line: ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cascadeflow_core.guardrails._injection import CATEGORIES, InjectionDetector  # noqa: E402

DATA = ROOT / "tests" / "data" / "guardrails"
PROSE = [  # ordinary support-ticket sentences (few trigger words): the common case
    "My order has not arrived yet and the tracking page has not changed since Tuesday.",
    "Can you explain how to reset the router to factory settings without losing the config?",
    "The invoice shows two charges for the same month, could you look into it?",
    "I would like to upgrade my plan to the annual option if the discount still applies.",
    "The app crashes when I open the settings page on version 4.2.1 of the Android build.",
    "Please summarise the attached meeting notes in three bullet points for the team.",
]
ADVERSARIAL = [
    "story real instructions ",
    "act as a ai ",
    "ignore all ",
    "you are ",
    "grandma ",
    "i g n o r e ",
    "1gn0r3 ",
    "%41%42 ",
    "QUJDRA== ",
    "<|im_start|>system ",
    "assistant: ",
    "end of input ",
    "no rules ",
]


def load(name: str) -> list[dict]:
    with open(DATA / f"injection_{name}.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


PARTS = ("dev", "holdout", "holdout2", "holdout3")


def part(row: dict) -> str:
    """``dev``, ``holdout`` (round 1, written with dev), ``holdout2`` / ``holdout3`` (rounds 2 and 3, written later)."""
    return f"holdout{row['round']}" if row.get("round", 1) > 1 else row["split"]


def rates(det: InjectionDetector, attacks: list[dict], benign: list[dict], split: str) -> dict:
    a = [x for x in attacks if part(x) == split]
    b = [x for x in benign if part(x) == split]
    hit_a = [det.score(x["text"]).flagged for x in a]
    hit_b = [det.score(x["text"]).flagged for x in b]
    per_cat: dict[str, list[bool]] = defaultdict(list)
    for x, h in zip(a, hit_a, strict=True):
        per_cat[x["category"]].append(h)
    per_src: dict[str, list[bool]] = defaultdict(list)
    for x, h in zip(b, hit_b, strict=True):
        per_src[x["source"]].append(h)
    return {
        "n_attacks": len(a),
        "n_benign": len(b),
        "tpr": round(sum(hit_a) / len(a), 3),
        "fpr": round(sum(hit_b) / len(b), 3),
        "tpr_by_category": {c: round(sum(per_cat[c]) / len(per_cat[c]), 3) for c in CATEGORIES if per_cat[c]},
        "fpr_by_source": {s: round(sum(v) / len(v), 3) for s, v in sorted(per_src.items())},
    }


def us_per_kb(det: InjectionDetector, texts: list[str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        for t in texts:
            t0 = time.perf_counter()
            det.score(t)
            samples.append((time.perf_counter() - t0) * 1e6 / (len(t.encode("utf-8")) / 1024))
    return statistics.median(samples)


def kb_texts(benign: list[dict], n: int, rng: random.Random) -> list[str]:
    pool = [b["text"] for b in benign]
    out = []
    for _ in range(n):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < 1024:
            parts.append(rng.choice(pool))
        out.append(" ".join(parts)[:1024])
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer timing repeats")
    args = ap.parse_args()
    repeat = 3 if args.quick else 15
    attacks, benign = load("attacks"), load("benign")
    det = InjectionDetector()
    result: dict = {"n_attacks": len(attacks), "n_benign": len(benign)}
    for split in PARTS:
        r = rates(det, attacks, benign, split)
        result[split] = r
        print(
            f"{split:8s} TPR {r['tpr']:.3f} ({r['n_attacks']} attacks)  FPR {r['fpr']:.3f} ({r['n_benign']} benign)"
        )
        print(
            "         TPR by category: " + ", ".join(f"{c} {v:.2f}" for c, v in r["tpr_by_category"].items())
        )
        print("         FPR by source:   " + ", ".join(f"{s} {v:.2f}" for s, v in r["fpr_by_source"].items()))
    sweep = {}
    for th in (0.3, 0.4, 0.5, 0.7):
        d = InjectionDetector(th)
        sweep[str(th)] = {
            s: {k: v for k, v in rates(d, attacks, benign, s).items() if k in ("tpr", "fpr")} for s in PARTS
        }
        print(
            f"threshold {th}: "
            + "  ".join(f"{s} TPR {v['tpr']:.3f} FPR {v['fpr']:.3f}" for s, v in sweep[str(th)].items())
        )
    result["threshold_sweep"] = sweep

    rng = random.Random(7)
    plain = kb_texts(benign, 40, rng)
    attacked = [t[: 1024 - 80] + " " + rng.choice(attacks)["text"][:79] for t in plain]
    adversarial = [(w * (1024 // len(w) + 1))[:1024] for w in ADVERSARIAL]
    prose = [" ".join(rng.choice(PROSE) for _ in range(14))[:1024] for _ in range(40)]
    result["us_per_kb_prose"] = round(us_per_kb(det, prose, repeat), 1)
    result["us_per_kb_plain"] = round(us_per_kb(det, plain, repeat), 1)
    result["us_per_kb_with_attack"] = round(us_per_kb(det, attacked, repeat), 1)
    worst = max((us_per_kb(det, [t], repeat), w) for t, w in zip(adversarial, ADVERSARIAL, strict=True))
    result["us_per_kb_worst_adversarial"] = round(worst[0], 1)
    print(
        f"median us per 1 KB: ordinary prose {result['us_per_kb_prose']}, benign corpus requests (many trigger words) "
        f"{result['us_per_kb_plain']}, with an attack {result['us_per_kb_with_attack']}, "
        f"worst repetitive adversarial input {result['us_per_kb_worst_adversarial']} ({worst[1]!r})"
    )
    big = " ".join(plain) * 25  # ~1 MB
    t0 = time.perf_counter()
    det.score(big)
    result["ms_one_megabyte"] = round((time.perf_counter() - t0) * 1000, 1)
    print(f"one {len(big) // 1024} KB text: {result['ms_one_megabyte']} ms (head and tail 100 KB are scored)")
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    sys.exit(main())
