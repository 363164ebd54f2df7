"""Experiment (not shipped): does a MiniLM sentence-embedding head generalise better than the n-gram model?

Offline NumPy only; never sends a text anywhere and never copies the corpus into the repository.
Two steps, run from the repository root with ``OPENBLAS_NUM_THREADS=1``:

* ``embed SPLIT N``: embeds the rows of ``split == SPLIT`` of ``/work/shared/data/injection/train.jsonl``
  (a seeded random sample of ``N`` rows when the split is larger) with ``MiniLMEmbedder``: a text of
  more than ``--chunk`` word pieces is cut into ``--max-chunks`` windows of ``--chunk`` tokens spread
  evenly from its start to its end (so the first and last windows are always seen: indirect injection
  is usually added at the start or end of a document). Writes ``emb`` (one row per window), ``owner``
  (window -> row) and ``ids`` to ``--cache`` (default ``/work/scratch/emb``, outside the repository).
* ``analyse``: fits L2 logistic regression heads (NumPy Newton) on the train windows and prints, for
  each head and for the shipped n-gram model and patterns, the threshold giving FPR <= 1% on dev
  benign rows, TPR / FPR / AUC overall and per dev source and category. A row's score is the max of
  its windows' scores.

The figures are in docs/guardrails-injection.md ("Tried: MiniLM embeddings").
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from _metrics import auc  # noqa: E402  (this folder; the scripts run as scripts/x.py)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cascadeflow_core.guardrails._classifier import InjectionClassifier  # noqa: E402
from cascadeflow_core.guardrails._injection import InjectionDetector  # noqa: E402
from cascadeflow_core.providers._embed import MiniLMEmbedder  # noqa: E402

DATA = Path("/work/shared/data/injection/train.jsonl")


def windows(ids: list[int], size: int, most: int) -> list[list[int]]:
    """``[CLS] body [SEP]`` cut into at most ``most`` windows of ``size`` body tokens, start to end."""
    body = ids[1:-1]
    if len(body) <= size:
        return [ids]
    n = min(most, -(-len(body) // size))
    starts = np.linspace(0, len(body) - size, n).round().astype(int)
    return [[ids[0], *body[s : s + size], ids[-1]] for s in starts]


def embed(args: argparse.Namespace) -> None:
    """Embed the windows of one split (or a seeded sample of it) and save them to the cache."""
    rows = [json.loads(line) for line in DATA.open()]
    rows = [r for r in rows if r["split"] == args.split]
    if args.n < len(rows):
        pick = np.random.default_rng(0).choice(len(rows), args.n, replace=False)
        rows = [rows[i] for i in sorted(pick)]
    emb = MiniLMEmbedder(max_tokens=100_000, blas_threads=1)
    emb._tok.no_truncation()
    items = [
        (i, w)
        for i, enc in enumerate(emb._tok.encode_batch([r["text"] for r in rows]))
        for w in windows(list(enc.ids), args.chunk, args.max_chunks)
    ]
    order = sorted(range(len(items)), key=lambda k: len(items[k][1]))
    out = np.empty((len(items), emb.dim), dtype=np.float32)
    t0 = time.time()
    with emb._limiter():
        for b in range(0, len(order), 32):
            sel = order[b : b + 32]
            out[sel] = emb._encode_batch([SimpleNamespace(ids=items[k][1]) for k in sel])
    print(f"{len(rows)} rows, {len(items)} windows, {time.time() - t0:.0f} s")
    args.cache.mkdir(parents=True, exist_ok=True)
    np.savez(
        args.cache / f"{args.split}_{args.n}_ch{args.chunk}.npz",
        emb=out,
        owner=np.array([i for i, _ in items]),
        ids=np.array([r["id"] for r in rows]),
    )


def fit_lr(x: np.ndarray, y: np.ndarray, lam: float, iters: int = 30) -> np.ndarray:
    """L2-regularised logistic regression by Newton steps; the last weight is the (free) intercept."""
    x = np.hstack([x, np.ones((len(x), 1))]).astype(np.float64)
    w = np.zeros(x.shape[1])
    reg = lam * np.eye(x.shape[1])
    reg[-1, -1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        hess = (x * (p * (1 - p))[:, None]).T @ x + reg
        w -= np.linalg.solve(hess, x.T @ (p - y) + reg @ w)
    return w


def row_max(s: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Each row's highest window score."""
    out = np.full(n, -np.inf)
    np.maximum.at(out, owner, s)
    return out


def report(name: str, rows: list[dict], s: np.ndarray) -> None:
    """Threshold for FPR <= 1% on dev benign; TPR / FPR / AUC overall, per source and category."""
    y = np.array([r["label"] for r in rows])
    ben = y == 0
    t = np.quantile(s[ben], 0.99, method="higher")
    flag = s > t
    print(f"{name}: TPR {flag[~ben].mean():.3f} FPR {flag[ben].mean():.4f} AUC {auc(y, s):.3f}")
    for key in ("source", "category"):
        for g in sorted({r[key] for r in rows}):
            m = np.array([r[key] == g for r in rows])
            if y[m][0] == 1:
                a = auc(y[m | ben], s[m | ben])
                print(f"  {g} (n={m.sum()}): TPR {flag[m].mean():.3f} AUC {a:.3f}")
            else:
                print(f"  {g} (n={m.sum()}): FPR {flag[m].mean():.3f}")


def analyse(args: argparse.Namespace) -> None:
    """Fit the heads on train windows, report them and the shipped detectors on dev."""
    by_id = {r["id"]: r for r in map(json.loads, DATA.open())}
    data = {}
    for split, n in (("train", args.train_n), ("dev", 100_000)):
        z = np.load(args.cache / f"{split}_{n}_ch{args.chunk}.npz")
        data[split] = ([by_id[i] for i in z["ids"]], z["emb"], z["owner"])
    (tr, e_tr, o_tr), (dv, e_dv, o_dv) = data["train"], data["dev"]
    y_tr = np.array([r["label"] for r in tr], dtype=np.float64)
    clf, det = InjectionClassifier.load(), InjectionDetector()
    report("n-gram model (shipped)", dv, np.array([clf.score(r["text"]) for r in dv]))
    report("patterns", dv, np.array([det.score(r["text"]).score for r in dv]))
    for lam in (0.1, 1.0, 10.0):
        w = fit_lr(e_tr, y_tr[o_tr], lam)
        s = row_max(e_dv @ w[:-1] + w[-1], o_dv, len(dv))
        report(f"MiniLM windows + LR (lambda {lam}), max over windows", dv, s)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=Path("/work/scratch/emb"))
    ap.add_argument("--chunk", type=int, default=64)
    ap.add_argument("--max-chunks", type=int, default=2)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("embed")
    e.add_argument("split", choices=("train", "dev"))
    e.add_argument("n", type=int)
    a = sub.add_parser("analyse")
    a.add_argument("--train-n", type=int, default=2500)
    args = ap.parse_args()
    embed(args) if args.cmd == "embed" else analyse(args)


if __name__ == "__main__":
    main()
