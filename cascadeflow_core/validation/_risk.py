"""Risk control for calibration: finite-sample bounds on the cascade's loss, and Learn-then-Test.

What this module owns: the statistics that turn recorded outcomes into a *certificate*: "with
probability at least ``1 - delta`` over the calibration sample, the chosen configuration's loss rate on
new data of the same distribution is at most ``target``". It imports only the standard library and
NumPy; it knows nothing of the engine, replay sets or configuration files (the caller builds the loss
vectors).

Pieces:

- ``clopper_pearson_upper`` / ``clopper_pearson_lower``: exact binomial bounds. The beta quantile is
  found by bisection on the binomial CDF computed in log space with ``math.lgamma`` (no SciPy).
- ``hoeffding_bentkus_upper``: the Hoeffding-Bentkus bound of Bates et al. (RCPS, 2021), valid for any
  loss in [0, 1] (not only 0/1 losses).
- Losses per query: ``one_sided_loss`` (the cascade accepted a wrong draft where the verifier was
  right: the default, a drafter's wins cannot buy back its losses), ``signed_difference`` (verifier
  correct minus cascade correct, in {-1, 0, 1}: offered as an option; under distribution shift the wins
  that offset losses on the calibration data need not recur, so its certificate is weaker in practice)
  and ``label_free_loss`` (the accepted answer's extracted key differs from the verifier's; it bounds the
  one-sided loss from above whenever correctness is a function of the extracted answer).
- ``ltt_fixed_sequence``: Learn-then-Test fixed-sequence testing along one monotone path of
  configurations, most conservative first, stopping at the first one whose bound exceeds the target.
- ``certify``: Bonferroni over independent paths (drafters, validator families), the cheapest certified
  configuration at the requested target, the certified frontier at several targets, and, when a cheaper
  configuration is not certified, how many examples at its observed loss rate would certify it.

Units: targets and rates are fractions (0.02 = 2 points of quality); costs are fractions of the
verifier-alone cost.

Validity: each target's certificate holds at confidence ``1 - delta``. The frontier reports several
targets from one sample: each line is valid on its own; all lines hold together at ``1 - k * delta``
for ``k`` targets, or at ``1 - delta`` with ``simultaneous=True`` (which spends ``delta / k`` per
target).

Example:
    >>> import numpy as np
    >>> round(clopper_pearson_upper(0, 300, 0.1), 4)
    0.0076
    >>> path = [Candidate("strict", np.zeros(300), cost=0.6), Candidate("loose", np.r_[np.ones(30), np.zeros(270)], cost=0.3)]
    >>> certify([Path("d1", tuple(path))], target=0.02, delta=0.1).chosen.label
    'strict'
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._extract import extract_answer

__all__ = [
    "Candidate",
    "Certificate",
    "CertifiedPoint",
    "MoreData",
    "Path",
    "answer_keys",
    "binom_logcdf",
    "binom_logsf",
    "certify",
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "hoeffding_bentkus_upper",
    "label_free_loss",
    "ltt_fixed_sequence",
    "one_sided_loss",
    "samples_to_certify",
    "signed_difference",
    "upper_bound",
]

DEFAULT_DELTA = 0.1
FRONTIER_TARGETS = (0.005, 0.01, 0.02, 0.03)
_BISECT_STEPS = 80  # 2**-80: far below any rate that matters


# --- binomial tails in log space -------------------------------------------------------------------------


def _log_pmf_terms(n: int, p: float, lo: int, hi: int) -> np.ndarray:
    j = np.arange(lo, hi + 1, dtype=float)
    lchoose = math.lgamma(n + 1) - np.array([math.lgamma(x + 1) + math.lgamma(n - x + 1) for x in j])
    return lchoose + j * math.log(p) + (n - j) * math.log1p(-p)


def _logsumexp(a: np.ndarray) -> float:
    m = float(np.max(a))
    return m + math.log(float(np.sum(np.exp(a - m))))


def binom_logcdf(k: int, n: int, p: float) -> float:
    """log P(X <= k) for X ~ Binomial(n, p), exact, in log space.

    Args:
        k: the count (any integer; below 0 gives -inf, at least n gives 0).
        n: trials, >= 0.
        p: success probability in [0, 1].
    """
    if k < 0:
        return -math.inf
    if k >= n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return -math.inf
    return min(0.0, _logsumexp(_log_pmf_terms(n, p, 0, k)))


def binom_logsf(k: int, n: int, p: float) -> float:
    """log P(X >= k) for X ~ Binomial(n, p), summed directly (accurate when the tail is tiny)."""
    if k <= 0:
        return 0.0
    if k > n or p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return 0.0
    return min(0.0, _logsumexp(_log_pmf_terms(n, p, k, n)))


def _bisect(f: Callable[[float], bool], lo: float, hi: float) -> float:
    """Smallest x in [lo, hi] with f(x) true, f monotone (false ... true); hi when f is true only there."""
    for _ in range(_BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        if f(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _check(k: int, n: int, delta: float) -> None:
    if n < 0 or not 0 <= k <= max(n, 0):
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")


@functools.lru_cache(maxsize=65536)  # pure in (k, n, delta); selection and data plans ask the same ones often
def clopper_pearson_upper(k: int, n: int, delta: float = DEFAULT_DELTA) -> float:
    """Exact one-sided upper confidence bound on a binomial rate: P(rate <= bound) >= 1 - delta.

    The bound is the Beta(k + 1, n - k) quantile at ``1 - delta``, i.e. the p with
    P(Bin(n, p) <= k) = delta, found by bisection on the exact log-space CDF.

    Args:
        k: observed losses.
        n: examples (0 gives the trivial bound 1).
        delta: miscoverage, in (0, 1).
    """
    _check(k, n, delta)
    if n == 0 or k >= n:
        return 1.0
    log_delta = math.log(delta)
    return _bisect(lambda p: binom_logcdf(k, n, p) <= log_delta, k / n, 1.0)


def clopper_pearson_lower(k: int, n: int, delta: float = DEFAULT_DELTA) -> float:
    """Exact one-sided lower confidence bound: the p with P(Bin(n, p) >= k) = delta (0 when k = 0)."""
    _check(k, n, delta)
    if k == 0 or n == 0:
        return 0.0
    log_delta = math.log(delta)
    return _bisect(lambda p: binom_logsf(k, n, p) > log_delta, 0.0, k / n)


def _kl_bernoulli(a: float, b: float) -> float:
    """h1(a, b) of Bates et al.: the Bernoulli KL divergence KL(a || b), with 0 log 0 = 0."""
    out = 0.0
    if a > 0:
        out += a * math.log(a / b)
    if a < 1:
        out += (1 - a) * math.log((1 - a) / (1 - b))
    return out


def hoeffding_bentkus_upper(mean: float, n: int, delta: float = DEFAULT_DELTA) -> float:
    """Hoeffding-Bentkus upper confidence bound on the mean of a loss in [0, 1] (Bates et al. 2021).

    The p-value of H0: risk >= a is min(exp(-n h1(min(mean, a), a)), e * P(Bin(n, a) <= ceil(n mean)));
    the bound is the smallest ``a`` whose p-value is <= delta.

    Args:
        mean: empirical mean loss, in [0, 1].
        n: examples.
        delta: miscoverage.
    """
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")
    if n == 0 or mean >= 1.0:
        return 1.0
    log_delta = math.log(delta)
    k = math.ceil(n * mean - 1e-9)

    def rejected(a: float) -> bool:
        hoeff = -n * _kl_bernoulli(min(mean, a), a)
        bentkus = 1.0 + binom_logcdf(k, n, a)
        return min(hoeff, bentkus) <= log_delta

    return _bisect(rejected, mean, 1.0 - 1e-12)


def upper_bound(losses: np.ndarray, delta: float, method: str = "cp") -> float:
    """Upper confidence bound on the mean of ``losses`` (0/1 for ``"cp"``; [0, 1] for ``"hb"``)."""
    n = int(losses.size)
    if method == "cp":
        k = int(round(float(np.sum(losses))))
        return clopper_pearson_upper(k, n, delta)
    if method == "hb":
        return hoeffding_bentkus_upper(float(np.mean(losses)) if n else 0.0, n, delta)
    raise ValueError(f"unknown bound method {method!r}; use 'cp' or 'hb'")


def samples_to_certify(
    rate: float, target: float, delta: float, method: str = "cp", max_n: int = 10_000_000
) -> int | None:
    """Smallest n at which a loss rate of ``rate`` (losses ceil(rate * n)) gets a bound <= ``target``.

    Returns None when no n can certify (rate >= target, or beyond ``max_n``).
    """
    if rate >= target:
        return None

    def ok(n: int) -> bool:
        k = min(n, math.ceil(rate * n - 1e-9))
        ub = (
            clopper_pearson_upper(k, n, delta) if method == "cp" else hoeffding_bentkus_upper(k / n, n, delta)
        )
        return ub <= target

    hi = 8
    while not ok(hi):
        hi *= 2
        if hi > max_n:
            return None
    lo = hi // 2
    while hi - lo > 1:  # ceil() makes ok(n) step-wise, but it is monotone enough for a data plan
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


# --- losses per query ------------------------------------------------------------------------------------


def one_sided_loss(
    accepted: np.ndarray, draft_correct: np.ndarray, verifier_correct: np.ndarray
) -> np.ndarray:
    """1 where the cascade accepted a wrong draft and the verifier would have been right, else 0."""
    a, d, v = (np.asarray(x, dtype=bool) for x in (accepted, draft_correct, verifier_correct))
    return (a & ~d & v).astype(float)


def signed_difference(
    accepted: np.ndarray, draft_correct: np.ndarray, verifier_correct: np.ndarray
) -> np.ndarray:
    """Verifier correct minus cascade correct per query, in {-1, 0, 1} (positive = the cascade lost).

    Its mean is the quality drop; drafter wins offset losses, which need not hold on shifted data.
    """
    a, d, v = (np.asarray(x, dtype=bool) for x in (accepted, draft_correct, verifier_correct))
    final = np.where(a, d, v)
    return v.astype(float) - final.astype(float)


def label_free_loss(
    accepted: np.ndarray, draft_keys: Sequence[str | None], verifier_keys: Sequence[str | None]
) -> np.ndarray:
    """1 where an accepted draft's extracted answer differs from the verifier's (None never matches).

    Needs no labels, only the verifier's answers on the sample. When correctness depends only on the
    extracted answer, equal keys have equal correctness, so this loss is >= ``one_sided_loss`` per query.
    """
    a = np.asarray(accepted, dtype=bool)
    same = np.array(
        [dk is not None and dk == vk for dk, vk in zip(draft_keys, verifier_keys, strict=True)], dtype=bool
    )
    return (a & ~same).astype(float)


def answer_keys(texts: Sequence[str], kind: str = "auto") -> list[str | None]:
    """Extracted final answers, as the agreement validator compares them (``extract_answer``)."""
    return [extract_answer(t, kind) for t in texts]


# --- Learn-then-Test ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One configuration on the certification sample.

    Attributes:
        label: human-readable name.
        loss: per-query loss on the certification sample (0/1, or in [0, 1] with ``method="hb"``).
        cost: cost as a fraction of the verifier alone on the same sample.
        diff: per-query quality difference cascade minus verifier (for the Δ estimate), or None
            without labels.
        config: the configuration as plain data (for YAML).
    """

    label: str
    loss: np.ndarray = field(repr=False)
    cost: float
    diff: np.ndarray | None = field(default=None, repr=False)
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Path:
    """An ordered family of candidates, most conservative first (e.g. one drafter's threshold grid)."""

    name: str
    candidates: tuple[Candidate, ...]


def ltt_fixed_sequence(path: Sequence[Candidate], target: float, delta: float, method: str = "cp") -> int:
    """How many candidates of ``path`` fixed-sequence testing certifies (a prefix of the path).

    Tests H0: risk > target at level ``delta`` in order and stops at the first bound above ``target``;
    the family-wise error is at most ``delta`` without any correction along the path.
    """
    for i, c in enumerate(path):
        if upper_bound(c.loss, delta, method) > target:
            return i
    return len(path)


@dataclass(frozen=True)
class CertifiedPoint:
    """The cheapest certified configuration at one target.

    ``candidate`` None means nothing cheaper than the verifier alone is certified (cost 1, Δ 0).
    ``delta_hat`` / ``delta_ci``: estimated quality difference vs the verifier (fraction) and its
    bootstrap percentile interval at ``1 - delta`` (None without labels). ``loss_rate`` / ``loss_ucb``:
    observed loss and its bound.
    """

    target: float
    candidate: Candidate | None
    cost: float
    loss_rate: float
    loss_ucb: float
    delta_hat: float | None
    delta_ci: tuple[float, float] | None

    @property
    def label(self) -> str:
        return "verifier alone" if self.candidate is None else self.candidate.label


@dataclass(frozen=True)
class MoreData:
    """A cheaper configuration that is not certified, and the examples that would certify it."""

    label: str
    cost: float
    loss_rate: float
    n: int
    n_needed: int | None  # None: its observed loss rate is at or above the target

    @property
    def more(self) -> int | None:
        return None if self.n_needed is None else max(0, self.n_needed - self.n)


@dataclass(frozen=True)
class Certificate:
    """What ``certify`` can honestly support on this sample.

    Attributes:
        target / delta / n / n_paths / method: the request and the test's size.
        chosen: cheapest certified configuration at ``target`` (``chosen.candidate`` None: verifier alone).
        frontier: the same for each frontier target.
        more_data: cheaper configurations not certified at ``target``, cheapest first.
    """

    target: float
    delta: float
    n: int
    n_paths: int
    method: str
    chosen: CertifiedPoint
    frontier: tuple[CertifiedPoint, ...]
    more_data: tuple[MoreData, ...]

    @property
    def certified(self) -> bool:
        return self.chosen.candidate is not None

    def summary(self) -> str:
        """Plain-language report of the certificate, the frontier and the data plan."""
        conf = 100 * (1 - self.delta)
        head = (
            f"certified at a {100 * self.target:g}-point target ({conf:g}% confidence, n={self.n}, "
            f"{self.n_paths} paths): {self.chosen.label}, cost {100 * self.chosen.cost:.1f}%"
        )
        if not self.certified:
            head = (
                f"NOT certified: no configuration cheaper than the verifier has a loss bound <= "
                f"{100 * self.target:g} points at {conf:g}% confidence on n={self.n}; keeping the verifier alone"
            )
        lines = [head, "frontier (target -> cheapest certified, cost, estimated Δ [interval]):"]
        for p in self.frontier:
            d = (
                ""
                if p.delta_hat is None or p.delta_ci is None
                else f", Δ {100 * p.delta_hat:+.1f} [{100 * p.delta_ci[0]:+.1f}, {100 * p.delta_ci[1]:+.1f}]"
            )
            lines.append(f"  {100 * p.target:g} pts -> {p.label}, cost {100 * p.cost:.1f}%{d}")
        for m in self.more_data[:5]:
            need = "never at its loss rate" if m.n_needed is None else f"n={m.n_needed} (+{m.more})"
            lines.append(
                f"  to certify {m.label} (cost {100 * m.cost:.1f}%, loss {100 * m.loss_rate:.1f}%): {need}"
            )
        return "\n".join(lines)


def _bootstrap_ci(diff: np.ndarray, delta: float, n_boot: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    n = diff.size
    means = diff[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
    return float(np.quantile(means, delta / 2)), float(np.quantile(means, 1 - delta / 2))


def _point(
    target: float,
    cand: Candidate | None,
    delta: float,
    delta_path: float,
    method: str,
    n_boot: int,
    seed: int,
) -> CertifiedPoint:
    if cand is None:
        return CertifiedPoint(target, None, 1.0, 0.0, 0.0, 0.0, (0.0, 0.0))
    rate = float(np.mean(cand.loss)) if cand.loss.size else 0.0
    ucb = upper_bound(cand.loss, delta_path, method)  # the bound the test used
    if cand.diff is None or cand.diff.size == 0:
        return CertifiedPoint(target, cand, cand.cost, rate, ucb, None, None)
    ci = _bootstrap_ci(cand.diff, delta, n_boot, seed)
    return CertifiedPoint(target, cand, cand.cost, rate, ucb, float(np.mean(cand.diff)), ci)


def _cheapest(
    paths: Sequence[Path], target: float, delta_path: float, method: str
) -> tuple[Candidate | None, list[tuple[Path, int]]]:
    best: Candidate | None = None
    prefixes = []
    for p in paths:
        k = ltt_fixed_sequence(p.candidates, target, delta_path, method)
        prefixes.append((p, k))
        for c in p.candidates[:k]:
            if c.cost < 1.0 and (best is None or c.cost < best.cost):
                best = c
    return best, prefixes


def _more_data(
    prefixes: Sequence[tuple[Path, int]], limit: float, target: float, delta_path: float, method: str
) -> tuple[MoreData, ...]:
    """For each path, the uncertified candidates cheaper than ``limit`` and the n that would certify them."""
    out = []
    for p, k in prefixes:
        need: int | None = 0
        for i, c in enumerate(p.candidates):
            rate = float(np.mean(c.loss)) if c.loss.size else 0.0
            n_i = samples_to_certify(rate, target, delta_path, method)
            # Fixed-sequence: a step is certified only when every step before it is, so take the max.
            need = None if need is None or n_i is None else max(need, n_i)
            if i >= k and c.cost < limit:
                out.append(MoreData(c.label, c.cost, rate, int(c.loss.size), need))
    return tuple(sorted(out, key=lambda m: (m.n_needed is None, m.cost)))


def certify(
    paths: Sequence[Path],
    target: float = 0.02,
    delta: float = DEFAULT_DELTA,
    *,
    frontier_targets: Sequence[float] = FRONTIER_TARGETS,
    method: str = "cp",
    simultaneous: bool = False,
    n_boot: int = 1000,
    seed: int = 0,
) -> Certificate:
    """Certify the cheapest configuration whose loss is bounded by ``target`` at confidence ``1 - delta``.

    Each path is tested by fixed-sequence testing at ``delta / len(paths)`` (Bonferroni over paths); a
    configuration is certified when its path's test reaches it. The verifier alone (loss 0, cost 1) is
    always available and is kept when nothing cheaper is certified.

    Args:
        paths: independent monotone families of candidates, each most conservative first.
        target: the allowed loss rate (fraction: 0.02 = 2 points).
        delta: miscoverage (default 0.1: 90% confidence).
        frontier_targets: further targets to report the cheapest certified configuration for.
        method: ``"cp"`` (Clopper-Pearson, 0/1 losses) or ``"hb"`` (Hoeffding-Bentkus, losses in [0, 1]).
        simultaneous: spend ``delta / (1 + len(frontier_targets))`` per target so that the whole report
            holds at once.
        n_boot: bootstrap resamples of the Δ interval.
        seed: bootstrap seed.
    """
    if not paths:
        raise ValueError("certify needs at least one path of candidates")
    sizes = {c.loss.size for p in paths for c in p.candidates}
    if len(sizes) > 1:
        raise ValueError(f"every candidate must be scored on the same sample; got sizes {sorted(sizes)}")
    n = sizes.pop() if sizes else 0
    d = delta / (1 + len(frontier_targets)) if simultaneous else delta
    delta_path = d / len(paths)
    best, prefixes = _cheapest(paths, target, delta_path, method)
    chosen = _point(target, best, delta, delta_path, method, n_boot, seed)
    frontier = tuple(
        _point(t, _cheapest(paths, t, delta_path, method)[0], delta, delta_path, method, n_boot, seed)
        for t in frontier_targets
    )
    more = _more_data(prefixes, chosen.cost, target, delta_path, method)
    return Certificate(target, delta, n, len(paths), method, chosen, frontier, more)
