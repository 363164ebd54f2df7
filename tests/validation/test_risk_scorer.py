"""Unit checks of ``_risk`` and ``_scorer`` (no network, no data files)."""

from __future__ import annotations

import math

import numpy as np

from cascadeflow_core.validation._risk import (
    Candidate,
    binom_logcdf,
    certify,
    clopper_pearson_lower,
    clopper_pearson_upper,
    hoeffding_bentkus_upper,
    label_free_loss,
    ltt_fixed_sequence,
    one_sided_loss,
    samples_to_certify,
    signed_difference,
)
from cascadeflow_core.validation._risk import Path as RPath
from cascadeflow_core.validation._scorer import AcceptanceScorer, Signals, fit_scorer, threshold_path


def test_cp_closed_form_and_symmetry() -> None:
    for n in (1, 10, 300, 5000):
        assert math.isclose(clopper_pearson_upper(0, n, 0.1), 1 - 0.1 ** (1 / n), rel_tol=1e-9)
    assert math.isclose(
        clopper_pearson_upper(7, 50, 0.05), 1 - clopper_pearson_lower(43, 50, 0.05), rel_tol=1e-9
    )
    # Known two-sided 95% interval for 7/50: [0.0582, 0.2674]
    assert abs(clopper_pearson_lower(7, 50, 0.025) - 0.0582) < 1e-4
    assert abs(clopper_pearson_upper(7, 50, 0.025) - 0.2674) < 1e-4
    assert clopper_pearson_upper(50, 50, 0.1) == 1.0


def test_cdf_matches_direct_sum() -> None:
    n, p = 40, 0.13
    direct = sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(6))
    assert math.isclose(math.exp(binom_logcdf(5, n, p)), direct, rel_tol=1e-10)


def test_cp_coverage_by_simulation() -> None:
    rng = np.random.default_rng(0)
    n, p, delta = 200, 0.03, 0.1
    ks = rng.binomial(n, p, size=4000)
    miss = np.mean([clopper_pearson_upper(int(k), n, delta) < p for k in ks])
    assert miss <= delta + 0.015


def test_hb_is_valid_and_looser_than_cp_for_binary() -> None:
    assert hoeffding_bentkus_upper(0.02, 300, 0.1) >= clopper_pearson_upper(6, 300, 0.1) - 1e-9


def test_samples_to_certify_matches_issue_arithmetic() -> None:
    assert samples_to_certify(0.0, 0.005, 0.1) == 460
    assert samples_to_certify(0.006, 0.005, 0.1) is None
    n = samples_to_certify(0.01, 0.02, 0.1)
    assert n is not None and clopper_pearson_upper(math.ceil(0.01 * n), n, 0.1) <= 0.02


def test_losses() -> None:
    acc = np.array([1, 1, 1, 0], bool)
    d = np.array([0, 1, 0, 0], bool)
    v = np.array([1, 0, 0, 1], bool)
    assert one_sided_loss(acc, d, v).tolist() == [1, 0, 0, 0]
    assert signed_difference(acc, d, v).tolist() == [1, -1, 0, 0]
    assert label_free_loss(acc, ["a", "b", None, "x"], ["b", "b", None, "y"]).tolist() == [1, 0, 1, 0]


def test_fixed_sequence_stops_at_first_failure() -> None:
    z = np.zeros(300)
    bad = np.r_[np.ones(30), np.zeros(270)]
    path = [Candidate("a", z, 0.9), Candidate("b", bad, 0.5), Candidate("c", z, 0.1)]
    assert ltt_fixed_sequence(path, 0.02, 0.1) == 1  # "c" is never reached
    cert = certify([RPath("p", tuple(path))], 0.02, 0.1)
    assert cert.chosen.label == "a"
    # "b" cannot be certified at its loss rate, and "c" lies behind it on the path
    assert {m.label for m in cert.more_data} == {"b", "c"} and all(m.n_needed is None for m in cert.more_data)


def test_nothing_certified_keeps_verifier_and_plans_data() -> None:
    loss = np.r_[np.ones(2), np.zeros(98)]
    cert = certify([RPath("p", (Candidate("x", loss, 0.3),))], 0.03, 0.1)
    assert not cert.certified and cert.chosen.cost == 1.0
    m = cert.more_data[0]
    assert m.n_needed is not None and m.n_needed > 100
    assert "NOT certified" in cert.summary()


def test_scorer_roundtrip_and_ranking() -> None:
    rng = np.random.default_rng(1)
    lp = -rng.exponential(0.5, 400)
    lp[:100] = 0.0
    y = (rng.random(400) < np.exp(lp)).astype(float)
    s = Signals(lp, np.zeros(400), np.ones(400), np.ones(400), np.full(400, 5.0))
    m = fit_scorer(s, y)
    again = AcceptanceScorer.from_dict(m.to_dict())
    assert np.allclose(m.score(s), again.score(s))
    assert np.corrcoef(m.score(s), lp)[0, 1] > 0.8
    path = threshold_path(m.score(s))
    assert list(path) == sorted(path, reverse=True) and path[-1] == 0.0


def test_scorer_null_safe() -> None:
    s = Signals(np.array([np.nan, -np.inf, 0.0, -1.0]), np.zeros(4), np.ones(4), np.ones(4), np.ones(4))
    assert np.all(np.isfinite(fit_scorer(s, np.array([0, 0, 1, 1])).score(s)))


def test_runtime_validator_scores_exactly_as_the_fitted_scorer() -> None:
    from cascadeflow_core import Draft, Request, ScorerValidator
    from cascadeflow_core.validation._validators import AgreementValidator, RuleValidator

    rng = np.random.default_rng(2)
    texts = ["B", "The answer is 42", "", "I'm not sure, maybe C", "#### 7", "Paris"] * 10
    lps = [0.0, -1e-7, -0.3, None, -2.5, -np.inf] * 10
    others = ["B", "41", "x", "C", "7", "London"] * 10
    agree, rules, req = AgreementValidator(), RuleValidator(), Request("q")
    drafts = [(Draft("a", t, logprob=lp), Draft("b", o)) for t, lp, o in zip(texts, lps, others, strict=True)]
    keys = [(agree.key(d), agree.key(o)) for d, o in drafts]
    s = Signals(
        np.array([np.nan if lp is None else lp for lp in lps], dtype=float),
        np.array([float(k is not None and k == ko) for k, ko in keys]),
        np.array([float(not rules.problems(d, req)) for d, _ in drafts]),
        np.array([float(k is not None) for k, _ in keys]),
        np.array([float(len(t)) for t in texts]),
    )
    y = (rng.random(len(texts)) < 0.6).astype(float)
    model = fit_scorer(s, y)
    offline = model.score(s)
    v = ScorerValidator(model.to_dict(), 0.5)
    online = np.array([v.score(list(d), req) for d in drafts])
    assert np.allclose(offline, online, atol=1e-9)
    assert [v(list(d), req).accept for d in drafts] == list(offline >= 0.5)


def test_scorer_validator_rejects_a_malformed_model() -> None:
    import pytest

    from cascadeflow_core import ConfigError, ScorerValidator

    with pytest.raises(ConfigError):
        ScorerValidator({"type": "logistic", "features": ["nope"]}, 0.5)
    with pytest.raises(ConfigError):
        ScorerValidator({"type": "tree"}, 0.5)


def test_statistics_are_lazy_exports_and_numpy_is_not_imported_by_the_core() -> None:
    import subprocess
    import sys

    code = "import sys, cascadeflow_core; print('numpy' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    )
    import cascadeflow_core

    assert cascadeflow_core.certify is certify and cascadeflow_core.Certificate.__name__ == "Certificate"
