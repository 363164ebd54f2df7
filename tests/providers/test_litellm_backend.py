"""The LiteLLM backend: real ``litellm.completion`` calls with ``mock_response``, error mapping, costs."""

from __future__ import annotations

import asyncio

import pytest

from cascadeflow_core import (
    Cascade,
    CascadeOptions,
    ContextWindowError,
    Draft,
    ExhaustedError,
    LiteLLMBackend,
    ModelSpec,
    ProviderTimeoutError,
    RateLimitError,
    Request,
    RetryPolicy,
    ServiceUnavailableError,
)
from cascadeflow_core.providers._litellm import estimate_cost, map_exception, price

REQ = Request([{"role": "user", "content": "hi"}])
TOOLS = [
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


def test_complete_reads_text_usage_and_litellm_price():
    d = LiteLLMBackend().complete(ModelSpec("openai/gpt-4o-mini", params={"mock_response": "hello"}), REQ)
    assert d.text == "hello" and d.finish_reason == "stop"
    assert d.input_tokens > 0 and d.output_tokens > 0
    assert d.cost == pytest.approx(price(ModelSpec("openai/gpt-4o-mini"), d.input_tokens, d.output_tokens))


def test_logprobs_and_cost_are_read_from_litellm_responses_and_plain_objects():
    from types import SimpleNamespace

    from litellm.types.utils import Choices, ModelResponse

    from cascadeflow_core.providers._litellm import to_draft

    spec = ModelSpec("openai/gpt-4o-mini")
    lp = {
        "content": [
            {"token": "4", "logprob": -0.25, "bytes": None, "top_logprobs": []},
            {"token": ".", "logprob": -0.75, "bytes": None, "top_logprobs": []},
        ]
    }
    resp = ModelResponse(choices=[Choices(message={"role": "assistant", "content": "4."}, logprobs=lp)])
    resp._hidden_params["response_cost"] = 0.125
    d = to_draft(spec, resp, 0.0)
    assert (d.text, d.logprob, d.mean_logprob, d.cost) == ("4.", -1.0, -0.5, 0.125)
    without = to_draft(
        spec, ModelResponse(choices=[Choices(message={"role": "assistant", "content": "4"})]), 0.0
    )
    assert without.logprob is None and without.mean_logprob is None
    # Any object shaped like an OpenAI response works too (custom backends, other SDKs).
    plain = SimpleNamespace(
        choices=[
            SimpleNamespace(
                message=SimpleNamespace(content="4", tool_calls=None),
                finish_reason="stop",
                logprobs=SimpleNamespace(content=[SimpleNamespace(logprob=-0.5)]),
            )
        ],
        usage=SimpleNamespace(prompt_tokens=10, completion_tokens=1),
        _hidden_params={"response_cost": 0.5},
    )
    d = to_draft(spec, plain, 0.0)
    assert (d.logprob, d.cost, d.input_tokens) == (-0.5, 0.5, 10)


def test_configured_prices_override_litellm_prices():
    spec = ModelSpec(
        "openai/gpt-4o-mini",
        input_cost_per_token=1.0,
        output_cost_per_token=2.0,
        params={"mock_response": "hello"},
    )
    d = LiteLLMBackend().complete(spec, REQ)
    assert d.cost == pytest.approx(d.input_tokens * 1.0 + d.output_tokens * 2.0)


def test_unpriceable_model_costs_zero_and_price_is_none():
    spec = ModelSpec("openai/my-private-finetune", params={"mock_response": "x"})
    assert price(spec, 10, 10) is None
    assert estimate_cost(spec, REQ) == 0.0


def test_estimate_uses_max_tokens_as_the_output_bound():
    spec = ModelSpec("m", input_cost_per_token=0.0, output_cost_per_token=1.0)
    assert estimate_cost(spec, Request([{"role": "user", "content": "x"}], max_tokens=100)) == 100.0


def test_streaming_yields_deltas_then_one_draft_with_usage():
    spec = ModelSpec("openai/gpt-4o-mini", params={"mock_response": "a streamed answer"})
    items = list(LiteLLMBackend().stream(spec, REQ))
    assert isinstance(items[-1], Draft) and all(isinstance(i, str) for i in items[:-1])
    assert "".join(items[:-1]) == "a streamed answer" == items[-1].text
    assert items[-1].output_tokens > 0 and items[-1].cost > 0


def test_async_and_async_stream():
    spec = ModelSpec("openai/gpt-4o-mini", params={"mock_response": "async hello"})

    async def main():
        d = await LiteLLMBackend().acomplete(spec, REQ)
        items = [i async for i in LiteLLMBackend().astream(spec, REQ)]
        return d, items

    d, items = asyncio.run(main())
    assert d.text == "async hello" and items[-1].text == "async hello"


def test_tool_calls_come_back_as_tool_calls():
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    spec = ModelSpec("openai/gpt-4o-mini", params={"mock_tool_calls": [call]})
    d = LiteLLMBackend().complete(spec, Request([{"role": "user", "content": "weather?"}], tools=TOOLS))
    assert d.tool_calls[0].name == "get_weather" and d.tool_calls[0].arguments == '{"city": "Paris"}'


@pytest.mark.parametrize(
    "mock,expected",
    [
        ("litellm.RateLimitError", RateLimitError),
        ("litellm.InternalServerError", ServiceUnavailableError),
        ("litellm.ContextWindowExceededError", ContextWindowError),
    ],
)
def test_provider_errors_map_onto_the_typed_tree(mock, expected):
    spec = ModelSpec("openai/gpt-4o-mini", params={"mock_response": mock})
    with pytest.raises(expected) as info:
        LiteLLMBackend().complete(spec, REQ)
    assert info.value.model == "openai/gpt-4o-mini"
    assert info.value.__cause__ is not None  # raise ... from e


def test_timeout_maps_to_provider_timeout():
    spec = ModelSpec(
        "openai/gpt-4o-mini", params={"mock_response": "x", "mock_timeout": True, "timeout": 0.01}
    )
    with pytest.raises(ProviderTimeoutError):
        LiteLLMBackend().complete(spec, REQ)


def test_unknown_exceptions_still_map_to_a_provider_error():
    err = map_exception(ValueError("weird"), "m")
    assert err.model == "m" and "weird" in str(err)


def test_cascade_over_litellm_escalates_past_errors_and_reports_costs():
    cascade = Cascade(
        [
            ModelSpec("openai/gpt-4o-mini", params={"mock_response": "litellm.RateLimitError"}),
            ModelSpec("openai/gpt-4o", params={"mock_response": "fine"}),
        ],
        options=CascadeOptions(retry=RetryPolicy(max_retries=0)),
    )
    r = cascade.complete("q")
    assert r.text == "fine" and r.escalated and r.attempts[0].error_kind == "rate_limit"
    assert r.cost > 0 and r.verifier_cost == pytest.approx(r.cost)


def test_all_failing_raises_exhausted():
    cascade = Cascade(
        [ModelSpec("openai/gpt-4o", params={"mock_response": "litellm.InternalServerError"})],
        options=CascadeOptions(retry=RetryPolicy(max_retries=0)),
    )
    with pytest.raises(ExhaustedError, match="unavailable"):
        cascade.complete("q")


def test_api_key_is_not_in_repr():
    spec = ModelSpec("openai/gpt-4o", api_key="sk-secret-123")
    assert "sk-secret-123" not in repr(spec) and "sk-secret-123" not in repr(Cascade([spec]))
