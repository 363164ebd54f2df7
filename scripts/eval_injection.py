"""Measure the injection detectors on the labelled corpus (never sends a text anywhere).

Reads ``/work/shared/data/injection/train.jsonl`` (or ``--data``; the corpus is never copied into the
repository) and prints, as Markdown tables and a last ``RESULT {json}`` line:

* the pattern detector's TPR / FPR on the ``train`` split at thresholds 0.2-0.6 (how its default
  threshold is chosen: never on dev);
* on the ``dev`` split (whole sources held out of training): TPR per attack source and category,
  FPR per benign source and category, and AUC of each attack source against all dev benign rows,
  for the patterns alone (0.5 and 0.3), the learned model alone and the shipped "or" rule
  (patterns >= 0.4, or model >= its threshold), at the model's stored threshold and at ``--alt``
  (0.908: the threshold a train-only choice gives, FPR <= 1% on out-of-fold train benign scores);
* milliseconds per prompt (median, p95) for the patterns alone and with the model, the model
  file's size, and the time to import the classifier module (NumPy included) and load the weights
  in a fresh interpreter.

Usage: ``python scripts/eval_injection.py [--data PATH] [--model ml|PATH] [--alt 0.908]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from _metrics import auc  # noqa: E402  (this folder; the scripts run as scripts/x.py)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cascadeflow_core.guardrails._classifier import DEFAULT_PATH, InjectionClassifier  # noqa: E402
from cascadeflow_core.guardrails._injection import InjectionDetector  # noqa: E402

DATA = Path("/work/shared/data/injection/train.jsonl")


def score_rows(
    rows: list[dict], clf: InjectionClassifier | None
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Pattern scores, model probabilities (NaN without a model) and ms per prompt of the patterns."""
    det = InjectionDetector()
    pattern, prob, ms = [], [], []
    for r in rows:
        t0 = time.perf_counter()
        pattern.append(det.score(r["text"]).score)
        ms.append((time.perf_counter() - t0) * 1000)
        prob.append(clf.score(r["text"]) if clf is not None else float("nan"))
    return np.array(pattern), np.array(prob), ms


def rules(pattern: np.ndarray, prob: np.ndarray, t: float, alt: float) -> dict[str, np.ndarray]:
    """Boolean flags of each rule: the patterns at 0.5 (the old default), 0.4 (the default) and 0.3,
    the model alone, and the shipped "or" rule (patterns >= 0.4, or model >= threshold)."""
    return {
        "patterns@0.5": pattern >= 0.5,
        "patterns@0.4": pattern >= 0.4,
        "patterns@0.3": pattern >= 0.3,
        f"model@{t:.4f}": prob >= t,
        f"or@{t:.4f}": (pattern >= 0.4) | (prob >= t),
        f"or@{alt:.4f}": (pattern >= 0.4) | (prob >= alt),
    }


def ranking(pattern: np.ndarray, prob: np.ndarray) -> dict[str, np.ndarray]:
    """The score each family of rules ranks by: patterns, the model, the "or" rule (a pattern hit = 1)."""
    return {"patterns": pattern, "model": prob, "or": np.where(pattern >= 0.4, 1.0, prob)}


def table(rows: list[dict], flags: dict[str, np.ndarray], scores: dict[str, np.ndarray], key: str) -> str:
    """Markdown rows per ``key`` (source or category): TPR for attacks, FPR for benign, AUC for attacks."""
    y = np.array([r["label"] for r in rows])
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups[r[key]].append(i)
    head = f"| {key} | n | " + " | ".join(flags) + " | AUC patterns / model / or |"
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for name in sorted(groups):
        idx = np.array(groups[name])
        label = int(y[idx[0]])
        rates = " | ".join(f"{flags[k][idx].mean():.3f}" for k in flags)
        if label == 1:
            sel = np.concatenate([idx, np.flatnonzero(y == 0)])
            aucs = " / ".join(f"{auc(y[sel], s[sel]):.3f}" for s in scores.values())
        else:
            aucs = "-"
        out.append(f"| {name} ({'TPR' if label else 'FPR'}) | {len(idx)} | {rates} | {aucs} |")
    return "\n".join(out)


def import_cost() -> dict[str, float]:
    """Extra cost of opting in, in a fresh interpreter with the package imported: importing the
    classifier module (NumPy included) and loading the weights (median of 3)."""
    code = (
        f"import time,sys; sys.path.insert(0, {str(ROOT)!r}); t=time.perf_counter();"
        "from cascadeflow_core.guardrails._classifier import InjectionClassifier; a=time.perf_counter();"
        "InjectionClassifier.load(); b=time.perf_counter(); print((a-t)*1000, (b-a)*1000)"
    )
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        for _ in range(3)
    ]
    pairs = [tuple(map(float, r.stdout.split())) for r in runs]
    return {
        "import_ms": statistics.median(p[0] for p in pairs),
        "load_ms": statistics.median(p[1] for p in pairs),
    }


def pattern_thresholds(rows: list[dict]) -> str:
    """Pattern detector TPR/FPR on the train split per threshold (how the default is chosen)."""
    pattern, _, _ = score_rows(rows, None)
    y = np.array([r["label"] for r in rows])
    hard = np.array([r["category"] == "hard_benign" for r in rows])
    out = ["| threshold | TPR | FPR | FPR hard_benign |", "|---|---|---|---|"]
    for t in (0.2, 0.3, 0.4, 0.5, 0.6):
        f = pattern >= t
        out.append(f"| {t} | {f[y == 1].mean():.3f} | {f[y == 0].mean():.4f} | {f[hard].mean():.4f} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--model", default="ml")
    ap.add_argument("--alt", type=float, default=0.908, help="a second model threshold to report")
    ap.add_argument("--skip-train", action="store_true", help="skip the train-split pattern table")
    args = ap.parse_args()
    with open(args.data, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    if not args.skip_train:
        print(
            "## Patterns on the train split\n\n"
            + pattern_thresholds([r for r in rows if r["split"] == "train"])
        )
    dev = [r for r in rows if r["split"] == "dev"]
    clf = InjectionClassifier.load(None if args.model == "ml" else args.model)
    pattern, prob, pattern_ms = score_rows(dev, clf)
    y = np.array([r["label"] for r in dev])
    flags = rules(pattern, prob, clf.threshold, args.alt)
    scores = ranking(pattern, prob)
    print("\n## Dev overall\n\n| rule | TPR | FPR |\n|---|---|---|")
    for k, v in flags.items():
        print(f"| {k} | {v[y == 1].mean():.3f} | {v[y == 0].mean():.4f} |")
    print("AUC overall: " + ", ".join(f"{k} {auc(y, s):.3f}" for k, s in scores.items()))
    print("\n## Dev per source\n\n" + table(dev, flags, scores, "source"))
    print("\n## Dev per category\n\n" + table(dev, flags, scores, "category"))
    det = InjectionDetector(model=clf)
    both_ms = []
    for r in dev:
        t0 = time.perf_counter()
        det.score(r["text"])
        both_ms.append((time.perf_counter() - t0) * 1000)
    cost = import_cost()
    speed = {
        "patterns_ms_median": statistics.median(pattern_ms),
        "patterns_ms_p95": float(np.percentile(pattern_ms, 95)),
        "with_model_ms_median": statistics.median(both_ms),
        "with_model_ms_p95": float(np.percentile(both_ms, 95)),
        "model_bytes": (DEFAULT_PATH if args.model == "ml" else Path(args.model)).stat().st_size,
        **cost,
    }
    print("\n## Speed and size\n\n" + json.dumps(speed, indent=1))
    overall = {k: {"tpr": float(v[y == 1].mean()), "fpr": float(v[y == 0].mean())} for k, v in flags.items()}
    print("RESULT " + json.dumps({"dev": overall, "auc": {k: auc(y, s) for k, s in scores.items()}, **speed}))


if __name__ == "__main__":
    main()
