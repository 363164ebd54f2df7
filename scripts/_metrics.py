"""Metrics shared by the injection scripts in this folder (train, eval, the MiniLM experiment)."""

from __future__ import annotations

import numpy as np


def auc(y: np.ndarray, s: np.ndarray) -> float:
    """ROC AUC with ties counted half (rank statistic); NaN when a class is empty."""
    pos, neg = s[y == 1], s[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    _, inv, cnt = np.unique(np.concatenate([pos, neg]), return_inverse=True, return_counts=True)
    ranks = (np.cumsum(cnt) - (cnt - 1) / 2.0)[inv]
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))
