"""Pytest fixtures around ``cascadeflow_core.testing.OpenAICompatServer`` (import them explicitly).

Example::

    from tests.support.openai_server import openai_server  # noqa: F401 (fixture)

    def test_x(openai_server):
        openai_server.replies = {"small": "4"}
        spec = ModelSpec("openai/small", api_base=openai_server.base_url, api_key="sk-test")
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cascadeflow_core.testing import Faults, OpenAICompatServer, Reply

__all__ = ["Faults", "OpenAICompatServer", "Reply", "local_spec", "openai_server"]


@pytest.fixture
def openai_server() -> Iterator[OpenAICompatServer]:
    """A running local server (answers ``"ok"``; set ``.replies``, ``.faults``, ``.latency`` or ``fail_next``)."""
    with OpenAICompatServer(seed=1234) as server:
        yield server


def local_spec(server: OpenAICompatServer, name: str, **kw: Any) -> Any:
    """A ``ModelSpec`` for model ``name`` served by ``server`` through LiteLLM's OpenAI provider."""
    from cascadeflow_core import ModelSpec

    kw.setdefault("api_key", "sk-local-test")
    return ModelSpec(f"openai/{name}", api_base=server.base_url, **kw)


def load_worker(
    store_spec: tuple[str, str], base_url: str, requests: int, limit: float, barrier: Any
) -> dict[str, Any]:
    """One worker process of the cross-process load test.

    Runs ``requests`` concurrent async cascades (cheap tier validated, strong tier behind it) over the
    local server, booking into a shared SQLite / Redis store under one daily budget for user ``u1``.
    Returns what it saw: outcome type names, attempts made and the sum of their recorded costs.
    """
    import asyncio
    import re

    from cascadeflow_core import (
        Budget,
        Cascade,
        CascadeError,
        CascadeOptions,
        CostTracker,
        ModelSpec,
        RedisStore,
        RetryPolicy,
        SQLiteStore,
        Tier,
        Verdict,
    )

    store = SQLiteStore(store_spec[1]) if store_spec[0] == "sqlite" else RedisStore(store_spec[1])
    tracker = CostTracker(store, budgets=[Budget(limit, "daily")])
    common = {"api_base": base_url, "api_key": "sk-local-test", "params": {"timeout": 2.0}}
    cheap = ModelSpec("openai/small", input_cost_per_token=1e-4, output_cost_per_token=4e-4, **common)
    strong = ModelSpec("openai/big", input_cost_per_token=1e-3, output_cost_per_token=4e-3, **common)

    def has_digit(drafts: Any, request: Any) -> Verdict:
        ok = bool(re.search(r"\d", drafts[0].text))
        return Verdict(ok, 0.9 if ok else 0.1, ("number" if ok else "no number",), validator="has_digit")

    cascade = Cascade(
        [Tier([cheap], validator=has_digit), Tier([strong])],
        tracker=tracker,
        options=CascadeOptions(retry=RetryPolicy(max_retries=1, backoff=0.005, max_retry_after=0.05)),
    )

    async def run() -> list[Any]:
        msgs = [{"role": "user", "content": "What is 2 + 2?"}]
        return await asyncio.gather(
            *(cascade.acomplete(msgs, user="u1", max_tokens=8) for _ in range(requests)),
            return_exceptions=True,
        )

    barrier.wait()
    outs = asyncio.run(run())
    kinds, attempts, cost = [], 0, 0.0
    for out in outs:
        if not isinstance(out, BaseException):
            kinds.append("answered")
            attempts += len(out.attempts)
            cost += sum(a.cost for a in out.attempts)
        elif isinstance(out, CascadeError):
            kinds.append(type(out).__name__)
            tried = getattr(out, "attempts", ())
            attempts += len(tried)
            cost += sum(a.cost for a in tried)
        else:
            kinds.append(f"UNTYPED {type(out).__name__}: {out}")
    tracker.flush()
    store.close()
    return {"kinds": kinds, "attempts": attempts, "cost": cost}
