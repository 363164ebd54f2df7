"""Risk-controlled calibration: certify only what holds on data the fit has not seen.

What this module owns: turning a calibration sample into a *certificate* (``validation._risk``): with
probability at least ``1 - delta`` over the sample, the chosen configuration's loss on new data of the
same distribution is at most the target. Two procedures run, each at ``delta / 2`` (so together the
certificate holds at ``1 - delta``), and the cheaper certified configuration is kept:

- **plain**: Learn-then-Test fixed-sequence testing along each drafter's logprob threshold path, from
  p = 1.0 exactly down to 0 (the rule checks gate every step), Bonferroni over the drafters; drafters
  without logprobs give one-point paths (the rule checks alone), and, with ``max_drafters >= 2``, pairs
  (and triples) of them judged by agreement;
- **scorer**: the sample is split again (35% fit, 65% certify). On the fit part a logistic acceptance
  scorer (``validation._scorer``) is cross-fitted for every tier (each drafter, each pair with the
  cheaper drafter answering) and the tier with the lowest projected certifiable cost is chosen; the
  scorer is refitted on the whole fit part and its threshold path (from fit-part score quantiles) is
  tested on the certify part only (sample splitting: the path is fixed before the test).

Losses (per query): ``one_sided`` (default: the cascade accepted a wrong draft where the verifier was
right; a drafter's wins cannot buy back its losses), ``signed`` (verifier correct minus cascade correct:
wins offset losses; certified with Hoeffding-Bentkus on ``(d + 1) / 2``; under a shift the wins need not
recur, so its certificate is weaker in practice), and, without labels, the label-free loss (the accepted
draft's extracted answer differs from the verifier's, compared as ``AgreementValidator`` does), which
bounds the one-sided loss from above when correctness is a function of the extracted answer.

Needs NumPy (the ``ml`` extra).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import ConfigError
from ..validation import _risk, _scorer
from ._calibrate import Candidate, RecordedMatrix, _decide

__all__ = ["FrontierPoint", "P_GRID", "RiskSelection", "select"]

# Logprob thresholds, most conservative first; p = 1.0 exactly (logprob 0) is a step of its own: many
# short answers of some providers sit exactly there (735 of 1,000 gpt-4o-mini answers on TriviaQA).
P_GRID = (
    1.0,
    1 - 1e-6,
    1 - 1e-5,
    1 - 1e-4,
    1 - 1e-3,
    0.995,
    0.99,
    0.98,
    0.97,
    0.95,
    0.93,
    0.9,
    0.85,
    0.8,
    0.75,
    0.7,
    0.6,
    0.5,
    0.4,
    0.3,
    0.2,
    0.1,
    0.0,
)
FIT_FRACTION = 0.35
LOSSES = ("one_sided", "signed")
_MIN_PART = 20  # the scorer needs this many queries in each part to mean anything


@dataclass(frozen=True)
class _Outcome:
    accepted: np.ndarray
    draft_correct: np.ndarray
    verifier_correct: np.ndarray
    match: np.ndarray  # the accepted draft's extracted answer equals the verifier's
    cost: np.ndarray
    verifier_cost: np.ndarray

    @property
    def final_correct(self) -> np.ndarray:
        return np.where(self.accepted, self.draft_correct, self.verifier_correct)


def _outcome(mx: RecordedMatrix, c: Candidate, rows: Sequence[int]) -> _Outcome:
    """Per query of ``rows``: what ``c`` accepts (mirrors the engine's validators) and what it costs."""
    v = c.verifier
    acc, dok, vok, match, cost, vcost = [], [], [], [], [], []
    for i in rows:
        j = _decide(mx, c, i)
        d = c.drafters[j] if j is not None else v
        acc.append(j is not None)
        dok.append(mx.correct[d][i])
        vok.append(mx.correct[v][i])
        key = mx.key[d][i]
        match.append(key is not None and key == mx.key[v][i])
        spent = sum(mx.cost[m][i] for m in c.drafters)
        cost.append(spent + (0.0 if j is not None else mx.cost[v][i]))
        vcost.append(mx.cost[v][i])
    return _Outcome(
        *(np.array(x, dtype=bool) for x in (acc, dok, vok, match)), np.array(cost), np.array(vcost)
    )


def _loss(o: _Outcome, loss: str, labelled: bool) -> np.ndarray:
    if not labelled:
        return (o.accepted & ~o.match).astype(float)
    if loss == "signed":
        return (_risk.signed_difference(o.accepted, o.draft_correct, o.verifier_correct) + 1.0) / 2.0
    return _risk.one_sided_loss(o.accepted, o.draft_correct, o.verifier_correct)


def _candidate(
    mx: RecordedMatrix, c: Candidate, rows: Sequence[int], loss: str, labelled: bool
) -> _risk.Candidate:
    o = _outcome(mx, c, rows)
    diff = o.final_correct.astype(float) - o.verifier_correct.astype(float) if labelled else None
    ratio = float(o.cost.sum() / o.verifier_cost.sum()) if o.verifier_cost.sum() > 0 else 1.0
    return _risk.Candidate(c.label, _loss(o, loss, labelled), ratio, diff, {"candidate": c})


def plain_paths(
    mx: RecordedMatrix, verifier: str, pool: Sequence[str], max_drafters: int, require: Sequence[str] = ()
) -> list[list[Candidate]]:
    """The monotone families tested: a logprob threshold path per drafter with logprobs (p = 1.0 first),
    the rule checks alone for one without, and agreement of 2 (or 3) drafters without logprobs."""
    paths: list[list[Candidate]] = []
    for m in pool:
        if mx.has_logprobs(m):
            paths.append([Candidate((m,), verifier, "logprob", p) for p in P_GRID])
        else:
            paths.append([Candidate((m,), verifier, "accept")])
    bare = [m for m in pool if not mx.has_logprobs(m)]
    for k in range(2, max_drafters + 1):
        paths += [[Candidate(ds, verifier, "agreement")] for ds in itertools.combinations(bare, k)]
    return [p for p in paths if set(require) <= set(p[0].drafters)]


@dataclass(frozen=True)
class FrontierPoint:
    """The cheapest certified configuration at one target (``target`` and Δ in points, cost a fraction)."""

    target: float
    label: str
    cost: float
    loss_rate: float
    loss_ucb: float
    delta_hat: float | None
    delta_ci: tuple[float, float] | None
    source: str  # "plain", "scorer" or "verifier"

    def to_dict(self) -> dict[str, Any]:
        return {
            "target_points": self.target,
            "config": self.label,
            "cost_ratio": self.cost,
            "loss_rate": self.loss_rate,
            "loss_upper_bound": self.loss_ucb,
            "delta_points": self.delta_hat,
            "delta_interval_points": None if self.delta_ci is None else list(self.delta_ci),
            "source": self.source,
        }


@dataclass(frozen=True)
class RiskSelection:
    """What ``select`` certified: the chosen configuration, the frontier and the data plan.

    Attributes:
        chosen: the configuration to run (the verifier alone when nothing cheaper is certified).
        certified: whether ``chosen`` is certified at ``target`` (False: verifier alone).
        source: ``"plain"``, ``"scorer"`` or ``"verifier"``.
        plain / scorer: the two certificates (each at ``delta / 2``; ``scorer`` None when not run).
        frontier: per frontier target, the cheaper certified point of the two.
        target / delta / loss / labelled / n: the request and the sample size.
        note: why the chosen configuration was set aside (e.g. below the minimum savings), or "".
    """

    chosen: Candidate
    certified: bool
    source: str
    plain: _risk.Certificate
    scorer: _risk.Certificate | None
    frontier: tuple[FrontierPoint, ...]
    target: float
    delta: float
    loss: str
    labelled: bool
    n: int
    note: str = ""
    n_candidates: int = 0

    def more_data(self) -> list[dict[str, Any]]:
        """Cheaper configurations not certified at the target and the examples that would certify them."""
        return [
            {
                "config": m.label,
                "cost_ratio": m.cost,
                "loss_rate": m.loss_rate,
                "n": m.n,
                "n_needed": m.n_needed,
                "more": m.more,
            }
            for m in self.plain.more_data[:5]
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "certified": self.certified,
            "chosen": self.chosen.label,
            "source": self.source,
            "target_points": self.target,
            "delta": self.delta,
            "confidence": 1 - self.delta,
            "loss": self.loss if self.labelled else "label_free",
            "n": self.n,
            "frontier": [p.to_dict() for p in self.frontier],
            "more_data": self.more_data(),
            "note": self.note,
        }

    def summary(self) -> str:
        """Plain-language certificate, frontier and data plan."""
        conf = 100 * (1 - self.delta)
        kind = {"one_sided": "one-sided loss", "signed": "signed difference"}[self.loss]
        kind = kind if self.labelled else "label-free loss (answer differs from the verifier's)"
        lines = [
            f"risk control: {kind}, {conf:g}% confidence, n={self.n}; plain Learn-then-Test and the "
            f"learned scorer each at delta/2, the cheaper certificate kept; {self.n_candidates} candidates "
            f"searched on {self.plain.n_paths + (self.scorer is not None)} paths"
        ]
        if self.certified:
            lines.append(f"CERTIFIED at {self.target:g} points: {self.chosen.label} ({self.source})")
        else:
            lines.append(
                f"NOT certified: nothing cheaper than the verifier is certified to lose at most "
                f"{self.target:g} points at {conf:g}% confidence on these {self.n} examples; keeping "
                f"the verifier alone{': ' + self.note if self.note else ''}"
            )
        lines.append("certified frontier (target -> cheapest certified, cost, estimated Δ [interval]):")
        for p in self.frontier:
            d = "" if p.delta_hat is None else f", Δ {p.delta_hat:+.1f}"
            d += "" if p.delta_ci is None else f" [{p.delta_ci[0]:+.1f}, {p.delta_ci[1]:+.1f}]"
            lines.append(f"  {p.target:g} pts -> {p.label}, cost {100 * p.cost:.1f}%{d}")
        for m in self.more_data()[:3]:
            need = (
                "never at its observed loss rate"
                if m["n_needed"] is None
                else f"{m['n_needed']} labelled or audited examples (+{m['more']})"
            )
            lines.append(
                f"  to certify {m['config']} (cost {100 * m['cost_ratio']:.1f}%, loss "
                f"{100 * m['loss_rate']:.1f}%) at {self.target:g} points: {need}"
            )
        return "\n".join(lines)


def _bounds(loss: str, targets: Sequence[float]) -> tuple[str, list[float]]:
    """The bound method and the loss-scale targets (fractions) for targets in points."""
    if loss == "signed":
        return "hb", [(t / 100 + 1.0) / 2.0 for t in targets]
    return "cp", [t / 100 for t in targets]


def _certify_paths(
    paths: Sequence[Sequence[_risk.Candidate]],
    names: Sequence[str],
    target: float,
    delta: float,
    frontier: Sequence[float],
    loss: str,
) -> _risk.Certificate:
    method, (t, *fr) = _bounds(loss, [target, *frontier])
    rpaths = [_risk.Path(n, tuple(p)) for n, p in zip(names, paths, strict=True)]
    return _risk.certify(rpaths, target=t, delta=delta, frontier_targets=fr, method=method, n_boot=1000)


def _signals(mx: RecordedMatrix, tier: Sequence[str], rows: Sequence[int]) -> _scorer.Signals:
    first = tier[0]
    keys = [mx.key[first][i] for i in rows]
    agree = [
        sum(1 for o in tier[1:] if k is not None and mx.key[o][i] == k)
        for k, i in zip(keys, rows, strict=True)
    ]
    lp = [np.nan if (x := mx.logprob[first][i]) is None else x for i in rows]
    return _scorer.Signals(
        np.array(lp, dtype=float),
        np.array(agree, dtype=float),
        np.array([mx.rules_ok[first][i] for i in rows], dtype=float),
        np.array([k is not None for k in keys], dtype=float),
        np.array([mx.length[first][i] for i in rows], dtype=float),
    )


def _tier_labels(mx: RecordedMatrix, tier: Sequence[str], verifier: str, rows: Sequence[int], labelled: bool):
    """Training label (1 = fine to accept the first draft) and where accepting it would be a loss."""
    first = tier[0]
    d = np.array([mx.correct[first][i] for i in rows], dtype=bool)
    v = np.array([mx.correct[verifier][i] for i in rows], dtype=bool)
    if labelled:
        return d.astype(float), ~d & v
    same = np.array([(k := mx.key[first][i]) is not None and k == mx.key[verifier][i] for i in rows])
    return same.astype(float), ~same


def _projected_cost(
    scores: np.ndarray,
    lossable: np.ndarray,
    tier_cost: np.ndarray,
    vcost: np.ndarray,
    n_cert: int,
    t: float,
    delta: float,
) -> float:
    """Cheapest cost the target would certify on ``n_cert`` examples at these fit-part loss rates."""
    best = 1.0
    for th in _scorer.threshold_path(scores):
        acc = scores >= th
        k = min(n_cert, math.ceil(float((acc & lossable).mean()) * n_cert - 1e-9))
        if _risk.clopper_pearson_upper(k, n_cert, delta) > t:
            break
        best = min(best, float((tier_cost + np.where(acc, 0.0, vcost)).sum() / vcost.sum()))
    return best


def _choose_tier(mx, verifier, tiers, fit, n_cert, target, delta, labelled):
    best, tier_best = 1.0, None
    for tier in tiers:
        y, lossable = _tier_labels(mx, tier, verifier, fit, labelled)
        if y.min() == y.max():
            continue  # nothing to learn from one class
        cv = _scorer.cross_fit_scores(_signals(mx, tier, fit), y, folds=5, seed=0)
        tier_cost = np.array([sum(mx.cost[m][i] for m in tier) for i in fit])
        vcost = np.array([mx.cost[verifier][i] for i in fit])
        c = _projected_cost(cv, lossable, tier_cost, vcost, n_cert, target / 100, delta)
        if c < best:
            best, tier_best = c, tuple(tier)
    return tier_best


def scorer_certificate(
    mx: RecordedMatrix,
    verifier: str,
    pool: Sequence[str],
    rows: Sequence[int],
    args: dict[str, Any],
) -> _risk.Certificate | None:
    """Fit and select on 35% of ``rows``, certify one scorer threshold path on the other 65%."""
    rng = np.random.default_rng(args["seed"])
    order = [rows[i] for i in rng.permutation(len(rows))]
    n_fit = int(round(FIT_FRACTION * len(order)))
    fit, cert = order[:n_fit], order[n_fit:]
    if len(fit) < _MIN_PART or len(cert) < _MIN_PART or not pool:
        return None
    tiers = [(m,) for m in pool]
    if args["max_drafters"] >= 2:
        tiers += list(itertools.combinations(pool, 2))  # pool is cheapest first: the cheaper one answers
    tiers = [t for t in tiers if set(args["require"]) <= set(t)]
    tier = _choose_tier(mx, verifier, tiers, fit, len(cert), args["target"], args["delta"], args["labelled"])
    if tier is None:
        return None
    sig = _signals(mx, tier, fit)
    model = _scorer.fit_scorer(sig, _tier_labels(mx, tier, verifier, fit, args["labelled"])[0])
    scorer = model.to_dict()
    path = [
        Candidate(tier, verifier, "scorer", th, gate=False, scorer=scorer)
        for th in _scorer.threshold_path(model.score(sig))
    ]
    cands = [_candidate(mx, c, cert, args["loss"], args["labelled"]) for c in path]
    name = " + ".join(tier) + " (scorer)"
    return _certify_paths([cands], [name], args["target"], args["delta"], args["frontier"], args["loss"])


def _point(p: _risk.CertifiedPoint, target: float, source: str, loss: str) -> FrontierPoint:
    if p.candidate is None:
        return FrontierPoint(target, "verifier alone", 1.0, 0.0, 0.0, 0.0, (0.0, 0.0), "verifier")
    scale = 2.0 if loss == "signed" else 1.0  # signed: the bound is on (d + 1) / 2
    rate, ucb = (p.loss_rate * scale - (scale - 1), p.loss_ucb * scale - (scale - 1))
    d = None if p.delta_hat is None else 100 * p.delta_hat
    ci = None if p.delta_ci is None else (100 * p.delta_ci[0], 100 * p.delta_ci[1])
    return FrontierPoint(target, p.label, p.cost, rate, ucb, d, ci, source)


def _best(a: _risk.CertifiedPoint, b: _risk.CertifiedPoint | None, target: float, loss: str) -> FrontierPoint:
    if b is not None and b.candidate is not None and (a.candidate is None or b.cost < a.cost):
        return _point(b, target, "scorer", loss)
    return _point(a, target, "plain", loss)


def select(
    mx: RecordedMatrix,
    verifier: str,
    pool: Sequence[str],
    rows: Sequence[int],
    *,
    target: float,
    delta: float = 0.1,
    loss: str = "one_sided",
    labelled: bool = True,
    max_drafters: int = 2,
    require: Sequence[str] = (),
    use_scorer: bool = True,
    min_savings: float = 0.0,
    frontier: Sequence[float] = (0.5, 1.0, 2.0, 3.0),
    seed: int = 0,
) -> RiskSelection:
    """Certify the cheapest configuration losing at most ``target`` points at confidence ``1 - delta``.

    Args:
        mx: recorded facts of the calibration queries.
        verifier: the strong model.
        pool: candidate drafters, cheapest first.
        rows: the calibration queries (indices of ``mx``).
        target: allowed loss in points (one-sided loss rate, or signed quality drop).
        delta: miscoverage (0.1: 90% confidence); each procedure spends ``delta / 2``.
        loss: ``"one_sided"`` (default) or ``"signed"``; ignored without labels.
        labelled: False: the label-free loss (needs only the verifier's answers).
        max_drafters: agreement tiers of up to this many drafters (drafters without logprobs).
        require: drafters every configuration must use.
        use_scorer: also run the learned-scorer procedure.
        min_savings: a configuration saving less than this fraction of the verifier's cost is not kept.
        frontier: further targets (points) to report.
        seed: seed of the scorer's fit/certify split.
    """
    if loss not in LOSSES:
        raise ConfigError("loss", f"unknown loss {loss!r}", f"use one of {list(LOSSES)}")
    loss = loss if labelled else "one_sided"
    paths = plain_paths(mx, verifier, pool, max_drafters, require)
    if not paths:
        paths = [[Candidate((), verifier, "verifier", gate=False)]]
    half = delta / 2 if use_scorer else delta
    cands = [[_candidate(mx, c, rows, loss, labelled) for c in p] for p in paths]
    names = [" + ".join(p[0].drafters) or "verifier" for p in paths]
    plain = _certify_paths(cands, names, target, half, frontier, loss)
    args = dict(seed=seed, max_drafters=max_drafters, require=require, target=target, delta=half)
    args.update(labelled=labelled, loss=loss, frontier=frontier)
    scored = scorer_certificate(mx, verifier, pool, rows, args) if use_scorer else None
    chosen_pt = _best(plain.chosen, scored.chosen if scored else None, target, loss)
    front = tuple(
        _best(a, scored.frontier[i] if scored else None, t, loss)
        for i, (a, t) in enumerate(zip(plain.frontier, frontier, strict=True))
    )
    source, note = chosen_pt.source, ""
    winner = plain if source != "scorer" else scored
    chosen = winner.chosen.candidate.config["candidate"] if winner and winner.chosen.candidate else None
    if chosen is not None and chosen_pt.cost > 1.0 - min_savings:
        note = f"the certified {chosen.label} saves {100 * (1 - chosen_pt.cost):.1f}%, below the minimum"
        chosen, source = None, "verifier"
    if chosen is None:
        chosen, source = Candidate((), verifier, "verifier", gate=False), "verifier"
    n_cands = sum(map(len, cands))  # plain candidates; the scorer adds its one threshold path
    return RiskSelection(
        chosen,
        source != "verifier",
        source,
        plain,
        scored,
        front,
        target,
        delta,
        loss,
        labelled,
        len(rows),
        note,
        n_cands,
    )
