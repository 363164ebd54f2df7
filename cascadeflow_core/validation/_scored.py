"""The learned acceptance scorer at run time: a validator over the signals the engine already has.

What this module owns: ``ScorerValidator``, which scores a tier's answering draft with a logistic scorer
fitted by ``calibrate`` (``_scorer.fit_scorer``, serialised into the saved YAML) and accepts it when the
score reaches the certified threshold. It needs no NumPy: one draft is one dot product. The features are
computed exactly as ``_scorer.design`` computes them on the calibration data (a test checks both agree):

- ``lp_neglog`` = ``-log(|logprob| + 1e-6)``, ``p`` = exp(logprob), ``p_is_1`` (logprob exactly 0) and
  ``lp_missing`` (the provider returned no logprob; the value features are then 0);
- ``n_agree``: how many other drafts of the tier give the same extracted answer;
- ``rules_ok``: the draft passes ``RuleValidator()``; ``extracted``: an answer could be extracted;
- ``log_length``: ``log1p`` of the answer's length in characters.

The answering draft is the tier's first (the calibrated tier lists it first).

Example:
    >>> scorer = {"type": "logistic", "features": ["p"], "levels": [], "mean": [0.5], "scale": [0.5],
    ...           "coef": [4.0], "intercept": 0.0, "l2": 1.0, "n_fit": 10}
    >>> ScorerValidator(scorer, 0.9)([Draft("m", "B", logprob=-0.001)], Request("q")).accept
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._errors import ConfigError
from .._types import Draft, Request, Verdict
from ._validators import AgreementValidator, RuleValidator, _check_unit

__all__ = ["ScorerValidator", "feature_row", "logistic_score"]

_EPS_LP = 1e-6
_KNOWN = ("lp_neglog", "p", "p_is_1", "lp_missing", "n_agree", "rules_ok", "extracted", "log_length")
_SCORER_KEYS = ("features", "levels", "mean", "scale", "coef", "intercept")


def feature_row(
    features: Sequence[str],
    levels: Sequence[str],
    logprob: float | None,
    n_agree: float,
    rules_ok: bool,
    extracted: bool,
    length: float,
    group: str | None = None,
) -> list[float]:
    """The raw (unstandardised) features of one draft, in the order of ``features`` then ``levels``."""
    missing = logprob is None or (isinstance(logprob, float) and math.isnan(logprob))
    lp = 0.0 if missing else min(max(float(logprob), -1e6), 0.0)  # type: ignore[arg-type]
    cols = {
        "lp_neglog": 0.0 if missing else -math.log(abs(lp) + _EPS_LP),
        "p": 0.0 if missing else math.exp(lp),
        "p_is_1": float(not missing and lp == 0.0),
        "lp_missing": float(missing),
        "n_agree": float(n_agree),
        "rules_ok": float(rules_ok),
        "extracted": float(extracted),
        "log_length": math.log1p(float(length)),
    }
    return [cols[f] for f in features] + [float((group or "") == lv) for lv in levels]


def logistic_score(model: Mapping[str, Any], row: Sequence[float]) -> float:
    """sigmoid(intercept + coef . (row - mean) / scale), as ``AcceptanceScorer.score`` computes it."""
    z = float(model["intercept"])
    for x, mu, sd, w in zip(row, model["mean"], model["scale"], model["coef"], strict=True):
        z += w * (x - mu) / sd
    return 1.0 / (1.0 + math.exp(-min(max(z, -40.0), 40.0)))


def _checked_scorer(scorer: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(scorer, Mapping) or scorer.get("type") != "logistic":
        raise ConfigError(
            "ScorerValidator.model",
            f"must be a logistic scorer mapping (type: logistic), got {scorer!r:.80}",
            "save it from calibrate (AcceptanceScorer.to_dict())",
        )
    missing = [k for k in _SCORER_KEYS if k not in scorer]
    if missing:
        raise ConfigError("ScorerValidator.model", f"missing keys {missing}", "re-run calibrate --save")
    unknown = set(scorer["features"]) - set(_KNOWN)
    if unknown:
        raise ConfigError(
            "ScorerValidator.model.features", f"unknown {sorted(unknown)}", f"use {list(_KNOWN)}"
        )
    width = len(scorer["features"]) + len(scorer["levels"])
    if not len(scorer["mean"]) == len(scorer["scale"]) == len(scorer["coef"]) == width:
        raise ConfigError("ScorerValidator.model", f"mean/scale/coef must have {width} entries", "re-fit it")
    return dict(scorer)


class ScorerValidator:
    """Accept the tier's first draft when the learned acceptance score is >= ``threshold``.

    Args:
        model: the fitted scorer as a mapping (``AcceptanceScorer.to_dict()``; the ``model`` key of the
            saved YAML).
        threshold: the certified score threshold, in [0, 1].
        extract: answer extraction for the agreement and "extracted" signals (as ``AgreementValidator``).
        name: the validator's name in traces.
    """

    needs_logprobs = True

    def __init__(
        self,
        model: Mapping[str, Any],
        threshold: float,
        extract: str | Callable[[str], str | None] = "auto",
        name: str = "scorer",
    ) -> None:
        self.model = _checked_scorer(model)
        self.threshold = _check_unit("ScorerValidator.threshold", threshold)
        self._agree = AgreementValidator(extract=extract)
        self._rules = RuleValidator()
        self.name = name

    def __repr__(self) -> str:
        feats = ", ".join(self.model["features"])
        return f"ScorerValidator(threshold={self.threshold:.4g}, features=[{feats}])"

    def score(self, drafts: Sequence[Draft], request: Request) -> float:
        """The acceptance score of the first draft, in [0, 1]."""
        d = drafts[0]
        key = self._agree.key(d)
        n_agree = sum(1 for o in drafts[1:] if key is not None and self._agree.key(o) == key)
        m = self.model
        row = feature_row(
            m["features"],
            m["levels"],
            d.logprob,
            n_agree,
            not self._rules.problems(d, request),
            key is not None,
            len(d.text),
        )
        return logistic_score(m, row)

    def __call__(self, drafts: Sequence[Draft], request: Request) -> Verdict:
        if not drafts:
            return Verdict(False, 0.0, ("no draft",), self.name)
        s = self.score(drafts, request)
        ok = s >= self.threshold
        why = f"learned score {s:.4f} {'>=' if ok else '<'} {self.threshold:.4g}"
        return Verdict(ok, s, (why,), self.name, chosen=0)
