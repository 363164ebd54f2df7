"""Issue 25 item 18: a long-running process with the default in-memory tracker grows without bound.

The in-memory ledger is bounded by default (count and optionally age) while budget counters stay
exact; entries are lean; SQLite and Redis stores are pruned on a schedule when a retention is set.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cascadeflow_core import Budget, CostTracker, LedgerEntry, MemoryStore, SQLiteStore, TrackerPolicy
from tests.support.tracker_stores import Clock


def test_the_default_memory_ledger_is_bounded_and_budgets_stay_exact() -> None:
    clock = Clock()
    tracker = CostTracker(
        MemoryStore(max_entries=1_000), budgets=[Budget(100.0, "total", scope="global")], clock=clock
    )
    for i in range(3_000):
        tracker.record("m/a", cost=0.01, user=f"u{i % 7}")
    assert len(tracker.store.entries()) == 1_000 and tracker.store.evicted == 2_000
    # budgets read counters, not the ledger: exact over all 3,000
    [status] = tracker.store.usage(["global:all|total"], clock()).values()
    assert status[0] == pytest.approx(30.0)
    assert MemoryStore().max_entries == MemoryStore.DEFAULT_MAX_ENTRIES == 100_000


def test_memory_ledger_retention_by_age() -> None:
    clock = Clock()
    tracker = CostTracker(MemoryStore(retention_s=3600), clock=clock)
    tracker.record("m/a", cost=0.01)
    clock.advance(7200)
    tracker.record("m/a", cost=0.02)
    assert [e.cost for e in tracker.entries()] == [0.02]


def test_ledger_entries_are_lean() -> None:
    e = LedgerEntry("r:0", 1.0, "r", "u", "m/a", 0.01)
    assert not hasattr(e, "__dict__")  # slots: ~150 bytes instead of ~600 with a dict
    assert sys.getsizeof(e) < 250


def test_scheduled_pruning_for_sqlite(tmp_path: Path) -> None:
    clock = Clock()
    policy = TrackerPolicy(retention_s=86_400.0, prune_every_s=3_600.0)
    tracker = CostTracker(SQLiteStore(tmp_path / "l.db"), policy=policy, clock=clock)
    tracker.record("m/a", cost=0.01)
    clock.advance(2 * 86_400)
    tracker.record("m/a", cost=0.02)  # the schedule is due: entries older than a day go
    assert [e.cost for e in tracker.entries()] == [0.02] and tracker.pruned == 1
