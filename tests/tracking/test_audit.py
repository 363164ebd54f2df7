"""Audit statistics (confidence sequence, betting drift test, hold and release) and audit storage in the
memory, SQLite and Redis stores (a fleet sharing one store shares one estimate)."""

from __future__ import annotations

import random

import pytest

from cascadeflow_core import (
    Audit,
    AuditRecord,
    ConfigError,
    CostTracker,
    InputError,
    MemoryStore,
    SQLiteStore,
    load_audit_records,
)
from cascadeflow_core.tracking._audit import (
    AuditLog,
    AuditMonitor,
    AuditWorker,
    _fold,
    confidence_sequence,
)
from cascadeflow_core.tracking._audit_report import build_report
from tests.support import tracker_stores as _fixtures

store = _fixtures.store
redis_server, redis_url = _fixtures.redis_server, _fixtures.redis_url
redis_cluster, redis_cluster_url = _fixtures.redis_cluster, _fixtures.redis_cluster_url
redis_sentinel, redis_sentinel_url = _fixtures.redis_sentinel, _fixtures.redis_sentinel_url

# Audit records live in the memory, SQLite and Redis stores; PostgresStore does not keep them yet (the
# tracker falls back to an in-process log with a warning: docs/audit.md).
_AUDIT_STORES = tuple(k for k in _fixtures.STORE_KINDS if k != "postgres")


@pytest.fixture(params=_AUDIT_STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def rec(i: int, loss: int, tier: str = "tier1", kind: str = "audit", **kw: object) -> AuditRecord:
    return AuditRecord(
        f"r{i}:{kind}",
        1000.0 + i,
        f"r{i}",
        tier,
        "cheap",
        "strong",
        not loss,
        kind=kind,
        **kw,  # type: ignore[arg-type]
    )


def stream(p: float, n: int, seed: int, start: int = 0) -> list[AuditRecord]:
    rng = random.Random(seed)
    return [rec(start + i, int(rng.random() < p)) for i in range(n)]


# --- the confidence sequence -------------------------------------------------------------------------------


def test_confidence_sequence_brackets_the_estimate_and_shrinks():
    assert confidence_sequence(0, 0) == (0.0, 1.0)
    lo0, hi0 = confidence_sequence(0, 50)
    assert lo0 == 0.0 and 0.0 < hi0 < 0.1
    widths = []
    for n in (100, 1000, 10000):
        lo, hi = confidence_sequence(n // 20, n)  # 5% observed
        assert lo < 0.05 < hi
        widths.append(hi - lo)
    assert widths[0] > widths[1] > widths[2]
    assert confidence_sequence(30, 30)[1] == 1.0


def test_confidence_sequence_covers_the_true_rate_at_every_n_simultaneously():
    # A running interval peeked at after every audit: the share of streams where it EVER misses
    # the true rate stays below alpha (a fixed-n interval peeked at would miss far more often).
    misses = 0
    runs, n, p, alpha = 200, 300, 0.04, 0.1
    for seed in range(runs):
        rng = random.Random(seed)
        s = 0
        for t in range(1, n + 1):
            s += rng.random() < p
            if t % 10 == 0:
                lo, hi = confidence_sequence(s, t, alpha)
                if not lo <= p <= hi:
                    misses += 1
                    break
    assert misses / runs <= alpha


# --- the drift test ----------------------------------------------------------------------------------------


def test_no_false_alarm_beyond_alpha_when_the_loss_sits_at_the_target():
    audit = Audit(target=0.05, confidence=0.9)
    alarms = sum(bool(_fold(stream(0.05, 1500, seed), audit)["tier1"].events) for seed in range(120))
    assert alarms / 120 <= 0.1 + 0.05  # the guarantee is <= alpha; 120 runs leave this much noise


def test_a_jump_in_the_loss_rate_is_detected_within_a_few_dozen_audits():
    audit = Audit(target=0.05)
    delays = []
    for seed in range(20):
        recs = stream(0.02, 300, seed) + stream(0.25, 300, seed + 1000, start=300)
        events = _fold(recs, audit)["tier1"].events
        assert events and events[0].kind == "drift"
        delays.append(int(events[0].record_id[1:].split(":")[0]) - 300)
    assert all(d >= 0 for d in delays), delays  # never before the change on these seeds
    assert sorted(delays)[10] < 60, delays


def test_tighten_holds_the_tier_until_the_bound_since_the_hold_is_within_target():
    audit = Audit(target=0.1, tighten=True)
    bad = [rec(i, 1) for i in range(10)]
    state = _fold(bad, audit)["tier1"]
    assert state.held and state.events[0].kind == "drift"
    assert "next tier" in state.events[0].message
    good = [rec(100 + i, 0, kind="held") for i in range(200)]
    state = _fold(bad + good, audit)["tier1"]
    assert not state.held
    released = state.events[-1]
    assert released.kind == "released" and released.upper <= 0.1
    assert 10 < released.audits < 200  # it took evidence, not one good answer


def test_escalated_observe_records_carry_no_loss():
    r = rec(1, 0, kind="observe", escalated=True)
    assert r.loss is None
    report = build_report([r, rec(2, 1, kind="observe")], Audit())
    assert report.tier("tier1").audits == 1 and report.observed == 2
    with pytest.raises(InputError, match="no audit of tier"):
        report.tier("nope")


def test_audit_settings_are_validated():
    for bad in ({"rate": 0}, {"rate": 1.5}, {"target": 0}, {"confidence": 1.0}, {"window": 0}):
        with pytest.raises(ConfigError):
            Audit(**bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="on_drift"):
        Audit(on_drift="alert")  # type: ignore[arg-type]


# --- monitor, worker, report -------------------------------------------------------------------------------


def test_monitor_fires_on_drift_once_per_event_and_holds_when_asked():
    fired = []
    monitor = AuditMonitor(Audit(target=0.05, tighten=True, on_drift=fired.append), AuditLog(None))
    for i in range(8):
        monitor.record(rec(i, 1))
    assert [e.kind for e in fired] == ["drift"]
    assert "held by audit" in (monitor.held("tier1") or "")
    assert monitor.held("tier2") is None


def test_a_failing_on_drift_callback_is_logged_not_raised(caplog):
    def boom(event: object) -> None:
        raise RuntimeError("pager down")

    monitor = AuditMonitor(Audit(target=0.05, on_drift=boom), AuditLog(None))
    for i in range(8):
        monitor.record(rec(i, 1))
    assert "on_drift callback" in caplog.text


def test_worker_never_blocks_and_counts_what_it_drops():
    import threading

    gate = threading.Event()
    worker = AuditWorker(queue_size=1, workers=1)
    assert worker.submit(gate.wait)  # taken by the thread
    accepted = [worker.submit(lambda: None) for _ in range(5)]
    gate.set()
    assert worker.join(5.0)
    assert accepted.count(False) >= 3 and worker.dropped["queue full"] == accepted.count(False)


def test_report_text_and_html_show_the_estimate_bound_window_and_cost():
    recs = [rec(i, int(i % 10 == 0), cost=0.001, domain="math") for i in range(100)]
    report = build_report(recs, Audit(window=20), cascade_cost=0.5)
    row = report.tier("tier1")
    assert row.audits == 100 and row.losses == 10 and row.window_audits == 20
    assert row.lower < 0.1 < row.upper
    text = str(report)
    assert "tier1: loss 10.00%" in text and "last 20" in text and "[math]" in text
    assert report.audit_share == pytest.approx(0.1 / 0.5)
    assert "<table>" in report._repr_html_() and "tier1" in report._repr_html_()
    assert report.to_dict()["tiers"][0]["audits"] == 100


def test_export_round_trip(tmp_path):
    tracker = CostTracker()
    tracker.audit_log.append(
        rec(1, 1, answer="4", verifier_answer="5", drafts=({"model": "m", "answer": "4"},))
    )
    path = tmp_path / "audit.jsonl"
    tracker.audit_export(str(path))
    back = load_audit_records(str(path))
    assert back == tracker.audit_log.records()
    assert back[0].drafts[0]["answer"] == "4"
    with pytest.raises(InputError, match="line 1"):
        load_audit_records(["{not json"])


# --- storage: every store keeps the records, a fleet shares them -------------------------------------------


def test_store_keeps_audit_records_idempotently_and_prunes_them(store):
    log = AuditLog(store)
    assert log.shared
    for r in (rec(1, 0), rec(2, 1), rec(2, 1)):
        log.append(r)
    got = log.records()
    assert [r.id for r in got] == ["r1:audit", "r2:audit"]
    assert log.records(since=1001.5)[0].id == "r2:audit"
    store.prune(1001.5)
    assert [r.id for r in log.records()] == ["r2:audit"]


def test_two_workers_on_one_sqlite_file_share_one_estimate(tmp_path):
    a, b = CostTracker(SQLiteStore(tmp_path / "l.db")), CostTracker(SQLiteStore(tmp_path / "l.db"))
    for i in range(10):
        (a if i % 2 else b).audit_log.append(rec(i, int(i < 3)))
    assert a.audit_report().tier("tier1").losses == b.audit_report().tier("tier1").losses == 3


def test_two_workers_on_one_redis_share_one_estimate_and_drift_state(redis_url):
    from cascadeflow_core import RedisStore

    fired: list[object] = []
    audit = Audit(target=0.05, tighten=True, on_drift=fired.append)
    one = AuditMonitor(audit, AuditLog(RedisStore(redis_url)))
    two = AuditMonitor(audit, AuditLog(RedisStore(redis_url)))
    for i in range(8):
        (one if i % 2 else two).record(rec(i, 1))
    assert one.held("tier1") and two.held("tier1")
    assert {e.record_id for e in fired} == {fired[0].record_id}  # type: ignore[attr-defined]


def test_a_store_without_audit_methods_keeps_records_locally_and_says_so(caplog):
    class Bare(MemoryStore):
        append_audit = None  # type: ignore[assignment]

    log = AuditLog(Bare())
    assert not log.shared and "in this process only" in caplog.text
    log.append(rec(1, 0))
    assert len(log.records()) == 1


def test_the_monitor_folds_incrementally_and_refolds_for_a_late_record():
    import time as _time

    audit = Audit(target=0.05, tighten=True)
    monitor = AuditMonitor(audit, AuditLog(None))
    recs = stream(0.02, 3000, 7) + stream(0.3, 100, 8, start=3000)
    t0 = _time.perf_counter()
    for r in recs:
        monitor.record(r)
    assert _time.perf_counter() - t0 < 30.0  # a full refold per audit took minutes
    full = _fold(monitor.log.records(), audit)["tier1"]
    assert (monitor._states["tier1"].n, monitor._states["tier1"].held) == (full.n, full.held) == (3100, True)
    # another worker's record arriving late (older than the last folded one, within a minute) is not lost
    monitor.record(AuditRecord("late", 1000.0 + 3090.5, "late", "tier1", "cheap", "strong", False))
    assert monitor._states["tier1"].n == 3101 and monitor._states["tier1"].losses == full.losses + 1
