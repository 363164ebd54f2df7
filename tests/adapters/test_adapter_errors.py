"""The same typed errors through every adapter: when every model of the plan failed the same way, the
caller can catch the specific error (rate limit, context window) and ``ExhaustedError`` alike; DSPy sees
its own ``LMRateLimitError`` / ``ContextWindowExceededError``, with the cascade error in the cause chain.
Real framework objects over LiteLLM's mock_response (no network)."""

from __future__ import annotations

import pickle

import pytest

from cascadeflow_core import (
    Cascade,
    CascadeOptions,
    ContextWindowError,
    ExhaustedError,
    ModelSpec,
    RateLimitError,
    RetryPolicy,
)

_NO_RETRY = CascadeOptions(retry=RetryPolicy(max_retries=0))


def _failing(kind: str) -> list[ModelSpec]:
    from cascadeflow_core.providers._litellm import litellm_module

    lm = litellm_module()
    make = {
        "rate_limit": lambda m: lm.RateLimitError("slow down", llm_provider="openai", model=m),
        "context": lambda m: lm.ContextWindowExceededError("too long", model=m, llm_provider="openai"),
    }[kind]
    return [ModelSpec(f"openai/{m}", params={"mock_response": make(m)}) for m in ("cheap", "strong")]


def test_core_raises_an_exhausted_error_that_is_also_the_common_provider_error():
    with pytest.raises(RateLimitError) as e:
        Cascade(_failing("rate_limit"), options=_NO_RETRY).complete("q")
    assert isinstance(e.value, ExhaustedError) and e.value.kind == "rate_limit"
    assert len(e.value.attempts) == 2 and e.value.model == "openai/strong"
    again = pickle.loads(pickle.dumps(e.value))
    assert type(again) is type(e.value)


def test_mixed_failures_stay_a_plain_exhausted_error():
    mixed = [_failing("rate_limit")[0], _failing("context")[1]]
    with pytest.raises(ExhaustedError) as e:
        Cascade(mixed, options=_NO_RETRY).complete("q")
    assert not isinstance(e.value, (RateLimitError, ContextWindowError))


def test_llamaindex_raises_the_typed_error():
    pytest.importorskip("llama_index.core")
    from cascadeflow_llamaindex import CascadeLLM

    llm = CascadeLLM(Cascade(_failing("context"), options=_NO_RETRY))
    with pytest.raises(ContextWindowError) as e:
        llm.complete("q")
    assert isinstance(e.value, ExhaustedError)


@pytest.mark.parametrize(
    ("kind", "dspy_error"), [("rate_limit", "LMRateLimitError"), ("context", "ContextWindowExceededError")]
)
def test_dspy_sees_its_own_error_classes(kind, dspy_error):
    dspy = pytest.importorskip("dspy")
    from cascadeflow_dspy import CascadeLM

    lm = CascadeLM(Cascade(_failing(kind), options=_NO_RETRY))
    with dspy.context(lm=lm), pytest.raises(Exception) as e:  # noqa: PT011 (checked below)
        lm("q")
    names = {c.__name__ for c in type(e.value).__mro__}
    assert dspy_error in names, f"DSPy raised {type(e.value).__mro__}"
    chain, cur = [], e.value
    while cur is not None and len(chain) < 5:
        chain.append(cur)
        cur = cur.__cause__
    assert any(isinstance(c, ExhaustedError) for c in chain), chain
