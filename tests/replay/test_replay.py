"""The replay set and the LiteLLM replay provider: real LiteLLM calls served from recorded outputs."""

from __future__ import annotations

import gzip
import json
import math

import pytest

from cascadeflow_core import (
    AgreementValidator,
    Cascade,
    CascadeOptions,
    ConfigError,
    ExhaustedError,
    LogprobValidator,
    ReplayError,
    ReplaySet,
    Tier,
    register_replay,
)
from cascadeflow_core.providers._litellm import litellm_module
from tests.support.replay_sets import SAMPLE, mcq_set, query, write_replay

MINI, GEMMA, GPT4O = "gpt-4o-mini-2024-07-18", "gemma-2-9b-it", "gpt-4o-2024-08-06"


@pytest.fixture(scope="module")
def sample() -> ReplaySet:
    return ReplaySet.load(SAMPLE)


def test_sample_loads_with_provenance(sample):
    assert (
        len(sample) == 49 and sample.ids[0] == "gsm8k-main-test-#0" and sample.ids[1] == "gsm8k-main-test-#27"
    )
    assert {MINI, GEMMA, GPT4O} <= set(sample.models)
    assert all(sample.has(m, q) for m in sample.models for q in sample.ids)
    assert "every 27th" in (SAMPLE / "PROVENANCE.md").read_text()
    rec = sample.answer(MINI, sample.ids[0])
    assert rec.correct and rec.cost > 0 and rec.input_tokens > 0 and '"answer"' in rec.text


def test_bad_lines_name_file_and_line(tmp_path):
    folder = write_replay(
        tmp_path / "bad", [query("a", "hi")], [{"id": "a", "model": "m", "text": "x", "correct": 1}]
    )
    with gzip.open(folder / "responses.jsonl.gz", "at", encoding="utf-8") as f:
        f.write(json.dumps({"id": "a", "model": "m2", "text": "x", "correct": 2}) + "\n")
    with pytest.raises(ConfigError, match=r"bad/responses.jsonl.gz:2: 'correct' must be 0 or 1"):
        ReplaySet.load(folder)
    (folder / "queries.jsonl").write_text('{"id": "a", "messages": []}\n{oops\n')
    with pytest.raises(ConfigError, match=r"queries.jsonl:1: 'messages'"):
        ReplaySet.load(folder)
    (folder / "queries.jsonl").write_text(json.dumps(query("a", "hi")) + "\n{oops\n")
    with pytest.raises(ConfigError, match=r"queries.jsonl:2: not valid JSON"):
        ReplaySet.load(folder)


def test_unknown_query_in_responses_and_missing_files(tmp_path):
    folder = write_replay(
        tmp_path / "s", [query("a", "hi")], [{"id": "zz", "model": "m", "text": "x", "correct": 1}], gz=False
    )
    with pytest.raises(ConfigError, match="responses.jsonl:1: answer to unknown query id 'zz'"):
        ReplaySet.load(folder)
    with pytest.raises(ConfigError, match="is not a directory"):
        ReplaySet.load(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="has no queries.jsonl"):
        ReplaySet.load(tmp_path / "empty")


def test_negative_infinite_logprob_is_a_zero_probability(tmp_path):
    folder = write_replay(
        tmp_path / "s",
        [query("a", "hi")],
        [{"id": "a", "model": "m", "text": "x", "correct": 0, "logprob": -math.inf}],
    )
    assert ReplaySet.load(folder).answer("m", "a").logprob == -math.inf


def test_unknown_model_and_query_raise_with_nearest_names(sample):
    with pytest.raises(ReplayError, match="no model 'gpt-4o-mini'.*nearest: gpt-4o-mini-2024-07-18"):
        sample.answer("gpt-4o-mini", sample.ids[0])
    with pytest.raises(ReplayError, match="no recorded answer of 'gemma-2-9b-it' to query 'nope'"):
        sample.answer(GEMMA, "nope")
    with pytest.raises(ReplayError, match="replay_id"):
        sample.find_id([{"role": "user", "content": "what is 2+2?"}])


def test_registration_changes_nothing_at_import_and_cleans_up(sample):
    lm = litellm_module()
    before = list(lm.custom_provider_map)
    with register_replay(sample):
        assert any(i["provider"] == "replay" for i in lm.custom_provider_map)
        with register_replay(sample):  # nested: still one entry
            assert sum(i["provider"] == "replay" for i in lm.custom_provider_map) == 1
        assert any(i["provider"] == "replay" for i in lm.custom_provider_map)
    assert lm.custom_provider_map == before
    assert "replay" not in lm._custom_providers


def test_direct_litellm_calls_carry_text_usage_cost(sample):
    lm = litellm_module()
    q = sample.queries[5]
    rec = sample.answer(MINI, q.id)
    with register_replay(sample):
        resp = lm.completion(model=f"replay/{MINI}", messages=list(q.messages))
        by_meta = lm.completion(
            model=f"replay/{MINI}", messages=[{"role": "user", "content": "x"}], metadata={"replay_id": q.id}
        )
    assert resp.choices[0].message.content == rec.text == by_meta.choices[0].message.content
    assert resp.usage.prompt_tokens == rec.input_tokens and resp.usage.completion_tokens == rec.output_tokens
    assert resp._hidden_params["response_cost"] == pytest.approx(rec.cost)


def test_cascade_sync_async_stream_match_the_records(sample):
    q = sample.queries[3]
    cascade = Cascade(
        [Tier([sample.spec(MINI), sample.spec(GEMMA)], AgreementValidator()), sample.spec(GPT4O)],
        options=CascadeOptions(verifier_cost=sample.verifier_cost),
    )
    mini, gemma = sample.answer(MINI, q.id), sample.answer(GEMMA, q.id)
    with register_replay(sample):
        r = cascade.complete(list(q.messages))
        events = list(cascade.stream(list(q.messages)))

        async def both():
            res = await cascade.acomplete(list(q.messages))
            evs = [ev async for ev in cascade.astream(list(q.messages))]
            return res, evs

        import asyncio

        ar, aevents = asyncio.run(both())
    assert r.model == f"replay/{MINI}" and r.text == mini.text and not r.escalated
    assert r.cost == pytest.approx(mini.cost + gemma.cost)
    assert r.verifier_cost == pytest.approx(sample.answer(GPT4O, q.id).cost)
    for res in (ar, events[-1].result, aevents[-1].result):
        assert res.text == r.text and res.cost == pytest.approx(r.cost)
    assert "".join(e.text for e in events if e.type == "delta") == mini.text


def test_logprobs_replayed_only_when_asked_and_streamed_with_cost(tmp_path):
    rs = ReplaySet.load(mcq_set(tmp_path / "mcq"))
    q = rs.queries[1]
    rec = rs.answer("small", q.id)
    plain = Cascade([rs.spec("small")])
    asks = Cascade([Tier([rs.spec("small")], LogprobValidator(0.5)), rs.spec("big")])
    with register_replay(rs):
        no_lp = plain.complete(list(q.messages)).draft
        with_lp = asks.complete(list(q.messages))
        streamed = list(Cascade([Tier([rs.spec("small")], LogprobValidator(0.5))]).stream(list(q.messages)))
    assert no_lp.logprob is None
    assert with_lp.draft.logprob == pytest.approx(rec.logprob) and with_lp.model == "replay/small"
    final = streamed[-1].result
    assert final.draft.logprob == pytest.approx(rec.logprob)
    assert final.cost == pytest.approx(rec.cost) and final.input_tokens == rec.input_tokens


def test_model_names_with_slash_and_at_are_addressable(tmp_path):
    rs = ReplaySet.load(mcq_set(tmp_path / "mcq"))
    q = rs.queries[0]
    with register_replay(rs):
        r = Cascade([rs.spec("other/model@host")]).complete(list(q.messages))
    assert r.model == "replay/other/model@host" and r.text == rs.answer("other/model@host", q.id).text


def test_unrecorded_pair_through_the_engine_is_an_error_never_an_answer(tmp_path):
    folder = write_replay(
        tmp_path / "s",
        [query("a", "first"), query("b", "second")],
        [
            {"id": "a", "model": "m", "text": "1", "correct": 1},
            {"id": "b", "model": "n", "text": "2", "correct": 1},
        ],
    )
    rs = ReplaySet.load(folder)
    with register_replay(rs), pytest.raises(ExhaustedError) as info:
        Cascade([rs.spec("m")]).complete("second")
    attempt = info.value.attempts[0]
    assert attempt.status == "error" and attempt.error_kind == "bad_request"
    assert "no recorded answer of 'm' to query 'b'" in attempt.error


def test_lookup_by_last_user_message_and_by_replay_id(sample):
    q = sample.queries[7]
    with_system = [{"role": "system", "content": "be brief"}, *q.messages]
    assert sample.find_id(with_system) == q.id
    with register_replay(sample):
        r = Cascade([sample.spec(GPT4O)]).complete("anything", replay_id=q.id)
    assert r.text == sample.answer(GPT4O, q.id).text


def test_split_is_deterministic_and_disjoint(sample):
    a, b = sample.split(0.5, seed=1)
    a2, _ = sample.split(0.5, seed=1)
    assert a.ids == a2.ids and not set(a.ids) & set(b.ids) and len(a) + len(b) == len(sample)
    with pytest.raises(ConfigError):
        sample.split(1.5)


def test_replayed_calls_are_booked_by_the_tracker(sample):
    from cascadeflow_core import CostTracker

    tracker = CostTracker()
    cascade = Cascade(
        [Tier([sample.spec(MINI), sample.spec(GEMMA)], AgreementValidator()), sample.spec(GPT4O)],
        tracker=tracker,
    )
    with register_replay(sample):
        results = [cascade.complete(list(q.messages), user="u1") for q in sample.queries[:6]]
    tracker.flush()
    assert tracker.spent(user="u1") == pytest.approx(sum(r.cost for r in results))
    assert tracker.spent(user="u1", model=f"replay/{GEMMA}") == pytest.approx(
        sum(sample.answer(GEMMA, q.id).cost for q in sample.queries[:6])
    )
