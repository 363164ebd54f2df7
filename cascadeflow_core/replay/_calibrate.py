"""Calibration: choose the validator settings that reach a target quality at the lowest cost.

Given a labelled replay set and a verifier, the search covers which drafters run in the first tier (one
to three of the cheaper models), and how their drafts are judged: agreement of two drafters, one
confident draft (logprob threshold), agreement OR a confident draft, agreement AND a confident draft,
each optionally behind the rule checks. Candidates are scored by a fast evaluator over the recorded data
that mirrors the engine's validators exactly (the same answer extraction, the same draft choice); the
chosen configuration is then re-run through the real engine (``run_benchmark``) and reported from that
run, on the fit split and on the held-out split (and any further set), so overfitting shows.

Example:
    >>> from cascadeflow_core import ReplaySet, calibrate
    >>> rs = ReplaySet.load(ReplaySet.sample_path())
    >>> cal = calibrate(rs, verifier="gpt-4o-2024-08-06", target_drop=0.5, progress=False)
    >>> cal.chosen.cost_ratio <= 1.0
    True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._errors import ConfigError
from .._types import Draft, Request, Tier
from ..validation._scored import ScorerValidator, feature_row, logistic_score
from ..validation._validators import AgreementValidator, AllOf, AnyOf, LogprobValidator, RuleValidator
from ._provider import ReplaySet

__all__ = ["Calibration", "Candidate", "Evaluated", "RecordedMatrix", "calibrate", "candidates", "evaluate"]

RULES = ("agreement", "logprob", "agreement_or_logprob", "agreement_and_logprob", "accept")
_GRID = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999)


@dataclass(frozen=True)
class Candidate:
    """One configuration: drafters in the first tier, how they are judged, then the verifier.

    ``rule``: ``agreement`` (2+ drafters give the same final answer), ``logprob`` (one draft with
    p >= ``threshold``), ``agreement_or_logprob``, ``agreement_and_logprob``, ``accept`` (a single drafter
    whose answer passes the rule checks), or ``verifier`` (no drafters). ``gate``: the rule checks
    (empty, truncated, refusal, hedging) must pass first.
    """

    drafters: tuple[str, ...]
    verifier: str
    rule: str
    threshold: float | None = None
    gate: bool = True
    scorer: Mapping[str, Any] | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def label(self) -> str:
        if self.rule == "verifier":
            return f"{self.verifier} alone"
        if self.rule == "scorer":
            return f"[{' + '.join(self.drafters)}] learned score>={self.threshold:.4g} -> {self.verifier}"
        t = f" p>={self.threshold:g}" if self.threshold is not None else ""
        return (
            f"[{' + '.join(self.drafters)}] {self.rule}{t}{' +rules' if self.gate else ''} -> {self.verifier}"
        )

    def validator(self) -> Any:
        """The engine validator of the drafter tier."""
        core: Any
        if self.rule == "scorer":
            return ScorerValidator(self.scorer or {}, self.threshold if self.threshold is not None else 1.0)
        lp = LogprobValidator(self.threshold if self.threshold is not None else 1.0)
        if self.rule == "agreement":
            core = AgreementValidator()
        elif self.rule == "logprob":
            core = lp
        elif self.rule == "agreement_or_logprob":
            core = AnyOf(AgreementValidator(), lp)
        elif self.rule == "agreement_and_logprob":
            core = AllOf(AgreementValidator(), lp)
        else:
            return RuleValidator() if self.gate else RuleValidator(("empty", "truncated"))
        return AllOf(RuleValidator(), core) if self.gate else core

    def tiers(self, rs: ReplaySet) -> list[Tier]:
        """The cascade's tiers, served by ``rs``."""
        verifier = Tier([rs.spec(self.verifier)], name="verifier")
        if self.rule == "verifier":
            return [verifier]
        return [Tier([rs.spec(m) for m in self.drafters], self.validator(), name="drafters"), verifier]

    def to_config(self, prefix: str = "replay/") -> dict[str, Any]:
        """The configuration as a plain mapping (``Cascade.from_config`` / YAML)."""
        verifier = {"name": "verifier", "models": [prefix + self.verifier]}
        if self.rule == "verifier":
            return {"tiers": [verifier]}
        if self.rule == "scorer":
            scored = {"type": "scorer", "threshold": self.threshold, "model": dict(self.scorer or {})}
            tier = {"name": "drafters", "models": [prefix + m for m in self.drafters], "validator": scored}
            return {"tiers": [tier, verifier]}
        agree: dict[str, Any] = {"type": "agreement"}
        lp: dict[str, Any] = {"type": "logprob", "threshold": self.threshold}
        core: Any = {
            "agreement": agree,
            "logprob": lp,
            "agreement_or_logprob": {"any": [agree, lp]},
            "agreement_and_logprob": {"all": [agree, lp]},
            "accept": {"type": "rules", "checks": ["empty", "truncated"]},
        }[self.rule]
        validator = {"all": [{"type": "rules"}, core]} if self.gate else core
        if self.rule == "accept":
            validator = {"type": "rules"} if self.gate else core
        drafters = {"name": "drafters", "models": [prefix + m for m in self.drafters], "validator": validator}
        return {"tiers": [drafters, verifier]}


@dataclass(frozen=True)
class Evaluated:
    """A candidate's quality and cost on a set, from the fast evaluator."""

    candidate: Candidate
    quality: float
    cost: float
    verifier_quality: float
    verifier_cost: float
    escalation_rate: float
    wins: int = 0
    losses: int = 0
    n: int = 0

    @property
    def cost_ratio(self) -> float:
        return self.cost / self.verifier_cost if self.verifier_cost > 0 else float("nan")

    def lower_delta(self, z: float) -> float:
        """Quality minus the verifier's, less ``z`` standard errors of the paired difference.

        Only the queries where the two disagree (``wins`` + ``losses``) carry uncertainty, so a candidate
        that differs from the verifier on few queries is trusted more than one that differs on many.
        The verifier itself is exact (0).
        """
        if self.candidate.rule == "verifier":
            return 0.0
        n = max(self.n, 1)
        # +1: no disagreement on a small fit split is weak evidence, not proof of equal quality.
        return (self.wins - self.losses) / n - z * math.sqrt(self.wins + self.losses + 1) / n


class RecordedMatrix:
    """Per-query recorded facts the validators look at, precomputed once per (set, models).

    ``correct``, ``cost``, ``conf`` (exp(logprob) or None), ``key`` (the extracted final answer, as the
    ``AgreementValidator`` computes it) and ``rules_ok`` (the draft passes ``RuleValidator()``).
    """

    def __init__(self, rs: ReplaySet, models: Sequence[str], ids: Sequence[str] | None = None) -> None:
        self.models = tuple(models)
        self.ids = tuple(rs.covered(self.models) if ids is None else ids)
        agree, rules = AgreementValidator(), RuleValidator()
        request = Request([{"role": "user", "content": "replay"}])
        self.correct: dict[str, list[bool]] = {}
        self.cost: dict[str, list[float]] = {}
        self.conf: dict[str, list[float | None]] = {}
        self.key: dict[str, list[str | None]] = {}
        self.rules_ok: dict[str, list[bool]] = {}
        self.nonempty: dict[str, list[bool]] = {}
        self.logprob: dict[str, list[float | None]] = {}
        self.length: dict[str, list[int]] = {}
        for m in self.models:
            recs = [rs.answer(m, q) for q in self.ids]
            self.correct[m] = [r.correct for r in recs]
            self.cost[m] = [r.cost for r in recs]
            self.conf[m] = [None if r.logprob is None else math.exp(min(r.logprob, 0.0)) for r in recs]
            drafts = [Draft(m, r.text, finish_reason="stop") for r in recs]
            self.key[m] = [agree.key(d) for d in drafts]
            self.rules_ok[m] = [not rules.problems(d, request) for d in drafts]
            self.nonempty[m] = [bool(d.text.strip()) for d in drafts]
            self.logprob[m] = [r.logprob for r in recs]
            self.length[m] = [len(r.text) for r in recs]

    def has_logprobs(self, model: str) -> bool:
        return any(c is not None for c in self.conf[model])


def _agreement(mx: RecordedMatrix, ds: Sequence[str], i: int) -> int | None:
    """Index of the draft AgreementValidator(min_agree=2) returns when it accepts, else None."""
    groups: dict[str, list[int]] = {}
    for j, m in enumerate(ds):
        k = mx.key[m][i]
        if k is not None:
            groups.setdefault(k, []).append(j)
    if not groups:
        return None
    _, members = max(groups.items(), key=lambda kv: (len(kv[1]), -kv[1][0]))
    return members[0] if len(members) >= 2 else None


def _confident(mx: RecordedMatrix, ds: Sequence[str], i: int, threshold: float) -> int | None:
    scored = [(c, j) for j, m in enumerate(ds) if (c := mx.conf[m][i]) is not None]
    if not scored:
        return None
    conf, j = max(scored)
    return j if conf >= threshold else None


def scored(mx: RecordedMatrix, c: Candidate, i: int) -> float:
    """The learned acceptance score of query ``i``'s first draft, as ``ScorerValidator`` computes it."""
    m = c.scorer or {}
    first, key = c.drafters[0], mx.key[c.drafters[0]][i]
    n_agree = sum(1 for o in c.drafters[1:] if key is not None and mx.key[o][i] == key)
    row = feature_row(
        m["features"],
        m["levels"],
        mx.logprob[first][i],
        n_agree,
        mx.rules_ok[first][i],
        key is not None,
        mx.length[first][i],
    )
    return logistic_score(m, row)


def _decide(mx: RecordedMatrix, c: Candidate, i: int) -> int | None:
    """Index of the accepted draft for query ``i`` (mirrors the engine's validators), else None."""
    ds = c.drafters
    if c.rule == "scorer":
        return 0 if scored(mx, c, i) >= (c.threshold if c.threshold is not None else 1.0) else None
    if c.gate and not any(mx.rules_ok[m][i] for m in ds):
        return None
    if c.rule == "accept":  # a RuleValidator alone: the first draft that passes its checks
        ok = mx.rules_ok if c.gate else mx.nonempty
        return next((j for j, m in enumerate(ds) if ok[m][i]), None)
    t = c.threshold if c.threshold is not None else 1.0
    if c.rule == "agreement":
        return _agreement(mx, ds, i)
    if c.rule == "logprob":
        return _confident(mx, ds, i, t)
    a = _agreement(mx, ds, i)
    if c.rule == "agreement_or_logprob":
        return a if a is not None else _confident(mx, ds, i, t)
    return _confident(mx, ds, i, t) if a is not None else None  # AND: AllOf returns the last acceptor's pick


def evaluate(mx: RecordedMatrix, c: Candidate, rows: Sequence[int] | None = None) -> Evaluated:
    """Quality and cost of ``c`` on the queries ``rows`` of ``mx`` (all by default), without the engine."""
    rows = range(len(mx.ids)) if rows is None else rows
    v = c.verifier
    ok = cost = esc = vcost = vok = 0.0
    wins = losses = 0
    for i in rows:
        vcost += mx.cost[v][i]
        v_ok = mx.correct[v][i]
        vok += v_ok
        if c.rule == "verifier":
            ok += v_ok
            cost += mx.cost[v][i]
            continue
        cost += sum(mx.cost[m][i] for m in c.drafters)
        j = _decide(mx, c, i)
        if j is None:
            esc += 1
            cost += mx.cost[v][i]
            ok += v_ok
            continue
        right = mx.correct[c.drafters[j]][i]
        ok += right
        wins += right and not v_ok
        losses += v_ok and not right
    n = max(len(rows), 1)
    return Evaluated(c, ok / n, cost, vok / n, vcost, esc / n, wins, losses, len(rows))


def candidates(
    mx: RecordedMatrix,
    verifier: str,
    pool: Sequence[str],
    max_drafters: int = 2,
    thresholds: Sequence[float] | None = None,
) -> list[Candidate]:
    """The search space: drafter subsets of ``pool`` x rules x thresholds x rule gate."""
    out = [Candidate((), verifier, "verifier", gate=False)]
    for k in range(1, max_drafters + 1):
        for ds in itertools.combinations(pool, k):
            lp = all(mx.has_logprobs(m) for m in ds)
            ts = _thresholds(mx, ds, thresholds) if lp else []
            for gate in (True, False):
                if k == 1:
                    out.append(Candidate(ds, verifier, "accept", gate=gate))
                    out += [Candidate(ds, verifier, "logprob", t, gate) for t in ts]
                    continue
                out.append(Candidate(ds, verifier, "agreement", gate=gate))
                for rule in ("logprob", "agreement_or_logprob", "agreement_and_logprob"):
                    out += [Candidate(ds, verifier, rule, t, gate) for t in ts]
    return out


def _thresholds(mx: RecordedMatrix, ds: Sequence[str], given: Sequence[float] | None) -> list[float]:
    if given is not None:
        return sorted(set(given))
    seen = sorted(c for m in ds for c in mx.conf[m] if c is not None)
    qs = {round(seen[int(p * (len(seen) - 1))], 4) for p in (i / 20 for i in range(1, 20))} if seen else set()
    return sorted({*_GRID, *(q for q in qs if 0.0 < q < 1.0)})


@dataclass(frozen=True)
class Calibration:
    """What ``calibrate`` chose, what it certified, and the engine's reports on the fit and held-out parts.

    Attributes:
        chosen: the chosen candidate on the fit part (fast evaluator).
        target_quality: verifier quality on the fit part less the target drop.
        target_drop / safety: the request (``safety`` is used by ``method="point"`` only).
        fit_report / heldout_report: ``BenchReport`` of the chosen configuration run through the engine.
        evaluated: candidates evaluated on the fit part.
        heldout_estimate: the fast evaluator's figures on the held-out part (must equal the engine's).
        extra_reports: reports on further sets (``also=``).
        selection: the risk-controlled certificate, frontier and data plan (``method="risk"``).
        method / split / seed / data: how it was fitted (provenance).
    """

    chosen: Evaluated
    target_quality: float
    target_drop: float
    safety: float
    fit_report: Any
    heldout_report: Any | None
    evaluated: tuple[Evaluated, ...] = field(repr=False)
    heldout_estimate: Evaluated | None = None
    extra_reports: tuple[Any, ...] = ()
    selection: Any | None = None
    method: str = "risk"
    split: float | None = None
    seed: int = 0
    data: str = ""

    @property
    def candidate(self) -> Candidate:
        return self.chosen.candidate

    @property
    def certified(self) -> bool | None:
        """Whether the chosen configuration is certified at the target (None for ``method="point"``)."""
        return None if self.selection is None else bool(self.selection.certified)

    @property
    def heldout_target_met(self) -> bool | None:
        """Whether the held-out Δ stayed within the target drop (None without a held-out part)."""
        r = self.heldout_report
        return None if r is None else r.quality_delta_points >= -self.target_drop - 1e-9

    def to_config(self) -> dict[str, Any]:
        return self.candidate.to_config()

    def provenance(self) -> dict[str, Any]:
        """Where this calibration comes from and what it showed (saved as ``calibration:`` in the YAML)."""
        out: dict[str, Any] = {
            "data": self.data,
            "method": self.method,
            "split": self.split,
            "seed": self.seed,
            "n_fit": self.fit_report.n,
            "n_heldout": None if self.heldout_report is None else self.heldout_report.n,
            "verifier": self.candidate.verifier,
            "target_drop_points": self.target_drop,
            "chosen": self.candidate.label,
            "certified": self.certified,
            "fit": _figures(self.fit_report),
            "heldout": None if self.heldout_report is None else _figures(self.heldout_report),
            "heldout_target_met": self.heldout_target_met,
        }
        if self.selection is not None:
            sel = self.selection.to_dict()
            out.update(delta=sel["delta"], loss=sel["loss"], frontier=sel["frontier"])
            out.update(more_data=sel["more_data"], source=sel["source"], note=sel["note"])
        else:
            out["safety"] = self.safety
        return out

    def to_saved_config(self) -> dict[str, Any]:
        """The configuration with its provenance, as written by ``cascadeflow bench --calibrate --save``."""
        return {**self.to_config(), "calibration": self.provenance()}

    def summary(self) -> str:
        c = self.chosen
        if self.selection is not None:
            lines = [self.selection.summary(), f"calibrated: {c.candidate.label}"]
        else:
            lines = [
                f"calibrated: {c.candidate.label}",
                f"  target: quality >= verifier - {self.target_drop:g} points = {self.target_quality:.3f} "
                f"on the fit split, with a margin of {self.safety:g} standard errors; "
                f"{len(self.evaluated)} candidates searched (point estimate: not a certificate)",
            ]
        for label, r in (
            ("fit", self.fit_report),
            ("held-out", self.heldout_report),
            *((f"also {x.set_name}", x) for x in self.extra_reports),
        ):
            if r is None:
                continue
            lines.append(
                f"  {label:<10} n={r.n:<5} quality {r.quality:.3f} (verifier {r.verifier_quality:.3f}, "
                f"{r.quality_delta_points:+.1f} pts)  cost {100 * r.cost_ratio:.1f}% of the verifier  "
                f"oracle {r.oracle.quality:.3f} at {100 * r.oracle.cost / r.verifier_cost:.1f}%"
            )
        met = self.heldout_target_met
        if met is not None:
            verdict = "met" if met else "NOT met"
            lines.append(f"  target ({self.target_drop:g} points) {verdict} on the held-out part")
        return "\n".join(lines)


def _figures(r: Any) -> dict[str, Any]:
    ci = r.intervals()
    return {
        "n": r.n,
        "quality": r.quality,
        "verifier_quality": r.verifier_quality,
        "delta_points": r.quality_delta_points,
        "cost_ratio": r.cost_ratio,
        "savings": r.savings,
        "intervals": ci,
    }


def _pool(mx: RecordedMatrix, verifier: str, pool: Sequence[str] | None) -> list[str]:
    """Allowed drafters, cheapest first (default: every model cheaper than the verifier)."""
    total = {m: sum(mx.cost[m]) for m in mx.models}
    if pool is not None:
        return sorted((m for m in pool if m != verifier), key=lambda m: total[m])
    return sorted(
        (m for m in mx.models if m != verifier and total[m] < total[verifier]), key=lambda m: total[m]
    )


def best_verifier(rs: ReplaySet, ids: Sequence[str] | None = None) -> str:
    """The most accurate model of the set on ``ids`` (ties: the cheaper), the default verifier."""
    mx = RecordedMatrix(rs, rs.models, rs.ids if ids is None else ids)
    rows = range(len(mx.ids))
    return min(mx.models, key=lambda m: (-sum(mx.correct[m][i] for i in rows), sum(mx.cost[m])))


def choose(evaluated: Sequence[Evaluated], target_drop: float, z: float = 1.0) -> Evaluated:
    """Cheapest candidate whose quality, less ``z`` standard errors of its paired difference with the
    verifier, stays within ``target_drop`` points of the verifier (ties: higher quality).

    This is the point-estimate choice of ``method="point"``: it holds on the fit data and is not a
    certificate (held-out Δ fell below -0.5 on 15-40% of repeated splits of the Zellinger sets).
    """
    ok = [e for e in evaluated if e.lower_delta(z) >= -target_drop / 100.0 - 1e-12]
    if ok:
        return min(ok, key=lambda e: (e.cost, -e.quality, len(e.candidate.drafters)))
    return max(evaluated, key=lambda e: (e.lower_delta(z), -e.cost))


def _check_args(
    target_drop: float, max_drafters: int, method: str, delta: float, split: float | None
) -> None:
    if not isinstance(target_drop, (int, float)) or target_drop < 0:
        raise ConfigError("target_drop", f"must be >= 0 percentage points, got {target_drop!r}", "e.g. 0.5")
    if not 1 <= max_drafters <= 3:
        raise ConfigError("max_drafters", f"must be 1, 2 or 3, got {max_drafters!r}")
    if method not in ("risk", "point"):
        raise ConfigError("method", f"unknown method {method!r}", 'use "risk" (certified) or "point"')
    if not 0.0 < delta < 1.0:
        raise ConfigError("delta", f"must be in (0, 1), got {delta!r}", "e.g. 0.1 for 90% confidence")
    if split is not None and not 0.0 < split < 1.0:
        raise ConfigError("split", f"must be in (0, 1) or None, got {split!r}", "e.g. 0.5; None fits on all")


def calibrate(
    replay_set: ReplaySet,
    verifier: str,
    *,
    target_drop: float = 0.5,
    split: float | None = 0.5,
    pool: Sequence[str] | None = None,
    max_drafters: int = 2,
    thresholds: Sequence[float] | None = None,
    also: Sequence[ReplaySet] = (),
    seed: int = 0,
    safety: float = 1.0,
    require: Sequence[str] = (),
    progress: bool | None = None,
    method: str = "risk",
    delta: float = 0.1,
    loss: str = "one_sided",
    labels: bool = True,
    scorer: bool = True,
    min_savings: float = 0.0,
) -> Calibration:
    """Choose the drafters and validator that lose at most ``target_drop`` points at least cost.

    ``method="risk"`` (default) certifies the choice: see ``replay._certify`` (Learn-then-Test along each
    threshold path, Bonferroni over drafters, the learned scorer at ``delta / 2`` beside the plain paths
    at ``delta / 2``, the cheaper certificate kept). When nothing is certified the verifier alone is
    kept, and the summary shows the certified frontier and how many more examples would certify more.
    ``method="point"`` is the former point estimate with a margin of ``safety`` standard errors (it
    overfits: kept for comparison).

    Args:
        replay_set: recorded outputs (with correctness labels unless ``labels=False``).
        verifier: the strong model (its answer is returned when the drafters are not accepted).
        target_drop: allowed loss against the verifier alone, in percentage points.
        split: fraction used to fit (the rest reports); ``None`` fits and reports on the whole set.
        pool: models allowed as drafters (default: every model cheaper than the verifier).
        max_drafters: largest drafter tier searched (1-3); never reduced silently.
        thresholds: logprob thresholds of ``method="point"``.
        also: further sets to report the chosen configuration on.
        seed: seed of the split (and of the scorer's own split).
        safety: ``method="point"`` only: standard errors of margin.
        require: drafters every searched configuration must use.
        progress: progress bars of the engine runs.
        method: ``"risk"`` or ``"point"``.
        delta: miscoverage of the certificate (0.1: 90% confidence).
        loss: ``"one_sided"`` (default) or ``"signed"`` (wins offset losses; weaker under a shift).
        labels: False: label-free certificate (the accepted answer must match the verifier's).
        scorer: also fit and certify the learned acceptance scorer.
        min_savings: keep the verifier unless the certified configuration saves at least this fraction.
    """
    from ._bench import run_benchmark

    _check_args(target_drop, max_drafters, method, delta, split)
    fit, held = replay_set.split(split, seed) if split is not None else (replay_set, None)
    models = [verifier, *[m for m in (pool or replay_set.models) if m != verifier]]
    mx = RecordedMatrix(fit, models)
    drafters = _pool(mx, verifier, pool)
    if max_drafters == 3 and len(drafters) > 12:
        raise ConfigError(
            "max_drafters",
            f"3 drafters over a pool of {len(drafters)} models is too large a search",
            "pass --pool with at most 12 models, or --max-drafters 2",
        )
    sel = None
    if method == "risk":
        try:
            from ._certify import select
        except ImportError as e:  # NumPy is the ml extra
            raise ConfigError(
                "method",
                f"risk-controlled calibration needs NumPy ({e})",
                "pip install 'cascadeflow-core[ml]'",
            ) from e

        sel = select(
            mx, verifier, drafters, range(len(mx.ids)), target=target_drop, delta=delta, loss=loss,
            labelled=labels, max_drafters=max_drafters, require=require, use_scorer=scorer,
            min_savings=min_savings, seed=seed,
        )  # fmt: skip
        best = evaluate(mx, sel.chosen)
        evaluated: list[Evaluated] = [best]
    else:
        space = [
            c
            for c in candidates(mx, verifier, drafters, max_drafters, thresholds)
            if c.rule == "verifier" or set(require) <= set(c.drafters)
        ]
        evaluated = [evaluate(mx, c) for c in space]
        best = choose(evaluated, target_drop, safety)
    target = best.verifier_quality - target_drop / 100.0
    cascade_tiers = best.candidate.tiers(replay_set)
    fit_report = run_benchmark(cascade_tiers, fit, progress=progress)
    held_report = held_est = None
    if held is not None:
        held_report = run_benchmark(cascade_tiers, held, progress=progress)
        held_est = evaluate(RecordedMatrix(held, [verifier, *best.candidate.drafters]), best.candidate)
    extra = tuple(run_benchmark(best.candidate.tiers(x), x, progress=progress) for x in also)
    return Calibration(
        best, target, target_drop, safety, fit_report, held_report, tuple(evaluated), held_est, extra,
        sel, method, split, seed, replay_set.name,
    )  # fmt: skip
