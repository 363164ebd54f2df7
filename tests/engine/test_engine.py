"""The cascade engine through its public drivers: sync, async and streaming behave the same."""

from __future__ import annotations

import asyncio
import json

import pytest

from cascadeflow_core import (
    AgreementValidator,
    AllOf,
    AnyOf,
    CallableValidator,
    Cascade,
    CascadeOptions,
    ConfigError,
    ContextWindowError,
    ExhaustedError,
    InputError,
    LogprobValidator,
    RateLimitError,
    RetryPolicy,
    RuleValidator,
    ServiceUnavailableError,
    Tier,
    ToolCall,
    Verdict,
)
from tests.support.scripted import Reply, ScriptedBackend

FAST = CascadeOptions(retry=RetryPolicy(max_retries=1, backoff=0.001, max_backoff=0.001))


@pytest.fixture(params=["sync", "async"])
def complete(request):
    def run(cascade, *args, **kwargs):
        if request.param == "sync":
            return cascade.complete(*args, **kwargs)
        return asyncio.run(cascade.acomplete(*args, **kwargs))

    return run


@pytest.fixture(params=["sync", "async"])
def stream(request):
    def run(cascade, *args, **kwargs):
        if request.param == "sync":
            return list(cascade.stream(*args, **kwargs))

        async def collect():
            return [ev async for ev in cascade.astream(*args, **kwargs)]

        return asyncio.run(collect())

    return run


def three_tier(backend, options=FAST):
    return Cascade(
        [
            Tier(
                ["cheap-a", "cheap-b"],
                validator=AllOf(RuleValidator(), AgreementValidator()),
                name="drafters",
            ),
            Tier(["mid"], validator=LogprobValidator(0.8), name="mid"),
            Tier(["strong"], name="verifier"),
        ],
        backend=backend,
        options=options,
    )


def test_agreeing_drafters_answer_and_verifier_is_not_called(complete):
    be = ScriptedBackend({"cheap-a": "so the answer is 18", "cheap-b": "#### 18", "mid": "x", "strong": "18"})
    r = complete(three_tier(be), "Janet's ducks?")
    assert r.text == "so the answer is 18" and r.tier == "drafters" and not r.escalated
    assert be.called("strong") == 0 and be.called("mid") == 0
    assert [a.status for a in r.attempts] == ["accepted", "superseded"]
    assert "2/2 drafters agree on '18'" in r.attempts[0].reasons
    assert r.cost == pytest.approx(0.002)


def test_disagreement_escalates_with_reasons_and_counts_rejected_drafts(complete):
    be = ScriptedBackend(
        {"cheap-a": "18", "cheap-b": "19", "mid": Reply("18", logprob=-2.0), "strong": "The answer is 18."}
    )
    r = complete(three_tier(be), "q")
    assert r.model == "strong" and r.tier == "verifier" and r.escalated
    statuses = [(a.tier, a.status) for a in r.attempts]
    assert statuses == [
        ("drafters", "rejected"),
        ("drafters", "rejected"),
        ("mid", "rejected"),
        ("verifier", "accepted"),
    ]
    assert any("disagree" in x for x in r.attempts[0].reasons)
    assert any("low confidence" in x for x in r.attempts[2].reasons)
    assert r.cost == pytest.approx(sum(a.cost for a in r.attempts)) == pytest.approx(0.004)
    assert r.verifier_cost == pytest.approx(0.001)


def test_confident_middle_tier_answers_and_gets_logprobs_requested(complete):
    be = ScriptedBackend({"cheap-a": "1", "cheap-b": "2", "mid": Reply("B", logprob=-0.01), "strong": "C"})
    r = complete(three_tier(be), "q")
    assert r.model == "mid" and r.text == "B"
    mid_request = next(req for m, req in be.calls if m == "mid")
    assert mid_request.params.get("logprobs") is True
    assert "logprobs" not in next(req for m, req in be.calls if m == "cheap-a").params


def test_last_tier_answer_is_returned_even_when_its_validator_rejects(complete):
    be = ScriptedBackend({"solo": Reply("partial", finish_reason="length")})
    r = complete(Cascade(["solo"], backend=be), "q")
    assert r.text == "partial"
    assert any("last tier" in x for x in r.attempts[-1].reasons)
    assert any("truncated" in x for x in r.attempts[-1].reasons)


def test_provider_errors_retry_then_fall_back_then_next_tier(complete):
    be = ScriptedBackend(
        {
            "a": Reply(error=RateLimitError("429", model="a", retry_after=0.0)),
            "a-fallback": Reply(error=ServiceUnavailableError("503", model="a-fallback")),
            "b": "42",
        }
    )
    cascade = Cascade([Tier(["a"], fallbacks=["a-fallback"]), "b"], backend=be, options=FAST)
    r = complete(cascade, "q")
    assert r.text == "42" and r.escalated
    assert be.called("a") == 2 and be.called("a-fallback") == 2  # one retry each, bounded
    kinds = [a.error_kind for a in r.attempts if a.status == "error"]
    assert kinds == ["rate_limit", "rate_limit", "unavailable", "unavailable"]


def test_retry_after_longer_than_the_cap_skips_the_wait(complete):
    be = ScriptedBackend({"a": Reply(error=RateLimitError("429", model="a", retry_after=3600)), "b": "ok"})
    r = complete(Cascade(["a", "b"], backend=be, options=FAST), "q")
    assert r.text == "ok" and be.called("a") == 1


def test_context_window_error_is_not_retried_and_moves_on(complete):
    be = ScriptedBackend({"small": Reply(error=ContextWindowError("too long", model="small")), "big": "ok"})
    r = complete(Cascade(["small", "big"], backend=be, options=FAST), "q")
    assert r.model == "big" and be.called("small") == 1


def test_everything_failing_raises_exhausted_listing_every_attempt(complete):
    err = ServiceUnavailableError("boom", model="x")
    be = ScriptedBackend({"a": Reply(error=err), "b": Reply(error=err)})
    with pytest.raises(ExhaustedError) as info:
        complete(Cascade(["a", "b"], backend=be, options=FAST), "q")
    assert len(info.value.attempts) == 4
    assert "tier1/a: unavailable" in str(info.value) and "tier2/b: unavailable" in str(info.value)


def test_unexpected_backend_exception_becomes_a_provider_error(complete):
    class Broken(ScriptedBackend):
        def complete(self, spec, request):
            if spec.label == "bad":
                raise KeyError("choices")
            return super().complete(spec, request)

    be = Broken({"good": "fine"})
    r = complete(Cascade(["bad", "good"], backend=be, options=FAST), "q")
    assert r.text == "fine" and r.attempts[0].status == "error"


def test_buffered_stream_never_leaks_a_rejected_draft(stream):
    be = ScriptedBackend(
        {
            "cheap-a": "WRONG-1",
            "cheap-b": "WRONG-2",
            "mid": Reply("nope", logprob=-3),
            "strong": "the verified answer",
        }
    )
    events = stream(three_tier(be), "q")
    text = "".join(e.text for e in events if e.type == "delta")
    assert text == "the verified answer"
    assert [e.type for e in events].count("delta") > 1  # the verifier streams live
    assert events[-1].type == "final" and events[-1].result.text == "the verified answer"
    assert events[-1].result.cost == pytest.approx(0.004)
    assert not any(e.type == "escalation" for e in events)


def test_buffered_stream_emits_an_accepted_draft_after_validation(stream):
    be = ScriptedBackend({"cheap-a": "7", "cheap-b": "7", "mid": "x", "strong": "y"})
    events = stream(three_tier(be), "q")
    assert [e.type for e in events] == ["delta", "final"] and events[0].text == "7"


def test_optimistic_stream_announces_escalation_before_the_next_tier(stream):
    be = ScriptedBackend({"draft": "guess", "strong": "solid answer"})
    cascade = Cascade(
        [Tier(["draft"], validator=lambda d, r: False), "strong"],
        backend=be,
        options=CascadeOptions(stream_mode="optimistic"),
    )
    events = stream(cascade, "q")
    types = [e.type for e in events]
    esc = types.index("escalation")
    assert "".join(e.text for e in events[:esc] if e.type == "delta") == "guess"
    assert "".join(e.text for e in events[esc:] if e.type == "delta") == "solid answer"
    assert events[-1].result.model == "strong"


def test_mid_stream_failure_is_announced_and_falls_back(stream):
    be = ScriptedBackend(
        {
            "v": Reply("abcdefghi", error=ServiceUnavailableError("reset", model="v"), fail_after_chunks=1),
            "v2": "recovered",
        }
    )
    cascade = Cascade(
        [Tier(["v"], fallbacks=["v2"])], backend=be, options=CascadeOptions(retry=RetryPolicy(max_retries=0))
    )
    events = stream(cascade, "q")
    types = [e.type for e in events]
    assert types[0] == "delta" and "escalation" in types
    after = types.index("escalation")
    assert "".join(e.text for e in events[after:] if e.type == "delta") == "recovered"
    assert events[-1].result.text == "recovered"


def test_tool_call_answers_are_validated_like_text(complete):
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    bad = Reply(tool_calls=(ToolCall("c1", "launch_rockets", "{}"),))
    good = Reply(tool_calls=(ToolCall("c2", "get_weather", json.dumps({"city": "Paris"})),))
    be = ScriptedBackend({"cheap": bad, "strong": good})
    r = complete(Cascade(["cheap", "strong"], backend=be), "weather in Paris?", tools=tools)
    assert r.model == "strong" and r.tool_calls[0].name == "get_weather"
    assert r.attempts[0].status == "rejected"
    assert r.message()["tool_calls"][0]["function"]["name"] == "get_weather"


def test_structured_output_is_validated_against_the_schema(complete):
    fmt = {
        "type": "json_schema",
        "json_schema": {
            "name": "a",
            "schema": {
                "type": "object",
                "properties": {"answer": {"type": "integer"}},
                "required": ["answer"],
            },
        },
    }
    be = ScriptedBackend({"cheap": '{"answer": "eighteen"}', "strong": '{"answer": 18}'})
    r = complete(Cascade(["cheap", "strong"], backend=be), "q", response_format=fmt)
    assert json.loads(r.text) == {"answer": 18} and r.escalated


def test_sync_and_async_user_validators(complete):
    async def async_check(drafts, request):
        await asyncio.sleep(0)
        return Verdict(drafts[0].text == "yes", 0.9, ("async says so",))

    be = ScriptedBackend({"a": "yes", "b": "no"})
    r = complete(Cascade([Tier(["a"], validator=CallableValidator(async_check)), "b"], backend=be), "q")
    assert r.model == "a" and "async says so" in r.attempts[0].reasons
    r = complete(Cascade([Tier(["a"], validator=lambda d, q: 0.2), "b"], backend=be), "q")
    assert r.model == "b" and r.attempts[0].score == pytest.approx(0.2)


def test_any_of_accepts_agreement_or_a_confident_single_draft(complete):
    v = AnyOf(AgreementValidator(), LogprobValidator(0.9))
    be = ScriptedBackend({"a": Reply("C", logprob=-0.01), "b": Reply("D", logprob=-1.5), "s": "A"})
    r = complete(Cascade([Tier(["a", "b"], validator=v), "s"], backend=be), "q")
    assert r.model == "a" and r.text == "C" and any("confident" in x for x in r.attempts[0].reasons)


def test_async_validator_works_from_sync_code_inside_a_running_loop():
    async def check(drafts, request):
        return True

    be = ScriptedBackend({"a": "x"})
    cascade = Cascade([Tier(["a"], validator=check)], backend=be)

    async def main():  # e.g. a Jupyter cell calling the sync API
        return cascade.complete("q")

    assert asyncio.run(main()).text == "x"


def test_batch_and_abatch_keep_order_and_can_return_exceptions():
    be = ScriptedBackend({"a": "ok"})
    cascade = Cascade(["a"], backend=be)
    out = cascade.batch(["q1", "q2", "q3"], max_concurrency=2)
    assert [r.text for r in out] == ["ok"] * 3
    bad = Cascade(
        ["e"],
        backend=ScriptedBackend({"e": Reply(error=ServiceUnavailableError("x", model="e"))}),
        options=CascadeOptions(retry=RetryPolicy(max_retries=0)),
    )
    res = asyncio.run(bad.abatch(["q1", "q2"], return_exceptions=True))
    assert all(isinstance(x, ExhaustedError) for x in res)


@pytest.mark.parametrize(
    "messages",
    [
        [],
        [{"role": "wizard", "content": "x"}],
        [{"role": "user"}],
        [{"role": "user", "content": 5}],
        42,
        [None],
    ],
)
def test_bad_messages_raise_input_error_naming_the_problem(messages):
    cascade = Cascade(["a"], backend=ScriptedBackend({"a": "x"}))
    with pytest.raises(InputError):
        cascade.complete(messages)


@pytest.mark.parametrize(
    "tiers,field",
    [
        ([], "tiers"),
        (["not a model!"], "model"),
        ([{"model": "a", "bogus": 1}], "tiers[0]"),
        ([[]], "models"),
        ([{"model": "a", "input_cost_per_token": -1, "output_cost_per_token": 0}], "input_cost_per_token"),
        ([Tier(["a"], name="x"), Tier(["b"], name="x")], "tiers"),
    ],
)
def test_bad_configuration_fails_at_construction_naming_the_field(tiers, field):
    with pytest.raises(ConfigError) as info:
        Cascade(tiers)
    assert field in str(info.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda: LogprobValidator(1.5),
        lambda: AgreementValidator(min_agree=1),
        lambda: RuleValidator(checks=["vibes"]),
        lambda: AllOf(),
        lambda: RetryPolicy(max_retries=-1),
        lambda: CascadeOptions(stream_mode="x"),
    ],
)
def test_bad_validator_and_option_settings_raise_config_error(make):
    with pytest.raises(ConfigError):
        make()


def test_abandoned_stream_is_still_settled():
    settled = []

    class Recorder:  # implements the Tracker protocol
        def admit(self, request, plan, estimate):
            from cascadeflow_core import Admission

            return Admission()

        def settle(self, admission, request, attempts, result, request_id):
            settled.append(([a.error_kind for a in attempts], result))

    be = ScriptedBackend({"a": "a long answer streamed in many chunks"})
    it = Cascade(["a"], backend=be, tracker=Recorder()).stream("q")
    next(it)
    it.close()
    # The provider was called and was streaming: the call is booked (issue 25 item 7), marked cancelled.
    assert settled == [(["cancelled"], None)]
