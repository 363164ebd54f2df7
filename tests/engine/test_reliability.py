"""Fault injection through the whole cascade, over a real local HTTP server (sync, async, streaming).

Every request either answers (through a retry, a fallback or the next tier) or raises a typed
``CascadeError`` listing what was tried; no other exception type escapes; every model call the server
saw is one recorded attempt (no hidden LiteLLM / openai-SDK retries); retries are bounded; and the
tracker's ledger equals the sum of the recorded attempt costs.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from cascadeflow_core import (
    Cascade,
    CascadeError,
    CascadeOptions,
    CascadeResult,
    CostTracker,
    ExhaustedError,
    MemoryStore,
    ModelSpec,
    Request,
    RetryPolicy,
    SQLiteStore,
    Tier,
    Verdict,
)
from cascadeflow_core._errors import RateLimitError, ServiceUnavailableError
from cascadeflow_core.testing import FAULT_KINDS, Faults, OpenAICompatServer

CLIENT_TIMEOUT = 1.0  # generous: a busy CI machine must not turn normal calls into timeouts
RETRY = RetryPolicy(max_retries=1, backoff=0.005, max_backoff=0.02, max_retry_after=0.05)
_QID = re.compile(r"\[q(\d+)\]")


def _has_digit(drafts: Sequence[Any], request: Request) -> Verdict:
    ok = bool(re.search(r"\d", drafts[0].text))
    return Verdict(ok, 0.9 if ok else 0.1, ("states a number" if ok else "no number",), validator="has_digit")


def _spec(server: OpenAICompatServer, name: str, price: float) -> ModelSpec:
    return ModelSpec(
        f"openai/{name}",
        api_base=server.base_url,
        api_key="sk-local-test",
        input_cost_per_token=price,
        output_cost_per_token=4 * price,
        params={"timeout": CLIENT_TIMEOUT},
    )


def _cascade(
    server: OpenAICompatServer, tracker: CostTracker | None = None, retry: RetryPolicy = RETRY
) -> Cascade:
    cheap = Tier(
        [_spec(server, "small", 1e-7)],
        fallbacks=[_spec(server, "small-b", 2e-7)],
        validator=_has_digit,
        name="cheap",
    )
    strong = Tier([_spec(server, "big", 3e-6)], name="strong")
    return Cascade([cheap, strong], tracker=tracker, options=CascadeOptions(retry=retry))


def _server(rate: float, seed: int, kinds: tuple[str, ...] = FAULT_KINDS) -> OpenAICompatServer:
    # "small" sometimes hedges (no number), so some requests escalate even without faults.
    replies = {"small": ["4", "I am not sure.", "4", "4"], "small-b": "4", "big": "The answer is 4."}
    return OpenAICompatServer(
        replies=replies, seed=seed, faults=Faults(rate=rate, kinds=kinds, retry_after=0.01, hang_s=3.0)
    )


def _question(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"[q{i}] What is 2 + 2?"}]


def _calls_per_query(server: OpenAICompatServer) -> Counter[int]:
    out: Counter[int] = Counter()
    for body in server.bodies:
        m = _QID.search(str(body["messages"][-1]["content"]))
        assert m, body
        out[int(m.group(1))] += 1
    return out


def _check_outcomes(
    outcomes: dict[int, Any], server: OpenAICompatServer, tracker: CostTracker
) -> Counter[str]:
    """The promise, checked per request; returns how many answered / failed for the caller's sanity checks."""
    calls = _calls_per_query(server)
    tally: Counter[str] = Counter()
    all_attempts = []
    for i, out in outcomes.items():
        assert isinstance(out, (CascadeResult, CascadeError)), f"q{i}: untyped {type(out).__name__}: {out!r}"
        if isinstance(out, CascadeResult):
            assert re.search(r"\d", out.text), out
            attempts = out.attempts
            tally["answered"] += 1
        else:
            assert isinstance(out, ExhaustedError), f"q{i}: {out!r}"
            assert out.attempts and "Tried:" in str(out)
            assert all(a.model in str(out) for a in out.attempts)
            attempts = out.attempts
            tally["exhausted"] += 1
        all_attempts.extend(attempts)
        # every HTTP request the server saw is exactly one recorded attempt: no hidden retries (a model the
        # circuit breaker skipped is recorded too, as a circuit_open attempt, but sends no request)
        called = [a for a in attempts if a.error_kind != "circuit_open"]
        assert calls[i] == len(called), (i, calls[i], [a.describe() for a in attempts])
        # bounded: (1 + max_retries) per model of the plan (small, small-b, big)
        assert len(attempts) <= 3 * (1 + RETRY.max_retries)
    tracker.flush()
    entries = tracker.entries()
    assert len(entries) == len(all_attempts), "one ledger entry per attempt, errors included"
    assert tracker.spent() == pytest.approx(sum(a.cost for a in all_attempts), rel=1e-9, abs=1e-15)
    assert Counter(e.status for e in entries) == Counter(a.status for a in all_attempts)
    return tally


def _faulted(server: OpenAICompatServer) -> Counter[str]:
    return Counter(r.fault for r in server.served if r.fault)


@pytest.mark.parametrize(("rate", "n"), [(0.01, 60), (0.1, 60), (0.5, 60)])
def test_sync_faults_every_request_answers_or_raises_typed(rate: float, n: int) -> None:
    tracker = CostTracker(MemoryStore())
    with _server(rate, seed=int(rate * 1000)) as server:
        cascade = _cascade(server, tracker)

        def one(i: int) -> Any:
            try:
                return cascade.complete(_question(i), user=f"u{i % 5}")
            except CascadeError as e:
                return e

        with ThreadPoolExecutor(8) as pool:
            outcomes = dict(zip(range(n), pool.map(one, range(n)), strict=True))
        tally = _check_outcomes(outcomes, server, tracker)
    assert tally["answered"] > 0
    if rate >= 0.5:
        assert len(_faulted(server)) >= 5, _faulted(server)  # most fault kinds were exercised


@pytest.mark.parametrize(("rate", "n"), [(0.05, 80), (0.3, 80), (0.5, 80)])
async def test_async_faults_every_request_answers_or_raises_typed(rate: float, n: int, tmp_path: Any) -> None:
    tracker = CostTracker(SQLiteStore(tmp_path / "ledger.db"))
    with _server(rate, seed=7 + int(rate * 100)) as server:
        cascade = _cascade(server, tracker)
        outs = await cascade.abatch(
            [_question(i) for i in range(n)], max_concurrency=16, return_exceptions=True
        )
        outcomes = dict(enumerate(outs))
        tally = _check_outcomes(outcomes, server, tracker)
    tracker.store.close()
    assert tally["answered"] > 0


def _stream_sync(cascade: Cascade, i: int) -> Any:
    final = None
    try:
        for ev in cascade.stream(_question(i)):
            assert ev.type in ("delta", "tool_call", "escalation", "final")
            if ev.type == "final":
                final = ev.result
    except CascadeError as e:
        return e
    return final


async def _stream_async(cascade: Cascade, i: int) -> Any:
    final = None
    try:
        async for ev in cascade.astream(_question(i)):
            if ev.type == "final":
                final = ev.result
    except CascadeError as e:
        return e
    return final


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_streaming_under_faults_incl_mid_stream(mode: str) -> None:
    tracker = CostTracker(MemoryStore())
    kinds = ("midstream", "midstream", "reset", "rate_limit", "unavailable", "malformed", "context_window")
    with _server(0.3, seed=99, kinds=kinds) as server:
        cascade = _cascade(server, tracker)
        if mode == "sync":
            outcomes = {i: await asyncio.to_thread(_stream_sync, cascade, i) for i in range(40)}
        else:
            outcomes = dict(
                zip(
                    range(40),
                    await asyncio.gather(*(_stream_async(cascade, i) for i in range(40))),
                    strict=True,
                )
            )
        _check_outcomes(outcomes, server, tracker)
        assert _faulted(server)["midstream"] > 0


def test_every_kind_alone_at_full_rate_raises_exhausted_listing_each_model() -> None:
    for kind in FAULT_KINDS:
        tracker = CostTracker()
        with _server(1.0, seed=3, kinds=(kind,)) as server:
            with pytest.raises(ExhaustedError) as info:
                _cascade(server, tracker).complete(_question(0))
            err = info.value
            kinds = {a.error_kind for a in err.attempts}
            assert {a.model for a in err.attempts} == {"openai/small", "openai/small-b", "openai/big"}, kind
            assert len(kinds) == 1 and None not in kinds, (kind, kinds)
            assert _calls_per_query(server)[0] == len(err.attempts)
        assert tracker.spent() == 0.0 and len(tracker.entries()) == len(err.attempts)


# --- retries: bounded, backoff with jitter, retry-after honoured ---------------------------------------------


def test_retry_after_is_honoured_between_the_two_requests() -> None:
    with _server(0.0, seed=1) as server:
        server.fail_next("rate_limit", model="small", retry_after=0.3)
        retry = RetryPolicy(max_retries=2, backoff=0.0, max_retry_after=1.0)
        result = _cascade(server, retry=retry).complete(_question(0))
        first, second = server.requests_for("small")
    assert result.model == "openai/small" and [a.status for a in result.attempts] == ["error", "accepted"]
    assert result.attempts[0].error_kind == "rate_limit"
    assert second.at - first.at >= 0.3  # the server saw the retry no sooner than it asked


def test_retry_after_beyond_the_cap_moves_on_instead_of_waiting() -> None:
    with _server(0.0, seed=1) as server:
        server.fail_next("rate_limit", model="small", retry_after=30)
        result = _cascade(server, retry=RetryPolicy(max_retries=3, max_retry_after=1.0)).complete(
            _question(0)
        )
        assert server.counts["small"] == 1 and server.counts["small-b"] == 1
    assert result.model == "openai/small-b"


def test_retries_are_bounded_per_model_then_fall_through() -> None:
    with _server(0.0, seed=1) as server:
        server.fail_next("unavailable", 100, model="small")
        server.fail_next("server_error", 100, model="small-b")
        retry = RetryPolicy(max_retries=2, backoff=0.001, max_backoff=0.002)
        result = _cascade(server, retry=retry).complete(_question(0))
        assert server.counts == Counter({"small": 3, "small-b": 3, "big": 1})
    assert result.model == "openai/big" and result.escalated


def test_non_retryable_errors_are_not_retried() -> None:
    with _server(0.0, seed=1) as server:
        server.fail_next("context_window", 100, model="small")
        result = _cascade(server, retry=RetryPolicy(max_retries=5, backoff=0.0)).complete(_question(0))
        assert server.counts["small"] == 1
    assert result.attempts[0].error_kind == "context_window" and result.model == "openai/small-b"


def test_backoff_is_exponential_capped_and_jittered() -> None:
    import random

    policy = RetryPolicy(max_retries=6, backoff=0.1, max_backoff=0.5)
    rng = random.Random(0)
    err = ServiceUnavailableError("x", model="m")
    for n in range(1, 7):
        samples = [policy.delay(n, err, rng) for _ in range(200)]
        cap = min(0.5, 0.1 * 2 ** (n - 1))
        assert all(s is not None and 0.0 <= s <= cap for s in samples)
        assert len({round(s, 9) for s in samples if s is not None}) > 150  # full jitter: no thundering herd
    assert policy.delay(7, err, rng) is None
    assert policy.delay(1, RateLimitError("x", retry_after=0.2), rng) == 0.2
    assert policy.delay(1, RateLimitError("x", retry_after=99), rng) is None


async def test_async_retry_after_does_not_block_the_event_loop() -> None:
    with _server(0.0, seed=1) as server:
        server.fail_next("rate_limit", model="small", retry_after=0.2)
        cascade = _cascade(server, retry=RetryPolicy(max_retries=1, max_retry_after=1.0))
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        result = await cascade.acomplete(_question(0))
        task.cancel()
        first, second = server.requests_for("small")
    assert result.model == "openai/small" and second.at - first.at >= 0.2
    assert ticks >= 3  # the loop kept running while the retry waited
