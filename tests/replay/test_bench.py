"""run_benchmark: the real engine over recorded outputs, checked against figures computed by hand."""

from __future__ import annotations

import json

import pytest
import yaml

from cascadeflow_core import (
    AgreementValidator,
    Cascade,
    ConfigError,
    LogprobValidator,
    ReplayError,
    ReplaySet,
    Tier,
    extract_answer,
    run_benchmark,
)
from cascadeflow_core.replay._bench import default_config, oracle_stats
from tests.support.replay_sets import SAMPLE, mcq_set, query, write_replay

MINI, GEMMA, GPT4O = "gpt-4o-mini-2024-07-18", "gemma-2-9b-it", "gpt-4o-2024-08-06"


@pytest.fixture(scope="module")
def sample() -> ReplaySet:
    return ReplaySet.load(SAMPLE)


def _by_hand(rs: ReplaySet) -> tuple[float, float, int]:
    """Agreement of mini and gemma, else gpt-4o, computed straight from the records."""
    ok = cost = escalated = 0
    for q in rs.ids:
        a, b, v = rs.answer(MINI, q), rs.answer(GEMMA, q), rs.answer(GPT4O, q)
        cost += a.cost + b.cost
        ka, kb = extract_answer(a.text), extract_answer(b.text)
        if ka is not None and ka == kb:
            ok += a.correct
        else:
            escalated += 1
            cost += v.cost
            ok += v.correct
    return ok / len(rs), cost, escalated


def test_default_config_report_matches_the_records(sample):
    report = run_benchmark(default_config(sample), sample, progress=False)
    quality, cost, escalated = _by_hand(sample)
    assert report.n == 49 and not report.skipped
    assert report.quality == pytest.approx(quality) and report.cost == pytest.approx(cost)
    assert report.verifier == GPT4O
    assert report.verifier_cost == pytest.approx(sum(sample.answer(GPT4O, q).cost for q in sample.ids))
    assert report.verifier_quality == pytest.approx(
        sum(sample.answer(GPT4O, q).correct for q in sample.ids) / 49
    )
    drafters, verifier = report.tiers
    assert drafters.reached == 1.0 and verifier.reached == pytest.approx(escalated / 49)
    assert drafters.escalation_rate == pytest.approx(escalated / 49) and verifier.answered == verifier.reached
    assert report.savings == pytest.approx(1 - cost / report.verifier_cost)
    # The honest bar of the design: at least gpt-4o's quality for a fraction of its cost.
    assert report.quality >= report.verifier_quality and report.cost_ratio < 0.3
    mini = next(m for m in report.models if m.model == MINI)
    assert mini.quality == pytest.approx(sum(sample.answer(MINI, q).correct for q in sample.ids) / 49)
    assert report.oracle.quality >= max(m.quality for m in report.models if m.model in report.configured)
    text = report.table()
    assert "cascade" in text and "oracle" in text and "escalated" in text and GPT4O in text
    data = json.loads(report.to_json(outcomes=True))
    assert data["quality"] == report.quality and len(data["outcomes"]) == 49
    assert {o["id"] for o in data["outcomes"]} == set(sample.ids)


def test_oracle_is_the_cheapest_correct_model(tmp_path):
    folder = write_replay(
        tmp_path / "s",
        [query("a", "x"), query("b", "y")],
        [
            {"id": "a", "model": "cheap", "text": "1", "correct": 0, "cost_usd": 0.1},
            {"id": "a", "model": "dear", "text": "2", "correct": 1, "cost_usd": 1.0},
            {"id": "b", "model": "cheap", "text": "3", "correct": 1, "cost_usd": 0.1},
            {"id": "b", "model": "dear", "text": "3", "correct": 1, "cost_usd": 1.0},
        ],
    )
    rs = ReplaySet.load(folder)
    o = oracle_stats(rs, ["cheap", "dear"])
    assert o.quality == 1.0 and o.cost == pytest.approx(1.1)
    assert oracle_stats(rs, ["cheap"]).quality == 0.5


def test_yaml_config_and_provider_prefixed_names_resolve(sample, tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "tiers": [
                    {
                        "name": "cheap",
                        "models": [f"openai/{MINI}", GEMMA],
                        "validator": {"type": "agreement"},
                    },
                    {"name": "strong", "models": [f"replay/{GPT4O}"]},
                ]
            }
        )
    )
    report = run_benchmark(str(cfg), sample, progress=False)
    assert report.quality == pytest.approx(_by_hand(sample)[0])
    assert [t.name for t in report.tiers] == ["cheap", "strong"]


def test_unknown_model_in_config_names_the_field_and_nearest(sample):
    with pytest.raises(ConfigError, match=r"tiers\[1\].models\[0\].*nearest: gpt-4o-2024-08-06"):
        run_benchmark(["openai/gpt-4o-mini-2024-07-18", "openai/gpt-4o"], sample, progress=False)


def test_queries_a_configured_model_never_answered_are_skipped_and_reported(tmp_path):
    folder = write_replay(
        tmp_path / "s",
        [query("a", "x"), query("b", "y")],
        [
            {"id": "a", "model": "m", "text": "1", "correct": 1},
            {"id": "b", "model": "m", "text": "1", "correct": 0},
            {"id": "a", "model": "v", "text": "1", "correct": 1},
        ],
    )
    rs = ReplaySet.load(folder)
    report = run_benchmark(["m", "v"], rs, progress=False)
    assert report.n == 1 and report.skipped == ("b",) and "1 skipped" in report.table()
    with pytest.raises(ReplayError, match="no query"):
        run_benchmark(["m", "v"], rs, ids=["b"], progress=False)


def test_unseen_multiple_choice_set_with_logprobs(tmp_path):
    rs = ReplaySet.load(mcq_set(tmp_path / "mcq"))
    cascade = Cascade([Tier([rs.spec("small")], LogprobValidator(0.9)), rs.spec("big")])
    report = run_benchmark(cascade, rs, progress=False)
    confident = [q for q in rs.ids if rs.answer("small", q).logprob > -0.1]
    assert report.tiers[0].answered == pytest.approx(len(confident) / len(rs))
    assert report.quality == 1.0  # small is right whenever confident; big is always right
    agreement = run_benchmark(
        Cascade(
            [Tier([rs.spec("small"), rs.spec("other/model@host")], AgreementValidator()), rs.spec("big")]
        ),
        rs,
        progress=False,
    )
    assert agreement.cost > report.cost


def test_async_entry_point_inside_a_running_loop(sample):
    import asyncio

    async def inside():
        return run_benchmark(default_config(sample), sample.subset(sample.ids[:5]), progress=False)

    assert asyncio.run(inside()).n == 5
