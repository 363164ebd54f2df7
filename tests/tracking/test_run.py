"""Agent runs: caps on cost, model calls and tool calls scoped to a run id, and sticky tiers."""

from __future__ import annotations

import asyncio

import pytest

from cascadeflow_core import (
    AgentRun,
    BudgetExceededError,
    Cascade,
    ConfigError,
    CostTracker,
    LedgerStore,
    ModelSpec,
    RunBudgetExceededError,
    current_run,
)
from tests.support import tracker_stores as _fixtures

# the parametrized ``store`` fixture (memory, SQLite, real Redis) and what it needs
store, store_kind = _fixtures.store, _fixtures.store_kind
redis_server, redis_url = _fixtures.redis_server, _fixtures.redis_url
redis_cluster, redis_cluster_url = _fixtures.redis_cluster, _fixtures.redis_cluster_url
redis_sentinel, redis_sentinel_url = _fixtures.redis_sentinel, _fixtures.redis_sentinel_url
postgres_server, postgres_dsn = _fixtures.postgres_server, _fixtures.postgres_dsn
postgres_schema = _fixtures.postgres_schema

PRICE = {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6}


REFUSAL = "I'm sorry, but I can't help with that."


def _cascade(tracker: CostTracker, cheap: str = REFUSAL, strong: str = "The answer is 42.") -> Cascade:
    # a refusal is rejected by the default validator: every request escalates (2 calls)
    return Cascade(
        [
            ModelSpec("openai/cheap", params={"mock_response": cheap}, **PRICE),
            ModelSpec("openai/strong", params={"mock_response": strong}, **PRICE),
        ],
        tracker=tracker,
    )


def test_model_call_cap_refuses_the_next_request_and_then_everything() -> None:
    tracker = CostTracker()
    cascade = _cascade(tracker)
    with tracker.run("r1", max_model_calls=3) as run:
        assert current_run() is run
        cascade.complete("q1")  # 2 calls
        cascade.complete("q2")  # admitted (2 < 3); its 2 calls are all counted
        assert run.model_calls == 4
        with pytest.raises(RunBudgetExceededError) as e:
            cascade.complete("q3")
        assert isinstance(e.value, BudgetExceededError)
        assert e.value.run_id == "r1" and e.value.limit_kind == "model_calls" and e.value.limit == 3
        with pytest.raises(RunBudgetExceededError, match="already reached"):
            run.tool_call("search")
    assert current_run() is None
    cascade.complete("outside the run: no cap")


def test_cost_cap_reserves_the_estimate_and_charges_the_real_cost() -> None:
    tracker = CostTracker()
    cascade = _cascade(tracker, cheap="fine answer 42")
    # each request reserves its upper estimate (~$0.001: up to 512 output tokens on each tier) and is
    # charged its real cost (~$0.00002): requests stop once spent + the next estimate would pass the cap
    with tracker.run("r2", max_cost=0.0012) as run:
        result = cascade.complete("q")
        assert run.cost == pytest.approx(result.cost)
        with pytest.raises(RunBudgetExceededError) as e:
            for _ in range(100):
                cascade.complete("q")
    assert e.value.limit_kind == "cost" and 0.0001 < run.cost <= 0.0012
    assert run.summary()["exceeded"] == "cost"
    # the refused request was settled by nobody: nothing stays reserved on the run's counter
    assert tracker.store.usage([run.cost_key], tracker.clock())[run.cost_key][1] == 0.0


def test_tool_call_cap_and_guard() -> None:
    tracker = CostTracker()
    run = tracker.run("r3", max_tool_calls=2)
    calls: list[str] = []

    def search(q: str) -> str:
        calls.append(q)
        return "found"

    guarded = run.guard(search)
    assert guarded.__name__ == "search"
    assert guarded("a") == "found" and guarded("b") == "found"
    with pytest.raises(RunBudgetExceededError, match="tool call 'search' refused"):
        guarded("c")
    assert calls == ["a", "b"] and run.tool_calls == 2


def test_async_guard_and_async_cascade_share_the_run() -> None:
    tracker = CostTracker()
    cascade = _cascade(tracker)

    async def lookup(x: str) -> str:
        return x

    async def main() -> None:
        async with tracker.run("r4", max_model_calls=2, max_tool_calls=5) as run:
            assert await run.guard(lookup)("x") == "x"
            await cascade.acomplete("q")  # 2 calls, counted through the worker thread
            with pytest.raises(RunBudgetExceededError):
                await cascade.acomplete("q")
        assert run.model_calls == 2 and run.tool_calls == 1

    asyncio.run(main())


def test_sticky_run_starts_later_requests_at_the_tier_that_answered() -> None:
    tracker = CostTracker()
    cascade = _cascade(tracker)
    with tracker.run("conv", sticky=True) as run:
        first = cascade.complete("q1")
        assert first.escalated and run.sticky_tier == first.tier == "tier2"
        second = cascade.complete("q2")
    assert [a.model for a in second.attempts] == ["openai/strong"]
    assert any("sticky: run 'conv' escalated to 'tier2'" in r for r in second.route)
    with tracker.run("not-sticky"):
        cascade.complete("q1")
        again = cascade.complete("q2")
    assert [a.model for a in again.attempts] == ["openai/cheap", "openai/strong"]


def test_runs_are_named_and_checked() -> None:
    tracker = CostTracker()
    run = tracker.run("same", max_cost=1.0)
    assert tracker.run("same", max_cost=1.0) is run and isinstance(run, AgentRun)
    with pytest.raises(ConfigError, match="other limits"):
        tracker.run("same", max_cost=2.0)
    with pytest.raises(ConfigError, match="max_tool_calls"):
        tracker.run(max_tool_calls=-1)
    tracker.runs.end("same")
    assert tracker.run("same", max_cost=2.0) is not run
    other = CostTracker()
    with other.run("elsewhere", max_model_calls=0):  # a run of another tracker does not apply
        _cascade(tracker).complete("q")


def test_run_caps_are_kept_by_every_store(store: LedgerStore) -> None:  # noqa: F811
    """The run's counters live in the tracker's store (memory, SQLite, Redis) like its budgets."""
    tracker = CostTracker(store)
    cascade = _cascade(tracker)
    with tracker.run("stored", max_model_calls=2, max_tool_calls=1) as run:
        run.tool_call("search")
        with pytest.raises(RunBudgetExceededError, match="tool_calls"):
            run.tool_call("search")
    other = tracker.run("stored-2", max_model_calls=2)
    with other:
        cascade.complete("q")
        with pytest.raises(RunBudgetExceededError, match="model_calls"):
            cascade.complete("q")
    assert other.cost > 0 and tracker.spent() == pytest.approx(other.cost)
