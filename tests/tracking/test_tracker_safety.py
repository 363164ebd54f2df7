"""Issue 25: nothing lost, nothing leaked, nothing overspent (tracker side).

Each test here failed before its fix; the docstring of each names the item and the figure.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from cascadeflow_core import (
    Budget,
    BudgetExceededError,
    Cascade,
    CostTracker,
    Draft,
    InputError,
    MemoryStore,
    ModelSpec,
    Request,
    ServiceUnavailableError,
    SQLiteStore,
    Tier,
    TrackerPolicy,
)
from tests.support.tracker_stores import Clock


class Backend:
    """Per-model replies: a Draft cost, or an error; optional hook run inside each call."""

    def __init__(self, costs: dict[str, float | Exception], hook: Any = None) -> None:
        self.costs, self.hook = costs, hook
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def complete(self, spec: ModelSpec, request: Request) -> Draft:
        with self.lock:
            self.calls.append(spec.label)
        if self.hook is not None:
            self.hook(spec)
        cost = self.costs[spec.label]
        if isinstance(cost, Exception):
            raise cost
        return Draft(spec.label, "42", finish_reason="stop", input_tokens=10, output_tokens=5, cost=cost)

    async def acomplete(self, spec: ModelSpec, request: Request) -> Draft:
        return self.complete(spec, request)


def spec(name: str, backend: Backend, per_token: float) -> ModelSpec:
    return ModelSpec(name, per_token, per_token, backend=backend)


def test_reservation_covers_the_fallbacks() -> None:
    """Item 2: a dear fallback answered for a failed primary: $0.10 charged on a $0.05 budget -> blocked."""
    backend = Backend({"m/cheap": ServiceUnavailableError("down", model="m/cheap"), "m/dear": 0.10})
    tracker = CostTracker(budgets=[Budget(0.05, "total", scope="user")])
    tier = Tier([spec("m/cheap", backend, 1e-7)], fallbacks=[spec("m/dear", backend, 1e-3)])
    cascade = Cascade([tier], tracker=tracker)
    with pytest.raises(BudgetExceededError):
        cascade.complete("hi", user="u", max_tokens=100)
    assert tracker.spent(user="u") == 0.0 and backend.calls == []
    roomy = CostTracker(budgets=[Budget(1.0, "total", scope="user")])
    r = Cascade([tier], tracker=roomy).complete("hi", user="u", max_tokens=100)
    assert r.admission["reserved"] >= 100 * 1e-3  # the fallback's output alone


def test_model_budget_of_a_fallback_is_reserved_too() -> None:
    """Item 2: a budget on the fallback model applies at admission."""
    backend = Backend({"m/cheap": ServiceUnavailableError("down", model="m/cheap"), "m/dear": 0.10})
    tracker = CostTracker(budgets=[Budget(0.05, "total", scope="model", match="m/dear")])
    tier = Tier([spec("m/cheap", backend, 1e-7)], fallbacks=[spec("m/dear", backend, 1e-3)])
    with pytest.raises(BudgetExceededError):
        Cascade([tier], tracker=tracker).complete("hi", user="u", max_tokens=100)


DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every call is refused at once


def _dead_store() -> Any:
    from cascadeflow_core import RedisStore

    return RedisStore(DEAD_REDIS)


def test_spill_write_failure_never_costs_the_answer(caplog: pytest.LogCaptureFixture) -> None:
    """Item 3: store down and the spill file on a full disk (/dev/full): 82/329 answers lost -> 0."""
    backend = Backend({"m/a": 0.01})
    tracker = CostTracker(
        _dead_store(), policy=TrackerPolicy(on_store_error="fail_open", spill_path="/dev/full")
    )
    cascade = Cascade([spec("m/a", backend, 1e-6)], tracker=tracker)
    with caplog.at_level(logging.ERROR, logger="cascadeflow.tracker"):
        results = [cascade.complete(f"q{i}", user="u") for i in range(5)]
    assert [r.text for r in results] == ["42"] * 5
    assert tracker.pending == 5 and tracker.spill_write_errors >= 5
    assert any("cannot write the spill journal" in r.getMessage() for r in caplog.records)
    tracker.store = MemoryStore()  # the store is back: the kept settlements are written
    tracker.flush()
    assert tracker.pending == 0 and len(tracker.entries()) == 5
    assert tracker.spent(user="u") == pytest.approx(0.05)


def _settle_op(i: int) -> Any:
    from cascadeflow_core.tracking._stores import LedgerEntry, SettleOp

    entry = LedgerEntry(f"r{i}:0", 1_790_000_000.0 + i, f"r{i}", "u", "m/a", 0.01)
    return SettleOp(f"r{i}~settle", None, (), {}, (), (entry,), entry.ts)


def test_workers_sharing_a_spill_journal_lose_nothing(tmp_path: Path) -> None:
    """Item 11: A's flush deleted B's lines: 3 of 6 entries lost -> 0 (locked appends, drain settles all)."""
    from cascadeflow_core.tracking._spill import Spill

    path = str(tmp_path / "spill.jsonl")
    a, b = Spill(100, path), Spill(100, path)
    for i in range(3):
        a.add(_settle_op(i))
        b.add(_settle_op(10 + i))
    store = MemoryStore()
    a.drain(store)  # A's drain settles B's journaled lines too (idempotent by op id)
    assert len(store.entries()) == 6
    b.drain(store)  # B settling its own again counts once
    assert len(store.entries()) == 6 and Path(path).read_text() == ""


def test_a_torn_spill_line_is_skipped_and_counted(tmp_path: Path) -> None:
    """Item 11: a torn last line made CostTracker(...) raise JSONDecodeError -> skipped, counted, kept aside."""
    path = tmp_path / "spill.jsonl"
    from cascadeflow_core.tracking._spill import op_to_dict

    good = json.dumps(op_to_dict(_settle_op(1)))
    path.write_text(good + "\n" + good[: len(good) // 2])  # a crash mid-write
    tracker = CostTracker(MemoryStore(), policy=TrackerPolicy(spill_path=str(path)))
    assert tracker.pending == 1 and tracker.spill_torn_lines == 1
    assert (tmp_path / "spill.jsonl.torn").read_text().strip() == good[: len(good) // 2]
    tracker.flush()
    assert len(tracker.entries()) == 1 and tracker.pending == 0
    # an append after a torn tail starts on a fresh line, so it is never swallowed
    path.write_text(good[:10])
    spill_tracker = CostTracker(_dead_store(), policy=TrackerPolicy(spill_path=str(path)))
    spill_tracker.record("m/a", cost=0.01, user="u")
    again = CostTracker(MemoryStore(), policy=TrackerPolicy(spill_path=str(path)))
    assert again.pending == 1


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
def test_a_user_id_with_a_lone_surrogate_is_refused_at_the_door(store_kind: str, tmp_path: Path) -> None:
    """Item 10: "bob\\ud800" raised UnicodeEncodeError after the model call (answer lost) -> InputError, 0 calls."""
    backend = Backend({"m/a": 0.01})
    store = MemoryStore() if store_kind == "memory" else SQLiteStore(tmp_path / "l.db")
    cascade = Cascade([spec("m/a", backend, 1e-6)], tracker=CostTracker(store))
    for kwargs in ({"user": "bob\ud800"}, {"tags": ["ok", "t\udfff"]}):
        with pytest.raises(InputError, match="surrogate"):
            cascade.complete("hi", **kwargs)
    with pytest.raises(InputError):
        Request("hi", user="bob\ud800")
    assert backend.calls == [] and store.entries() == []
    assert cascade.complete("hi", user="bob\u00e9").text == "42"  # any valid Unicode is fine


def test_a_reservation_is_held_while_its_request_runs() -> None:
    """Item 4: reservation_ttl_s=1 and 2 s calls: 10 requests ran on a budget for 5 -> 5."""
    clock = Clock()

    def slow_call(spec: ModelSpec) -> None:
        clock.advance(2.0)  # the provider takes 2 s (on the tracker's clock) ...
        time.sleep(0.6)  # ... and really overlaps the next admissions

    backend = Backend({"m/a": 1.0}, hook=slow_call)
    tracker = CostTracker(
        budgets=[Budget(5.0, "total", scope="user")],
        policy=TrackerPolicy(reservation_ttl_s=1.0),
        clock=clock,
    )
    cascade = Cascade([ModelSpec("m/a", 0.0, 0.01, backend=backend)], tracker=tracker)
    outcomes: list[str] = []

    def one() -> None:
        try:
            cascade.complete("hi", user="u", max_tokens=100)  # reserves exactly $1
            outcomes.append("ran")
        except BudgetExceededError:
            outcomes.append("blocked")

    threads = [threading.Thread(target=one) for _ in range(10)]
    for t in threads:
        t.start()
        time.sleep(0.03)
    for t in threads:
        t.join()
    assert outcomes.count("ran") == 5 and tracker.spent(user="u") == pytest.approx(5.0)


def test_litellm_calls_get_a_default_timeout_below_the_reservation_ttl() -> None:
    """Item 4: no request timeout (a 12 s hang waited out; SDK 600 s == TTL 600 s) -> a default."""
    from cascadeflow_core.providers._litellm import DEFAULT_TIMEOUT_S, _kwargs

    kw = _kwargs(ModelSpec("openai/gpt-4o-mini"), Request("hi"))
    assert kw["timeout"] == DEFAULT_TIMEOUT_S < TrackerPolicy().reservation_ttl_s
    assert _kwargs(ModelSpec("openai/x", params={"timeout": 5}), Request("hi"))["timeout"] == 5


def test_without_max_tokens_the_reservation_learns_the_real_output() -> None:
    """Item 6: a $0.02 budget blocked after 20 calls with $0.0024 spent -> reserves a p99 of real outputs."""
    backend = Backend({"m/a": 0.00012})
    tracker = CostTracker(budgets=[Budget(0.02, "daily", scope="user")])
    # 5 output tokens a call at $2.4e-5 each; the old default reserved 512 of them ($0.0123): 65 calls.
    cascade = Cascade([ModelSpec("m/a", 1e-6, 2.4e-5, backend=backend)], tracker=tracker)
    ran = 0
    for _ in range(150):
        try:
            cascade.complete("hi", user="u")
            ran += 1
        except BudgetExceededError:
            break
    assert ran >= 100  # was 65, blocked with $0.0078 of $0.02 spent
    assert tracker.output_bound("m/a") == 5
    # with max_tokens the reservation stays the exact worst case
    r = cascade.complete("hi", user="other", max_tokens=50)
    assert r.admission["reserved"] >= 50 * 2.4e-5


async def test_cancel_during_admission_releases_the_reservation() -> None:
    """Item 7: five requests timed out in admission held $ for 10 minutes -> released at once."""
    import asyncio

    backend = Backend({"m/a": 0.01})
    store = MemoryStore()

    def slow_enforce(ctx: Any) -> None:
        time.sleep(0.3)  # a slow billing callback: the caller gives up meanwhile

    tracker = CostTracker(store, budgets=[Budget(1.0, "total", scope="user")], on_enforce=slow_enforce)
    cascade = Cascade([ModelSpec("m/a", 1e-6, 1e-3, backend=backend)], tracker=tracker)
    for _ in range(5):
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(cascade.acomplete("hi", user="u", max_tokens=100), 0.05)
    await asyncio.sleep(0.5)
    [key] = [k for k in store._res]
    assert store.usage([key], tracker.clock())[key] == (0.0, 0.0)
    assert backend.calls == []


async def test_cancel_during_the_model_call_books_what_was_called() -> None:
    """Item 7: cancelled mid-call: provider saw 4 calls, 0 ledger entries -> each booked, estimated."""
    import asyncio

    class Hanging:
        calls = 0

        def complete(self, spec: ModelSpec, request: Request) -> Draft:
            raise AssertionError("async only")

        async def acomplete(self, spec: ModelSpec, request: Request) -> Draft:
            Hanging.calls += 1
            await asyncio.sleep(5)
            raise AssertionError("never reached")

    tracker = CostTracker(budgets=[Budget(1.0, "total", scope="user")])
    cascade = Cascade([ModelSpec("m/a", 1e-6, 1e-3, backend=Hanging())], tracker=tracker)
    for _ in range(4):
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(cascade.acomplete("hi", user="u", max_tokens=100), 0.05)
    entries = tracker.entries()
    assert Hanging.calls == 4 and len(entries) == 4
    assert all(e.status == "error" and e.error_kind == "cancelled" and e.cost > 0 for e in entries)
    assert tracker.spent(user="u") == pytest.approx(sum(e.cost for e in entries))
