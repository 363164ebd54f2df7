"""Calibration: the fast evaluator mirrors the engine; the search picks the cheapest rule meeting the target."""

from __future__ import annotations

import pytest

from cascadeflow_core import ReplaySet, calibrate, run_benchmark
from cascadeflow_core.config._config import parse_config
from cascadeflow_core.replay._calibrate import Candidate, RecordedMatrix, candidates, choose, evaluate
from cascadeflow_core.replay._plot import frontier, plot_tradeoff, sweep
from tests.support.replay_sets import SAMPLE, SHARED, mcq_set

MINI, GEMMA, FLASH, GPT4O = "gpt-4o-mini-2024-07-18", "gemma-2-9b-it", "gemini-1.5-flash", "gpt-4o-2024-08-06"


@pytest.fixture(scope="module")
def sample() -> ReplaySet:
    return ReplaySet.load(SAMPLE)


@pytest.fixture()
def mcq(tmp_path) -> ReplaySet:
    return ReplaySet.load(mcq_set(tmp_path / "mcq"))


@pytest.mark.parametrize(
    "cand",
    [
        Candidate((MINI, GEMMA), GPT4O, "agreement"),
        Candidate((MINI, GEMMA, FLASH), GPT4O, "agreement", gate=False),
        Candidate((MINI,), GPT4O, "accept"),
        Candidate((), GPT4O, "verifier", gate=False),
    ],
)
def test_fast_evaluator_equals_the_engine_on_gsm8k(sample, cand):
    est = evaluate(RecordedMatrix(sample, [GPT4O, *cand.drafters]), cand)
    run = run_benchmark(cand.tiers(sample), sample, progress=False)
    assert est.quality == pytest.approx(run.quality) and est.cost == pytest.approx(run.cost)
    assert est.escalation_rate == pytest.approx(1 - run.tiers[0].answered if len(run.tiers) > 1 else 0.0)


@pytest.mark.parametrize("rule", ["logprob", "agreement_or_logprob", "agreement_and_logprob"])
def test_fast_evaluator_equals_the_engine_with_logprobs(mcq, rule):
    for threshold in (0.5, 0.95):
        cand = Candidate(("small", "other/model@host"), "big", rule, threshold)
        est = evaluate(RecordedMatrix(mcq, ["big", "small", "other/model@host"]), cand)
        run = run_benchmark(cand.tiers(mcq), mcq, progress=False)
        assert (est.quality, est.cost) == (pytest.approx(run.quality), pytest.approx(run.cost))


def test_candidate_config_round_trips_through_yaml_config(mcq):
    cand = Candidate(("small", "other/model@host"), "big", "agreement_or_logprob", 0.9)
    cascade = parse_config(cand.to_config()).build()
    run = run_benchmark(cascade, mcq, progress=False)
    assert run.quality == pytest.approx(
        evaluate(RecordedMatrix(mcq, ["big", "small", "other/model@host"]), cand).quality
    )


def test_search_space_covers_drafters_rules_and_thresholds(mcq):
    mx = RecordedMatrix(mcq, ["big", "small", "other/model@host"])
    cands = candidates(mx, "big", ["small", "other/model@host"], 2)
    rules = {c.rule for c in cands}
    assert rules == {
        "verifier",
        "accept",
        "logprob",
        "agreement",
        "agreement_or_logprob",
        "agreement_and_logprob",
    }
    assert {c.drafters for c in cands} >= {("small",), ("other/model@host",), ("small", "other/model@host")}
    assert len({c.threshold for c in cands if c.threshold}) > 5


def test_short_answers_calibrate_to_a_confident_draft_not_agreement(mcq):
    cal = calibrate(mcq, "big", target_drop=0.0, split=None, safety=0.0, progress=False, method="point")
    assert "logprob" in cal.candidate.rule and "small" in cal.candidate.drafters
    assert cal.fit_report.quality == pytest.approx(1.0) and cal.fit_report.cost_ratio < 0.3
    agreement = [e for e in cal.evaluated if e.candidate.rule == "agreement"]
    assert all(e.cost > cal.chosen.cost for e in agreement if e.quality >= 1.0)


def test_zero_budget_for_loss_with_a_margin_keeps_the_verifier_when_nothing_is_safe(sample):
    cal = calibrate(sample, GPT4O, target_drop=0.0, split=0.5, safety=50.0, progress=False, method="point")
    assert cal.candidate.rule == "verifier"
    assert cal.heldout_report.cost_ratio == pytest.approx(1.0)


def test_fit_and_heldout_are_reported_from_engine_runs(sample):
    cal = calibrate(sample, GPT4O, target_drop=0.5, split=0.5, progress=False)
    assert cal.fit_report.n + cal.heldout_report.n == 49
    assert cal.heldout_estimate.quality == pytest.approx(cal.heldout_report.quality)
    assert cal.heldout_estimate.cost == pytest.approx(cal.heldout_report.cost)
    text = cal.summary()
    assert "fit" in text and "held-out" in text and "candidates searched" in text


def test_choose_prefers_cheapest_meeting_target(mcq):
    mx = RecordedMatrix(mcq, ["big", "small"])
    evs = [evaluate(mx, c) for c in candidates(mx, "big", ["small"], 1)]
    best = choose(evs, target_drop=100.0, z=0.0)
    assert best.cost == min(e.cost for e in evs)
    front = frontier(evs)
    assert all(a.cost <= b.cost and a.quality < b.quality for a, b in zip(front, front[1:], strict=False))


def test_sweep_and_plot(sample, tmp_path):
    sw = sweep(sample, GPT4O)
    assert sw.frontier and {s[0] for s in sw.singles} == set(sample.models)
    out = plot_tradeoff(sw, tmp_path / "curve.svg", chosen=("default", 0.96, 0.016))
    assert out.read_text().startswith("<?xml")
    png = plot_tradeoff(sw, tmp_path / "curve.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.skipif(not (SHARED / "zellinger-mmlu-train").exists(), reason="shared replay data not present")
def test_zellinger_mmlu_calibration_reports_heldout_from_the_engine():
    rs = ReplaySet.load(SHARED / "zellinger-mmlu-train")
    cal = calibrate(rs, "gpt-4o", target_drop=0.5, progress=False, method="point")
    assert cal.heldout_report.n > 100 and cal.heldout_report.cost_ratio < 1.0
    assert cal.heldout_estimate.quality == pytest.approx(cal.heldout_report.quality)
