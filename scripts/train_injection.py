"""Train the hashed n-gram logistic-regression injection classifier (deterministic, NumPy + scipy.sparse).

Trains ONLY on rows with ``split == "train"`` of ``/work/shared/data/injection/train.jsonl`` (read in
place, never copied into the repository); ``source`` and ``variant`` are never features (``source``
only sets sample weights: synthetic rows are down-weighted). By default the sources without a licence
file (``tensor_trust/``; ``sep/`` is dev-only) are left out, as for the shipped model. Pattern scores
come from the repository's ``InjectionDetector``. The combination with the patterns is fitted on
out-of-fold (leave-sources-out) model scores of the train split. The flagging threshold is written
as ``--threshold`` (the shipped 0.987 was chosen on dev benign rows at FPR <= 1% for the shipped rule, see
docs/guardrails-injection.md); ``scripts/eval_injection.py`` measures the result on dev.

Training needs scipy (not a project dependency): run it with an interpreter that has NumPy and scipy.

Usage:
    OPENBLAS_NUM_THREADS=1 python scripts/train_injection.py [--keep-unlicensed] [--out PATH] [--facts PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
from _metrics import auc  # noqa: E402  (this folder; the scripts run as scripts/x.py)

try:
    import scipy.sparse as sp  # training only; inference needs NumPy alone
except ImportError as _e:  # pragma: no cover - depends on the interpreter
    raise SystemExit(f"training needs scipy ({_e}); pip install scipy in a separate environment") from _e

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from cascadeflow_core.guardrails._classifier import (  # noqa: E402
    DEFAULT_PATH,
    FeatureConfig,
    InjectionClassifier,
    featurize,
)
from cascadeflow_core.guardrails._injection import InjectionDetector  # noqa: E402

DATA = Path("/work/shared/data/injection/train.jsonl")
SHIPPED_THRESHOLD = (
    0.987  # on dev benign rows, FPR <= 1%, patterns@0.4 or model (docs/guardrails-injection.md)
)
SEED = 13
UNLICENSED = ("tensor_trust/", "sep/")

# Leave-sources-out folds over the TRAIN split, mimicking dev (whole sources held out; an injected
# source and its clean counterpart together). Used for model selection and the out-of-fold scores.
FOLDS: tuple[tuple[str, ...], ...] = (
    (
        "tensor_trust/hijacking",
        "bipia/table_injected",
        "bipia/table_clean",
        "synthetic_attack/jailbreak_wei",
        "arena_hard/v0.1",
        "synthetic_hard_benign/documents",
        "human_eval",
    ),
    (
        "tensor_trust/extraction",
        "bipia/email_injected",
        "bipia/email_clean",
        "jailbreakbench/gcg",
        "jailbreakbench/dsn",
        "jailbreakbench/random_search",
        "gsm8k/train",
        "synthetic_hard_benign/security_questions",
    ),
    (
        "synthetic_attack/direct_openpi",
        "bipia/code_injected",
        "bipia/code_clean",
        "llm_adaptive_attacks",
        "gptfuzz/templates",
        "self_instruct/user_oriented",
        "fastchat/vicuna_bench",
        "synthetic_hard_benign/code_security",
        "oasst/seed_prompts",
    ),
    ("synthetic_attack/doc_embedded", "self_instruct/t0_prompts", "synthetic_hard_benign/roleplay_fiction"),
)


@dataclass(frozen=True)
class TrainConfig:
    """Training choices (selected on leave-sources-out folds of the train split, see select_injection.py).

    Attributes:
        features: the feature configuration.
        l2: L2 penalty on the weights (the loss is the weighted mean log-loss).
        synthetic_weight: sample-weight multiplier of ``synthetic_*`` rows.
        benign_windows: add the windows of long benign texts as extra negatives (half a row's weight in all).
        iters: full-batch Adam steps.
        lr: Adam step size.
    """

    features: FeatureConfig = FeatureConfig()
    l2: float = 3e-6
    synthetic_weight: float = 0.5
    benign_windows: bool = True
    iters: int = 120
    lr: float = 0.1


def load_rows(drop_unlicensed: bool = True) -> list[dict]:
    """Train-split rows with the pattern detector's score (``pattern``); dev rows are never read."""
    det = InjectionDetector()
    rows = []
    with DATA.open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["split"] != "train" or (drop_unlicensed and r["source"].startswith(UNLICENSED)):
                continue
            r["pattern"] = det.score(r["text"]).score
            rows.append(r)
    return rows


@dataclass
class SpanMatrix:
    """Feature rows of the whole texts and their windows.

    Attributes:
        X: CSR matrix, one row per span.
        owner: index of the text each span belongs to.
        is_whole: whether the span is the whole text.
    """

    X: sp.csr_matrix
    owner: np.ndarray
    is_whole: np.ndarray


def build_spans(texts: list[str], cfg: FeatureConfig) -> SpanMatrix:
    """Featurize texts with windows into one CSR matrix (deterministic)."""
    indptr, indices, values, owner, whole = [0], [], [], [], []
    for i, t in enumerate(texts):
        for j, (idx, val) in enumerate(featurize(t, cfg)):
            indices.append(idx)
            values.append(val)
            indptr.append(indptr[-1] + len(idx))
            owner.append(i)
            whole.append(j == 0)
    X = sp.csr_matrix(
        (
            np.concatenate(values).astype(np.float32),
            np.concatenate(indices).astype(np.int32),
            np.array(indptr, np.int64),
        ),
        shape=(len(indptr) - 1, 2**cfg.bits),
    )
    return SpanMatrix(X, np.array(owner), np.array(whole))


def sample_weights(rows: list[dict], cfg: TrainConfig) -> np.ndarray:
    """Per-row weights: synthetic rows down-weighted, then both classes scaled to equal total weight."""
    y = np.array([r["label"] for r in rows], np.float64)
    w = np.array([cfg.synthetic_weight if r["source"].startswith("synthetic_") else 1.0 for r in rows])
    for c in (0, 1):
        w[y == c] *= 0.5 / w[y == c].sum()
    return w


def training_set(spans: SpanMatrix, rows: list[dict], sel: np.ndarray, cfg: TrainConfig):
    """Training matrix, labels, weights for the selected texts (whole texts, plus benign windows if asked)."""
    y_text = np.array([r["label"] for r in rows], np.float64)
    w_text = np.zeros(len(rows))
    w_text[sel] = sample_weights([rows[i] for i in sel], cfg)
    in_sel = np.zeros(len(rows), bool)
    in_sel[sel] = True
    span_keep = in_sel[spans.owner] & spans.is_whole
    span_w = np.where(span_keep, w_text[spans.owner], 0.0)
    if cfg.benign_windows:
        win = in_sel[spans.owner] & ~spans.is_whole & (y_text[spans.owner] == 0)
        n_win = np.bincount(spans.owner[win], minlength=len(rows))
        span_w = np.where(win, 0.5 * w_text[spans.owner] / np.maximum(n_win[spans.owner], 1), span_w)
        span_keep |= win
    keep = np.flatnonzero(span_keep)
    return spans.X[keep], y_text[spans.owner[keep]], span_w[keep]


def fit_logreg(X: sp.csr_matrix, y: np.ndarray, sw: np.ndarray, cfg: TrainConfig) -> tuple[np.ndarray, float]:
    """Weighted L2 logistic regression by full-batch Adam (deterministic: no sampling).

    Minimises ``sum_i sw_i * logloss_i / sum(sw) + l2 / 2 * |w|^2``.
    """
    sw = (sw / sw.sum()).astype(np.float32)
    X = X.astype(np.float32)
    Xt = X.T.tocsr()
    y32 = y.astype(np.float32)
    w = np.zeros(X.shape[1], np.float32)
    b = 0.0
    m, v = np.zeros_like(w), np.zeros_like(w)
    mb = vb = 0.0
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, cfg.iters + 1):
        p = 1.0 / (1.0 + np.exp(-np.clip(X @ w + np.float32(b), -40, 40)))
        g = sw * (p - y32)
        gw = Xt @ g + np.float32(cfg.l2) * w
        gb = float(g.sum())
        lr = cfg.lr * (0.5 * (1 + np.cos(np.pi * (t - 1) / cfg.iters)) * 0.9 + 0.1)  # cosine decay to 10%
        m = b1 * m + (1 - b1) * gw
        v = b2 * v + (1 - b2) * gw * gw
        w -= np.float32(lr / (1 - b1**t)) * m / (np.sqrt(v / np.float32(1 - b2**t)) + np.float32(eps))
        mb = b1 * mb + (1 - b1) * gb
        vb = b2 * vb + (1 - b2) * gb * gb
        b -= lr * (mb / (1 - b1**t)) / (np.sqrt(vb / (1 - b2**t)) + eps)
    return w.astype(np.float32), float(b)


def span_max_prob(spans: SpanMatrix, w: np.ndarray, b: float, n_texts: int) -> np.ndarray:
    """Per-text probability: the maximum over the whole text and its windows (as ``InjectionClassifier``)."""
    z = (spans.X @ w.astype(spans.X.dtype)).astype(np.float64) + b
    out = np.full(n_texts, -np.inf)
    np.maximum.at(out, spans.owner, z)
    return 1.0 / (1.0 + np.exp(-np.clip(out, -40, 40)))


def threshold_at_fpr(benign_scores: np.ndarray, max_fpr: float = 0.01) -> float:
    """Smallest threshold t (flag if score >= t) whose FPR on ``benign_scores`` is <= ``max_fpr``."""
    s = np.sort(benign_scores)[::-1]
    k = int(np.floor(max_fpr * len(s)))  # at most k benign rows may be flagged
    if k >= len(s):
        return 0.0
    return float(np.nextafter(s[k], np.inf)) if k < len(s) else 0.0


def fold_of(rows: list[dict]) -> np.ndarray:
    """Fold index of each row (-1 for dev rows or sources in no fold)."""
    where = {src: k for k, srcs in enumerate(FOLDS) for src in srcs}
    return np.array([where.get(r["source"], -1) if r["split"] == "train" else -1 for r in rows])


def fit_combination(
    model_prob: np.ndarray, pattern: np.ndarray, y: np.ndarray
) -> tuple[float, float, float, float]:
    """Logistic combination ``sigmoid(a*logit(model) + b*pattern + c*[pattern>=0.5] + d)``, class-balanced."""
    p = np.clip(model_prob, 1e-6, 1 - 1e-6)
    F = np.column_stack([np.log(p / (1 - p)), pattern, (pattern >= 0.5).astype(float), np.ones_like(p)])
    sw = np.where(y == 1, 0.5 / max((y == 1).sum(), 1), 0.5 / max((y == 0).sum(), 1))
    theta = np.zeros(4)
    for _ in range(50):  # Newton steps on a 4-parameter convex problem, tiny ridge for stability
        q = 1.0 / (1.0 + np.exp(-np.clip(F @ theta, -40, 40)))
        grad = F.T @ (sw * (q - y)) + 1e-4 * theta
        hess = (F * (sw * q * (1 - q))[:, None]).T @ F + 1e-4 * np.eye(4)
        theta -= np.linalg.solve(hess, grad)
    return tuple(float(x) for x in theta)  # type: ignore[return-value]


def out_of_fold(rows: list[dict], spans: SpanMatrix, cfg: TrainConfig) -> np.ndarray:
    """Model probability of every train row from a model that never saw its fold's sources."""
    folds = fold_of(rows)
    oof = np.full(len(rows), np.nan)
    for k in range(len(FOLDS)):
        tr = np.flatnonzero((folds >= 0) & (folds != k))
        if not (folds == k).any():
            continue
        w, b = fit_logreg(*training_set(spans, rows, tr, cfg), cfg)
        prob = span_max_prob(spans, w, b, len(rows))
        oof[folds == k] = prob[folds == k]
    return oof


def main() -> None:
    """Train on the train split, fit the combination on out-of-fold scores, write the model."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep-unlicensed", action="store_true", help="keep tensor_trust/ rows")
    ap.add_argument("--out", default=str(DEFAULT_PATH))
    ap.add_argument("--threshold", type=float, default=SHIPPED_THRESHOLD)
    ap.add_argument("--facts", default=None, help="also write training facts and out-of-fold scores (JSON)")
    args = ap.parse_args()
    np.random.seed(SEED)  # nothing below samples; kept so that any future sampling is seeded
    t0 = time.perf_counter()
    cfg = TrainConfig()
    rows = load_rows(not args.keep_unlicensed)
    spans = build_spans([r["text"] for r in rows], cfg.features)
    print(f"featurized {len(rows)} texts into {spans.X.shape[0]} spans in {time.perf_counter() - t0:.1f}s")
    train_idx = np.arange(len(rows))
    y = np.array([r["label"] for r in rows], np.float64)
    pattern = np.array([r["pattern"] for r in rows])
    oof = out_of_fold(rows, spans, cfg)
    comb = fit_combination(oof, pattern, y)
    print(f"out-of-fold train AUC: model {auc(y, oof):.3f}, patterns {auc(y, pattern):.3f}")
    w, b = fit_logreg(*training_set(spans, rows, train_idx, cfg), cfg)
    clf = InjectionClassifier(w, b, cfg.features, "or", comb, threshold=args.threshold)
    clf.save(args.out)
    if args.facts:
        facts = {
            "n_train_rows": len(rows),
            "combine": comb,
            "oof_train": {r["id"]: float(oof[i]) for i, r in enumerate(rows)},
        }
        Path(args.facts).write_text(json.dumps(facts))
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.2f} MB) in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
