"""Audit sampling and observe mode inside a Cascade: off the response path, booked in the ledger under the
same budgets, drift tightening visible in the trace, every entry point (sync, async, stream)."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

import pytest

from cascadeflow_core import (
    Audit,
    Budget,
    Cascade,
    CascadeOptions,
    ConfigError,
    CostTracker,
    Draft,
    ModelSpec,
    Request,
    SQLiteStore,
    Tier,
)
from tests.support.scripted import Reply, ScriptedBackend

CHEAP, STRONG = "cheap", "strong"


@dataclass
class Slow(ScriptedBackend):
    """Scripted replies; calls to ``slow`` models wait ``delay`` seconds (or until ``gate`` opens)."""

    delay: float = 0.0
    slow: tuple[str, ...] = (STRONG,)
    gate: threading.Event | None = None
    seen: list[float] = field(default_factory=list)

    def complete(self, spec: ModelSpec, request: Request) -> Draft:
        if spec.label in self.slow:
            if self.gate is not None:
                self.gate.wait(10)
            time.sleep(self.delay)
        return super().complete(spec, request)


def cascade(backend: ScriptedBackend, tracker: CostTracker | None = None, **opts: object) -> Cascade:
    tiers = [
        Tier([ModelSpec(CHEAP, input_cost_per_token=1e-7, output_cost_per_token=1e-7)], name="drafter"),
        Tier([ModelSpec(STRONG, input_cost_per_token=1e-5, output_cost_per_token=1e-5)], name="verifier"),
    ]
    return Cascade(tiers, tracker=tracker, backend=backend, options=CascadeOptions(**opts))  # type: ignore[arg-type]


def test_the_audit_adds_no_latency_and_is_booked_as_audit():
    backend = Slow({CHEAP: "The answer is 18.", STRONG: "#### 18"}, delay=0.4)
    tracker = CostTracker()
    c = cascade(backend, tracker, audit=Audit(rate=1.0))
    t0 = time.perf_counter()
    result = c.complete("q")
    assert time.perf_counter() - t0 < 0.2  # the verifier sleeps 0.4 s, on the worker thread
    assert result.model == CHEAP and not result.escalated
    assert c.flush_audits(5.0)
    record = tracker.audit_log.records()[0]
    assert (record.tier, record.model, record.verifier) == ("drafter", CHEAP, STRONG)
    assert record.agreed and record.answer == record.verifier_answer == "18" and record.cost > 0
    audits = [e for e in tracker.entries() if e.source == "audit"]
    assert len(audits) == 1 and audits[0].model == STRONG and audits[0].request_id == result.request_id
    assert audits[0].cost == pytest.approx(record.cost)
    report = c.audit_report()
    assert report.tier("drafter").audits == 1 and report.audit_cost == pytest.approx(record.cost)
    assert "audit (target loss" in tracker.report() and "Audit" in tracker._repr_html_()


def test_sampling_rate_and_only_drafter_answers_are_audited():
    backend = ScriptedBackend({CHEAP: "7", STRONG: "7"})
    tracker = CostTracker()
    c = cascade(backend, tracker, audit=Audit(rate=0.25, seed=3))
    for _ in range(400):
        c.complete("q")
    c.flush_audits(5.0)
    n = len(tracker.audit_log.records())
    assert 60 <= n <= 140  # Binomial(400, 0.25): mean 100
    assert backend.called(STRONG) == n


def test_an_empty_draft_escalates_and_is_not_audited():
    backend = ScriptedBackend({CHEAP: "", STRONG: "7"})
    tracker = CostTracker()
    c = cascade(backend, tracker, audit=Audit(rate=1.0))
    assert c.complete("q").tier == "verifier"
    c.flush_audits(5.0)
    assert tracker.audit_log.records() == [] and backend.called(STRONG) == 1


def test_a_full_queue_drops_and_counts_instead_of_blocking():
    gate = threading.Event()
    backend = Slow({CHEAP: "1", STRONG: "1"}, gate=gate)
    tracker = CostTracker()
    c = cascade(backend, tracker, audit=Audit(rate=1.0, queue_size=2))
    t0 = time.perf_counter()
    for _ in range(10):
        c.complete("q")
    assert time.perf_counter() - t0 < 1.0
    gate.set()
    c.flush_audits(5.0)
    report = c.audit_report()
    assert report.dropped["queue full"] >= 6
    assert report.tier("drafter").audits + report.dropped["queue full"] == 10
    assert "queue full" in str(report)


def test_audits_respect_the_budget():
    backend = ScriptedBackend({CHEAP: "1", STRONG: "1"})
    tracker = CostTracker(budgets=[Budget(0.0004, "total", mode="degrade")])
    c = cascade(backend, tracker, audit=Audit(rate=1.0))
    for _ in range(5):
        c.complete("q")
        c.flush_audits(5.0)
    report = c.audit_report()
    assert report.dropped["over budget"] >= 1
    assert sum(e.cost for e in tracker.entries() if e.source == "audit") <= 0.0004 + 1e-9


def test_drift_fires_on_drift_and_tightening_is_in_the_trace_and_the_log(caplog):
    events = []
    backend = ScriptedBackend({CHEAP: "The answer is 4.", STRONG: "#### 5"})
    tracker = CostTracker()
    c = cascade(backend, tracker, audit=Audit(rate=1.0, target=0.05, tighten=True, on_drift=events.append))
    for _ in range(6):
        c.complete("q")
        c.flush_audits(5.0)
    assert [e.kind for e in events] == ["drift"] and events[0].tier == "drafter"
    assert "drifted" in caplog.text
    held = c.complete("q")
    assert held.tier == "verifier" and held.escalated
    assert any("held by audit" in r for r in held.attempts[0].reasons)
    c.flush_audits(5.0)
    assert tracker.audit_log.records()[-1].kind == "held"  # the held draft is compared for free


def test_held_tier_is_released_once_the_drafter_is_good_again():
    events = []
    backend = ScriptedBackend({CHEAP: ["4"] * 4 + ["5"], STRONG: "5"})
    c = cascade(
        backend, CostTracker(), audit=Audit(rate=1.0, target=0.1, tighten=True, on_drift=events.append)
    )
    for _ in range(120):
        c.complete("q")
        c.flush_audits(5.0)
    assert [e.kind for e in events] == ["drift", "released"]
    assert c.complete("q").tier == "drafter"


def test_async_and_streaming_entry_points_are_audited():
    backend = ScriptedBackend({CHEAP: "3", STRONG: "3"})
    tracker = CostTracker()
    c = cascade(backend, tracker, audit=Audit(rate=1.0))
    asyncio.run(c.acomplete("q"))
    list(c.stream("q"))

    async def astream() -> None:
        async for _ in c.astream("q"):
            pass

    asyncio.run(astream())
    c.flush_audits(5.0)
    assert len(tracker.audit_log.records()) == 3


def test_observe_mode_answers_with_the_verifier_and_records_what_the_cascade_would_have_done(tmp_path):
    backend = ScriptedBackend({CHEAP: ["The answer is 4.", "", "#### 5"], STRONG: Reply("#### 5", cost=0.01)})
    tracker = CostTracker(SQLiteStore(tmp_path / "ledger.db"))
    c = cascade(backend, tracker, mode="observe")
    results = [c.complete("q") for _ in range(3)]
    assert all(r.model == STRONG and r.text == "#### 5" for r in results)
    c.flush_audits(5.0)
    recs = tracker.audit_log.records()
    assert [r.kind for r in recs] == ["observe"] * 3
    wrong, escalated, right = recs
    assert (wrong.model, wrong.agreed, wrong.answer, wrong.verifier_answer) == (CHEAP, False, "4", "5")
    assert escalated.escalated and escalated.loss is None and escalated.tier == "verifier"
    assert right.agreed and right.cascade_cost < right.verifier_cost  # type: ignore[operator]
    assert escalated.cascade_cost > escalated.verifier_cost  # type: ignore[operator]
    assert wrong.drafts[0]["model"] == CHEAP and wrong.drafts[0]["answer"] == "4"
    observe = [e for e in tracker.entries() if e.source == "observe"]
    assert [e.model for e in observe] == [CHEAP] * 3
    assert backend.called(STRONG) == 3  # the verifier is called once per request, never twice
    assert c.audit_report().tier("drafter").audits == 2


def test_auditing_a_one_tier_cascade_is_a_config_error():
    with pytest.raises(ConfigError, match="one tier"):
        Cascade([ModelSpec(CHEAP)], options=CascadeOptions(audit=Audit()))
    with pytest.raises(ConfigError, match="audit"):
        CascadeOptions(audit=0.05)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="mode"):
        CascadeOptions(mode="shadow")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="does not audit"):
        cascade(ScriptedBackend({})).audit_report()


def test_audit_and_observe_from_a_config_mapping():
    from cascadeflow_core import Cascade as C

    cfg = {
        "tiers": [{"models": [CHEAP]}, {"models": [STRONG]}],
        "options": {"audit": {"rate": 0.1, "target": 0.03, "tighten": True}, "mode": "observe"},
    }
    c = C.from_config(cfg)
    assert c.options.audit == Audit(rate=0.1, target=0.03, tighten=True) and c.options.mode == "observe"
    with pytest.raises(ConfigError, match="options"):
        C.from_config({**cfg, "options": {"audit": {"rate": 2}}})


def test_a_hold_set_by_one_worker_reaches_another_sharing_the_store(tmp_path):
    path = tmp_path / "ledger.db"
    audit = Audit(rate=1.0, target=0.05, tighten=True, refresh_s=0.0)
    a = cascade(ScriptedBackend({CHEAP: "4", STRONG: "5"}), CostTracker(SQLiteStore(path)), audit=audit)
    b = cascade(ScriptedBackend({CHEAP: "5", STRONG: "5"}), CostTracker(SQLiteStore(path)), audit=audit)
    for _ in range(6):
        a.complete("q")
        a.flush_audits(5.0)
    assert b.complete("q").tier == "drafter"  # b had not read a's records yet: it queues a re-read
    b.flush_audits(5.0)
    assert b.complete("q").tier == "verifier"  # the hold a's audits caused applies to b
