"""Defaults without data: a one-model drafter tier uses logprobs when it has them, else warns."""

from __future__ import annotations

import warnings

import pytest

from cascadeflow_core import Cascade, ConfigError, Draft, ModelSpec, ReplaySet, Request, run_benchmark
from cascadeflow_core.validation._defaults import (
    CONSERVATIVE_THRESHOLD,
    ConfidentOrRules,
    _warned,
    default_threshold,
    self_consistency,
    single_drafter_default,
)
from tests.support.replay_sets import mcq_set


def test_thresholds_per_family_and_none_without_logprobs():
    assert default_threshold("openai/gpt-4o-mini") == 0.9999
    assert default_threshold("gpt-4o-mini") == 0.9999
    assert default_threshold("together_ai/meta-llama/Llama-3-8b") == CONSERVATIVE_THRESHOLD
    assert default_threshold("anthropic/claude-3-haiku") is None
    assert default_threshold("openai/o3-mini") is None


def test_confident_or_rules_uses_logprobs_when_present_and_says_when_absent():
    v = ConfidentOrRules(0.9999)
    req = Request("q")
    assert v([Draft("m", "B", logprob=0.0)], req).accept
    assert not v([Draft("m", "B", logprob=-0.01)], req).accept
    bare = v([Draft("m", "B")], req)
    assert bare.accept and "rule checks alone" in bare.reasons[0]
    assert not single_drafter_default("openai/gpt-4o-mini")([Draft("m", "")], req).accept  # empty: rules


def test_one_drafter_cascade_escalates_unsure_drafts_out_of_the_box(tmp_path):
    """Previously ("rules only") this tier accepted every non-empty letter: 0% escalation."""
    rs = ReplaySet.load(mcq_set(tmp_path / "mcq"))
    report = run_benchmark(Cascade(["replay/small", "replay/big"]), rs, progress=False)
    first = report.tiers[0]
    assert first.escalation_rate > 0.5 and report.quality == pytest.approx(1.0)


def test_warns_once_for_a_one_model_tier_without_logprobs():
    _warned.discard("anthropic/claude-3-haiku-20240307")
    with pytest.warns(UserWarning, match="rule checks alone rarely escalate"):
        Cascade(["anthropic/claude-3-haiku-20240307", "anthropic/claude-3-5-sonnet-20240620"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Cascade(["anthropic/claude-3-haiku-20240307", "anthropic/claude-3-5-sonnet-20240620"])  # once
        Cascade(["openai/gpt-4o-mini", "openai/gpt-4o"])  # logprobs: no warning


def test_self_consistency_samples_one_drafter_and_requires_agreement():
    tier = self_consistency(
        ModelSpec("openai/gpt-4o-mini", params={"mock_response": "42"}), n=3, temperature=0.5
    )
    assert len(tier.specs) == 3 and all(s.params["temperature"] == 0.5 for s in tier.specs)
    assert tier.validator.min_agree == 3
    big = ModelSpec("openai/gpt-4o", params={"mock_response": "43"})
    r = Cascade([tier, big]).complete("6*7?")
    assert r.text == "42" and not r.escalated
    with pytest.raises(ConfigError):
        self_consistency("openai/gpt-4o-mini", n=1)
    with pytest.raises(ConfigError):
        self_consistency("openai/gpt-4o-mini", temperature=0)
