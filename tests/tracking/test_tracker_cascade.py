"""The tracker inside a Cascade (LiteLLM mock responses), bad configuration, and store failures."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from cascadeflow_core import (
    Budget,
    BudgetExceededError,
    Cascade,
    ConfigError,
    CostTracker,
    ExhaustedError,
    MemoryStore,
    ModelSpec,
    RateLimit,
    RedisStore,
    SQLiteStore,
    StorageError,
    Tier,
    TrackerPolicy,
    UserRateLimitError,
)

MINI = "openai/gpt-4o-mini"
BIG = "openai/gpt-4o"


def mock(model: str, text: str) -> ModelSpec:
    return ModelSpec(model, params={"mock_response": text})


def has_number(drafts, request) -> bool:  # type: ignore[no-untyped-def]
    return any(ch.isdigit() for ch in drafts[0].text)


def test_single_model_tracked_without_cascade_logic():
    tracker = CostTracker(budgets=[Budget(1.0, "daily")], rate_limits=[RateLimit(2, per="hour")])
    model = tracker.track(mock(MINI, "Paris"))
    r = model.complete("Capital of France?", user="alice", tags=("geo",))
    assert r.text == "Paris" and r.cost > 0
    [entry] = tracker.entries()
    assert (entry.user, entry.model, entry.status, entry.tags) == ("alice", MINI, "accepted", ("geo",))
    assert entry.cost == pytest.approx(r.cost) and entry.input_tokens > 0 and entry.request_id == r.request_id
    assert r.admission["decision"] == "allow"
    model.complete("again", user="alice")
    with pytest.raises(UserRateLimitError) as ei:
        model.complete("third", user="alice")
    assert ei.value.retry_after is not None and ei.value.retry_after > 3500


async def test_cascade_books_rejected_drafts_and_errors_async():
    tracker = CostTracker()
    cascade = Cascade(
        [
            Tier([mock(MINI, "not sure")], name="cheap", validator=has_number),
            Tier(
                [ModelSpec(BIG, params={"mock_response": "litellm.RateLimitError"})],
                fallbacks=[mock("openai/gpt-4.1", "42")],
                name="strong",
                validator=has_number,
            ),
        ],
        tracker=tracker,
    )
    r = await cascade.acomplete("6*7?", user="bob")
    assert r.text == "42"
    statuses = [(e.tier, e.model, e.status) for e in tracker.entries()]
    assert statuses[0] == ("cheap", MINI, "rejected")
    assert ("strong", BIG, "error") in statuses and statuses[-1] == ("strong", "openai/gpt-4.1", "accepted")
    assert tracker.spent(user="bob") == pytest.approx(r.cost)
    assert tracker.entries()[0].cost > 0  # the rejected draft is paid for too


def test_failed_request_is_settled_and_reservation_released():
    store = MemoryStore()
    tracker = CostTracker(store, budgets=[Budget(1.0, "daily")])
    err = ModelSpec(MINI, params={"mock_response": "litellm.RateLimitError"})
    cascade = Cascade([err], tracker=tracker)
    with pytest.raises(ExhaustedError):
        cascade.complete("hi", user="carol")
    assert {e.status for e in tracker.entries()} == {"error"}
    [(key, (spent, reserved))] = store.usage([k for k in store._res], tracker.clock()).items()
    assert reserved == 0.0 and spent == 0.0 and key.startswith("user:carol")


def test_degrade_drops_the_expensive_tier_and_block_stops_calls():
    tracker = CostTracker(budgets=[Budget(0.01, "daily", warn_at=0.5, degrade_at=0.6)])
    cascade = Cascade(
        [Tier([mock(MINI, "cheap 1")], validator=has_number), Tier([mock(BIG, "strong")])], tracker=tracker
    )
    tracker.record(MINI, cost=0.0061, user="dan")
    r = cascade.complete("hi", user="dan", max_tokens=5)
    assert r.admission["decision"] == "degrade" and r.model == MINI
    assert any("degrade" in reason for reason in r.route)
    tracker.record(BIG, cost=0.004, user="dan")
    with pytest.raises(BudgetExceededError) as ei:
        cascade.complete("hi", user="dan", max_tokens=5)
    assert ei.value.limit == pytest.approx(0.01)
    assert len(tracker.entries(user="dan")) == 3  # the blocked request made no call


def test_bad_budgets_and_limits_name_the_field():
    cases = [
        (lambda: Budget(-1), "budget.limit"),
        (lambda: Budget("ten"), "budget.limit"),
        (lambda: Budget(float("nan")), "budget.limit"),
        (lambda: Budget(1, "yearly"), "budget.period"),
        (lambda: Budget(1, scope="team"), "budget.scope"),
        (lambda: Budget(1, mode="stop"), "budget.mode"),
        (lambda: Budget(1, warn_at=0.95, degrade_at=0.9), "warn_at"),
        (lambda: RateLimit(0), "rate_limit.limit"),
        (lambda: RateLimit(5, per="week"), "rate_limit.per"),
        (lambda: RateLimit(5, algorithm="leaky"), "rate_limit.algorithm"),
        (lambda: TrackerPolicy(on_store_error="ignore"), "policy.on_store_error"),
        (lambda: CostTracker(budgets=[5.0]), "budgets[0]"),
        (lambda: CostTracker(store="redis://x"), "store"),
        (lambda: SQLiteStore(""), "SQLiteStore.path"),
    ]
    for make, field in cases:
        with pytest.raises(ConfigError) as ei:
            make()
        assert field in str(ei.value), (field, str(ei.value))


def test_unpriceable_model_refused_at_construction_when_budgets_are_set():
    with pytest.raises(ConfigError, match=r"tiers\[0\]\.models\[0\]\.input_cost_per_token"):
        Cascade(["acme/unknown-model-x"], tracker=CostTracker(budgets=[Budget(1.0)]))
    Cascade(
        [ModelSpec("acme/unknown-model-x", input_cost_per_token=1e-6, output_cost_per_token=2e-6)],
        tracker=CostTracker(budgets=[Budget(1.0)]),
    )
    Cascade(["acme/unknown-model-x"], tracker=CostTracker())  # no budget: nothing to enforce
    with pytest.raises(ConfigError, match="input_cost_per_token"):
        CostTracker().record("acme/unknown-model-x", input_tokens=10)


def _dead_redis() -> RedisStore:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return RedisStore(f"redis://:secret-pw@127.0.0.1:{port}/0")


def test_redis_down_fails_closed_by_default_without_leaking_the_password():
    tracker = CostTracker(_dead_redis(), budgets=[Budget(1.0)])
    cascade = Cascade([mock(MINI, "x")], tracker=tracker)
    with pytest.raises(StorageError, match="fail_closed") as ei:
        cascade.complete("hi", user="u")
    assert "secret-pw" not in str(ei.value) and "secret-pw" not in repr(tracker)


def test_redis_down_fail_open_admits_and_spills(tmp_path, caplog):
    spill = tmp_path / "spill.jsonl"
    policy = TrackerPolicy(on_store_error="fail_open", spill_path=str(spill))
    tracker = CostTracker(_dead_redis(), budgets=[Budget(1.0)], policy=policy)
    cascade = tracker.track(mock(MINI, "x"))
    with caplog.at_level(logging.WARNING, logger="cascadeflow.tracker"):
        r = cascade.complete("hi", user="u")
    assert r.text == "x" and r.admission["decision"] == "allow"
    text = caplog.text
    assert "fail_open" in text and "spill journal" in text and str(spill) in text
    assert tracker.pending == 1
    [line] = spill.read_text().splitlines()
    assert json.loads(line)["entries"][0]["model"] == MINI


class FlakyStore(MemoryStore):
    """A memory store whose writes fail while ``down`` is set (failure injection for recovery tests)."""

    down = False

    def settle(self, op):  # type: ignore[no-untyped-def]
        if self.down:
            raise StorageError("disk full")
        super().settle(op)


def test_spilled_settlements_are_retried_and_survive_a_restart(tmp_path):
    spill = str(tmp_path / "spill.jsonl")
    store = FlakyStore()
    tracker = CostTracker(store, policy=TrackerPolicy(spill_path=spill))
    store.down = True
    tracker.record(MINI, cost=0.01, user="a")
    tracker.record(MINI, cost=0.02, user="b")
    assert tracker.pending == 2 and tracker.entries() == []
    with pytest.raises(StorageError):
        tracker.flush()
    # a new process starts with the journal left behind, and the store is back
    store.down = False
    restarted = CostTracker(store, policy=TrackerPolicy(spill_path=spill))
    assert restarted.pending == 2
    restarted.record(MINI, cost=0.03, user="c")  # the next settlement drains the journal first
    assert restarted.pending == 0 and restarted.spent() == pytest.approx(0.06)
    tracker.flush()  # the old tracker's copies are ignored (idempotent)
    assert restarted.spent() == pytest.approx(0.06)


def test_import_does_not_import_litellm():
    code = "import sys, cascadeflow_core; sys.exit(int(any(m.startswith('litellm') for m in sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


async def test_streamed_requests_are_booked_sync_and_async():
    tracker = CostTracker(budgets=[Budget(1.0)])
    model = tracker.track(mock(MINI, "streamed answer"))
    events = list(model.stream("hi", user="sam"))
    final = events[-1].result
    assert final is not None and final.text == "streamed answer"
    events = [ev async for ev in model.astream("hi", user="sam")]
    assert events[-1].result is not None
    entries = tracker.entries(user="sam")
    assert len(entries) == 2 and all(e.cost > 0 and e.status == "accepted" for e in entries)
    assert tracker.spent(user="sam") == pytest.approx(final.cost + events[-1].result.cost)
