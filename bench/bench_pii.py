"""PII detector quality and speed on the labelled corpus ``tests/data/guardrails/pii_corpus.jsonl``.

* Precision, recall and F1 per entity and overall, on the ``dev`` split (used for tuning) and on the
  ``holdout`` split, also reported by round: round 1 was written before tuning (its errors were seen
  once, in the first baseline run), round 2 after tuning and never tuned on. A finding counts as a
  true positive when it has the labelled entity type and overlaps the labelled value's span; each
  label matches once.
* Speed: median microseconds per 1 KB of text for ``PIIDetector.find``, over 1 KB texts built by
  joining corpus sentences (all entity types on).
* Presidio (``--presidio``, or automatically when ``presidio_analyzer`` imports): the same figures for
  ``PresidioDetector``. Presidio needs a spaCy model; when it cannot run, the reason is printed.

Run from the repository root: ``python bench/bench_pii.py [--quick] [--presidio]``. Presidio is not a
project dependency; to compare, run this script with a throwaway venv's interpreter that has
``presidio-analyzer`` and a spaCy model installed (``/tmp/presidio-venv/bin/python bench/bench_pii.py
--presidio``). Where no trained model can be installed (offline), a blank pipeline saved with
``spacy.blank("en").to_disk(DIR)`` and ``--presidio-model DIR`` runs Presidio's pattern and checksum
recognisers without NER (no context boosts, no NER dates or locations). Last line: ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cascadeflow_core.guardrails._pii import ENTITIES, PIIDetector, PresidioDetector  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "guardrails" / "pii_corpus.jsonl"


SPLITS = {  # name -> which rows
    "dev": lambda r: r["split"] == "dev",
    "holdout": lambda r: r["split"] == "holdout",
    "holdout_round1": lambda r: r["split"] == "holdout" and r.get("round", 1) == 1,
    "holdout_round2": lambda r: r["split"] == "holdout" and r.get("round", 1) == 2,
}


def load(split: str | None = None) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split is None or SPLITS[split](r)]


def gold_spans(row: dict[str, Any]) -> list[tuple[str, int, int]]:
    """Labelled (entity, start, end): each label takes the first occurrence of its value not yet taken."""
    out: list[tuple[str, int, int]] = []
    for label in row["entities"]:
        start = row["text"].find(label["value"])
        while any(s == start for _, s, _ in out):
            start = row["text"].find(label["value"], start + 1)
        out.append((label["entity"], start, start + len(label["value"])))
    return out


def score(detector: Any, rows: list[dict[str, Any]]) -> tuple[Counter[tuple[str, str]], list[str]]:
    """Counts keyed (entity, "tp"|"fp"|"fn") and a list of human-readable errors."""
    counts: Counter[tuple[str, str]] = Counter()
    errors: list[str] = []
    for row in rows:
        text, gold = row["text"], gold_spans(row)
        matched = [False] * len(gold)
        for f in detector.find(text):
            hit = next(
                (
                    i
                    for i, (e, s, t) in enumerate(gold)
                    if not matched[i] and e == f.entity and f.start < t and s < f.end
                ),
                None,
            )
            if hit is None:
                counts[(f.entity, "fp")] += 1
                errors.append(f"FP {f.entity}/{f.kind}: {text[f.start : f.end]!r} in {text[:90]!r}")
            else:
                matched[hit] = True
                counts[(f.entity, "tp")] += 1
        for (e, s, t), m in zip(gold, matched, strict=True):
            if not m:
                counts[(e, "fn")] += 1
                errors.append(f"FN {e}: {text[s:t]!r} in {text[:90]!r}")
    return counts, errors


def prf(counts: Counter[tuple[str, str]], entities: tuple[str, ...]) -> dict[str, float]:
    tp = sum(counts[(e, "tp")] for e in entities)
    fp = sum(counts[(e, "fp")] for e in entities)
    fn = sum(counts[(e, "fn")] for e in entities)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f1, 3), "tp": tp, "fp": fp, "fn": fn}


def quality(detector: Any, name: str, show_errors: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for split in SPLITS:
        counts, errors = score(detector, load(split))
        per = {e: prf(counts, (e,)) for e in ENTITIES}
        overall = prf(counts, ENTITIES)
        no_secret = prf(
            counts, tuple(e for e in ENTITIES if e != "SECRET")
        )  # Presidio uses our SECRET finder
        out[split] = {"overall": overall, "overall_without_secret": no_secret, "entities": per}
        print(
            f"{name} {split}: precision {overall['precision']:.3f}  recall {overall['recall']:.3f}  "
            f"F1 {overall['f1']:.3f}  (tp {overall['tp']}, fp {overall['fp']}, fn {overall['fn']}); "
            f"without SECRET P {no_secret['precision']:.3f} R {no_secret['recall']:.3f}"
        )
        for e in ENTITIES:
            q = per[e]
            print(
                f"  {e:15s} P {q['precision']:.3f}  R {q['recall']:.3f}  F1 {q['f1']:.3f}  "
                f"(tp {q['tp']}, fp {q['fp']}, fn {q['fn']})"
            )
        if show_errors:
            for err in errors:
                print("   ", err)
    return out


def texts_1kb(n: int, seed: int = 3) -> list[str]:
    sentences = [r["text"] for r in load()]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < 1024:
            parts.append(rng.choice(sentences))
        out.append(" ".join(parts)[:1024])
    return out


def us_per_kb(detector: Any, texts: list[str], repeat: int) -> float:
    for t in texts[:5]:
        detector.find(t)  # warm up
    samples = []
    for _ in range(repeat):
        for t in texts:
            t0 = time.perf_counter()
            detector.find(t)
            samples.append((time.perf_counter() - t0) * 1e6)
    return round(statistics.median(samples), 1)


def presidio_detector(model: str | None, min_score: float) -> tuple[Any, str]:
    """A PresidioDetector, or None and why it cannot run here."""
    try:
        return PresidioDetector(model=model, min_score=min_score), ""
    except Exception as e:  # ConfigError when missing; OSError/others when no spaCy model loads
        return None, f"{type(e).__name__}: {e}".splitlines()[0][:300]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer timing texts")
    ap.add_argument("--presidio", action="store_true", help="also measure PresidioDetector (needs presidio)")
    ap.add_argument(
        "--presidio-model",
        default=None,
        help="spaCy model package or directory for Presidio (default: an installed en_core_web_*)",
    )
    ap.add_argument("--presidio-min-score", type=float, default=0.5, help="Presidio's score threshold")
    ap.add_argument("--errors", action="store_true", help="print every false positive and negative")
    args = ap.parse_args()
    texts = texts_1kb(50 if args.quick else 200)
    repeat = 2 if args.quick else 5

    result: dict[str, Any] = {"corpus_rows": len(load()), **{f"{k}_rows": len(load(k)) for k in SPLITS}}
    regex = PIIDetector()
    result["regex"] = quality(regex, "regex", args.errors)
    result["regex"]["us_per_kb"] = us_per_kb(regex, texts, repeat)
    print(f"regex: median {result['regex']['us_per_kb']} us per 1 KB text ({len(texts)} texts x {repeat})")

    want_presidio = args.presidio or _importable("presidio_analyzer")
    if want_presidio:
        detector, why = presidio_detector(args.presidio_model, args.presidio_min_score)
        if detector is None:
            print(f"presidio: not available ({why})")
            result["presidio"] = {"available": False, "reason": why}
        else:
            result["presidio"] = {
                "available": True,
                "model": args.presidio_model or "default",
                "min_score": args.presidio_min_score,
                **quality(detector, "presidio", args.errors),
            }
            result["presidio"]["us_per_kb"] = us_per_kb(detector, texts[:50], 1)
            ratio = result["presidio"]["us_per_kb"] / max(result["regex"]["us_per_kb"], 1e-9)
            result["presidio"]["slower_than_regex"] = round(ratio, 1)
            print(f"presidio: median {result['presidio']['us_per_kb']} us per 1 KB text ({ratio:.0f}x regex)")
    else:
        why = "presidio_analyzer is not installed in this interpreter; see the docstring for --presidio"
        print(f"presidio: not available ({why})")
        result["presidio"] = {"available": False, "reason": why}
    print("RESULT " + json.dumps(result))
    return 0


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


if __name__ == "__main__":
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    sys.exit(main())
