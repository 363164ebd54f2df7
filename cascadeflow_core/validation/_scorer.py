"""A small learned acceptance scorer per tier: logistic regression over the engine's signals, in NumPy.

What this module owns: turning the signals a tier already has about its drafts into one score in
[0, 1] ("how likely this accepted draft is fine"), fitting it on calibration data, serialising it to a
plain dict (for the saved YAML) and giving the threshold path that ``_risk.certify`` tests. It imports
only NumPy; it knows nothing of the engine (the caller builds ``Signals``).

Signals (per query, for the draft the tier would return):

- ``logprob``: the drafter's sequence log-probability, None/NaN when the provider returned none
  (null-safe: a missing-value indicator, and the value features are 0 then). Turned into
  ``-log(|logprob| + 1e-6)`` (resolves the many answers at exactly logprob 0, p = 1.0, from those just
  below), ``p`` itself and an "exactly p = 1.0" flag;
- ``n_agree``: how many other drafters of the tier gave the same extracted answer;
- ``rules_ok``: the draft passes the rule checks; ``extracted``: a final answer could be extracted;
- ``length``: answer length in characters (``log1p``);
- ``groups`` (optional): a categorical such as the router's domain or complexity, one-hot.

Why no isotonic step: the score is only ever *thresholded*, and an isotonic (monotone) recalibration
preserves the order of scores, so it would certify exactly the same acceptance sets. Calibrated
probabilities are not needed for risk control; the certificate comes from ``_risk``.

Certificate validity: a scorer fitted on the same examples that certify it is optimistic and voids the
guarantee. ``run_scorer`` in ``experiment.py`` fits on one part (35%) of the calibration set and
certifies on the disjoint rest (sample splitting); ``cross_fit_scores`` is provided to *select* a tier on
the fitting part without in-sample optimism, not to certify.

Example:
    >>> import numpy as np
    >>> s = Signals(logprob=np.array([0.0, -0.01, -2.0, np.nan]), n_agree=np.zeros(4), rules_ok=np.ones(4),
    ...             extracted=np.ones(4), length=np.array([1, 1, 1, 1]))
    >>> m = fit_scorer(s, np.array([1, 1, 0, 0]))
    >>> AcceptanceScorer.from_dict(m.to_dict()).score(s).shape
    (4,)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["AcceptanceScorer", "Signals", "cross_fit_scores", "design", "fit_scorer", "threshold_path"]

FEATURES = ("lp_neglog", "p", "p_is_1", "lp_missing", "n_agree", "rules_ok", "extracted", "log_length")
_EPS_LP = 1e-6


@dataclass(frozen=True)
class Signals:
    """Per-query signals for the draft a tier would return (arrays of equal length)."""

    logprob: np.ndarray
    n_agree: np.ndarray
    rules_ok: np.ndarray
    extracted: np.ndarray
    length: np.ndarray
    groups: np.ndarray | None = field(default=None)

    def __len__(self) -> int:
        return int(np.asarray(self.logprob).size)

    def take(self, rows: np.ndarray) -> Signals:
        """The signals of a subset of queries."""
        g = None if self.groups is None else np.asarray(self.groups)[rows]
        return Signals(
            np.asarray(self.logprob)[rows],
            np.asarray(self.n_agree)[rows],
            np.asarray(self.rules_ok)[rows],
            np.asarray(self.extracted)[rows],
            np.asarray(self.length)[rows],
            g,
        )


def design(s: Signals, use: Sequence[str] = FEATURES, levels: Sequence[str] = ()) -> np.ndarray:
    """The raw feature matrix (rows = queries) of ``use`` (names of ``FEATURES``) plus group one-hots."""
    lp = np.asarray(s.logprob, dtype=float)
    missing = ~np.isfinite(lp) & ~(lp == -np.inf)
    lp0 = np.where(missing, 0.0, np.clip(lp, -1e6, 0.0))  # -inf (p = 0) stays finite
    cols = {
        "lp_neglog": np.where(missing, 0.0, -np.log(np.abs(lp0) + _EPS_LP)),
        "p": np.where(missing, 0.0, np.exp(lp0)),
        "p_is_1": (~missing & (lp0 == 0.0)).astype(float),
        "lp_missing": missing.astype(float),
        "n_agree": np.asarray(s.n_agree, dtype=float),
        "rules_ok": np.asarray(s.rules_ok, dtype=float),
        "extracted": np.asarray(s.extracted, dtype=float),
        "log_length": np.log1p(np.asarray(s.length, dtype=float)),
    }
    unknown = set(use) - set(cols)
    if unknown:
        raise ValueError(f"unknown features {sorted(unknown)}; choose from {list(FEATURES)}")
    mats = [cols[u] for u in use]
    if levels:
        g = np.asarray(s.groups if s.groups is not None else [""] * len(s))
        mats += [(g == lv).astype(float) for lv in levels]
    return np.column_stack(mats) if mats else np.zeros((len(s), 0))


@dataclass(frozen=True)
class AcceptanceScorer:
    """A fitted logistic acceptance scorer: score = sigmoid(intercept + coef . standardised features).

    Serialises to a plain dict (``to_dict`` / ``from_dict``) for the saved YAML.
    """

    features: tuple[str, ...]
    levels: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    l2: float
    n_fit: int

    def score(self, s: Signals) -> np.ndarray:
        """Scores in [0, 1], higher = safer to accept."""
        x = (design(s, self.features, self.levels) - np.array(self.mean)) / np.array(self.scale)
        return _sigmoid(self.intercept + x @ np.array(self.coef))

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "logistic",
            "features": list(self.features),
            "levels": list(self.levels),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "l2": self.l2,
            "n_fit": self.n_fit,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AcceptanceScorer:
        if d.get("type") != "logistic":
            raise ValueError(f"unknown scorer type {d.get('type')!r}; expected 'logistic'")
        return cls(
            tuple(d["features"]),
            tuple(d.get("levels", ())),
            tuple(map(float, d["mean"])),
            tuple(map(float, d["scale"])),
            tuple(map(float, d["coef"])),
            float(d["intercept"]),
            float(d["l2"]),
            int(d["n_fit"]),
        )


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def _irls(x: np.ndarray, y: np.ndarray, l2: float, max_iter: int) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression by Newton's method (intercept unpenalised)."""
    n, d = x.shape
    xa = np.column_stack([np.ones(n), x])
    w = np.zeros(d + 1)
    pen = np.full(d + 1, l2)
    pen[0] = 0.0
    for _ in range(max_iter):
        p = _sigmoid(xa @ w)
        grad = xa.T @ (p - y) + pen * w
        hess = (xa * (p * (1 - p))[:, None]).T @ xa + np.diag(pen) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.max(np.abs(step))) < 1e-8:
            break
    return w[1:], float(w[0])


def fit_scorer(
    s: Signals,
    y: np.ndarray,
    features: Sequence[str] = FEATURES,
    levels: Sequence[str] = (),
    l2: float = 1.0,
    max_iter: int = 50,
) -> AcceptanceScorer:
    """Fit the scorer: ``y`` is 1 where accepting the draft would have been fine, else 0.

    Features are standardised (a constant feature gets scale 1 and, by the penalty, weight ~0).

    Args:
        s: signals of the fitting queries.
        y: labels (labelled: the draft is correct, or not a one-sided loss; label-free: the draft agrees
            with the verifier).
        features: names from ``FEATURES``.
        levels: group levels to one-hot (e.g. domains), or none.
        l2: ridge penalty on the standardised coefficients.
        max_iter: Newton steps.
    """
    x = design(s, features, levels)
    y = np.asarray(y, dtype=float)
    if x.shape[0] != y.size:
        raise ValueError(f"{x.shape[0]} signal rows but {y.size} labels")
    mean = x.mean(axis=0) if x.size else np.zeros(x.shape[1])
    scale = x.std(axis=0) if x.size else np.ones(x.shape[1])
    scale = np.where(scale > 1e-12, scale, 1.0)
    coef, b = _irls((x - mean) / scale, y, l2, max_iter)
    return AcceptanceScorer(
        tuple(features),
        tuple(levels),
        tuple(map(float, mean)),
        tuple(map(float, scale)),
        tuple(map(float, coef)),
        b,
        float(l2),
        int(y.size),
    )


def cross_fit_scores(
    s: Signals,
    y: np.ndarray,
    folds: int = 5,
    seed: int = 0,
    features: Sequence[str] = FEATURES,
    l2: float = 1.0,
) -> np.ndarray:
    """Out-of-fold scores: each query scored by a scorer not fitted on it (for selection, not certificates)."""
    n = len(s)
    order = np.random.default_rng(seed).permutation(n)
    out = np.zeros(n)
    for f in range(folds):
        test = order[f::folds]
        train = np.setdiff1d(order, test)
        if test.size == 0 or train.size == 0:
            continue
        out[test] = fit_scorer(s.take(train), np.asarray(y)[train], features, l2=l2).score(s.take(test))
    return out


def threshold_path(scores: np.ndarray, accept_fractions: Sequence[float] | None = None) -> tuple[float, ...]:
    """Score thresholds from the most conservative to the least, at quantiles of fitting-part scores.

    A draft is accepted when its score is >= the threshold; the last threshold (0) accepts everything.
    Compute the path on the part the scorer was fitted on, never on the certification part, so that the
    path is fixed before the test.
    """
    fr = accept_fractions or tuple(i / 40 for i in range(1, 40))
    s = np.asarray(scores, dtype=float)
    qs = [float(np.quantile(s, 1.0 - f)) for f in sorted(fr)] if s.size else []
    return tuple(dict.fromkeys([*qs, 0.0]))
