"""The circuit breaker: a provider that keeps failing is skipped for a cooldown instead of costing every
request its retries; the skip is in the trace; a probe after the cooldown closes it (issue 25, item 17).
A real local OpenAI-compatible server injects the failures."""

from __future__ import annotations

import pytest

from cascadeflow_core import (
    Cascade,
    CascadeOptions,
    CircuitBreaker,
    ConfigError,
    ModelSpec,
    RetryPolicy,
    Tier,
)
from cascadeflow_core.testing import OpenAICompatServer


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _cascade(srv: OpenAICompatServer, breaker: CircuitBreaker | None) -> Cascade:
    def spec(model: str) -> ModelSpec:
        return ModelSpec(f"openai/{model}", api_base=srv.base_url, api_key="k")

    return Cascade(
        [Tier([spec("cheap")]), spec("strong")],
        options=CascadeOptions(retry=RetryPolicy(max_retries=1, backoff=0.0), breaker=breaker),
    )


def test_a_failing_model_is_skipped_during_its_cooldown_then_probed():
    clock = Clock()
    with OpenAICompatServer(replies="fine") as srv:
        cascade = _cascade(srv, CircuitBreaker(failures=3, cooldown_s=60, clock=clock))
        srv.fail_next("unavailable", times=4, model="cheap")
        for _ in range(2):  # 2 calls each (1 retry): 4 failures, the breaker opens at the 3rd
            assert cascade.complete("q").text == "fine"
        calls_before = srv.counts["cheap"]
        result = cascade.complete("q")
        assert srv.counts["cheap"] == calls_before, "an open breaker still called the model"
        skipped = [a for a in result.attempts if a.error_kind == "circuit_open"]
        assert skipped and "cooling down until" in (skipped[0].error or "")
        clock.now += 61  # cooldown over: one probe, which succeeds and closes the breaker
        result = cascade.complete("q")
        assert srv.counts["cheap"] == calls_before + 1
        assert not [a for a in result.attempts if a.error_kind == "circuit_open"]


def test_without_a_breaker_every_request_pays_the_retries():
    with OpenAICompatServer(replies="fine") as srv:
        cascade = _cascade(srv, None)
        srv.fail_next("unavailable", times=10, model="cheap")
        for _ in range(5):
            cascade.complete("q")
        assert srv.counts["cheap"] == 10


def test_errors_about_the_request_do_not_open_the_breaker():
    clock = Clock()
    with OpenAICompatServer(replies="fine") as srv:
        cascade = _cascade(srv, CircuitBreaker(failures=1, cooldown_s=60, clock=clock))
        srv.fail_next("context_window", times=3, model="cheap")
        for _ in range(3):
            cascade.complete("q")
        assert srv.counts["cheap"] == 3


@pytest.mark.parametrize("bad", [{"failures": 0}, {"cooldown_s": 0}, {"failures": True}])
def test_bad_breaker_settings_are_config_errors(bad):
    with pytest.raises(ConfigError):
        CircuitBreaker(**bad)
