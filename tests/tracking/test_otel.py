"""OpenTelemetry spans and metrics, checked with the SDK's in-memory exporters."""

from __future__ import annotations

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from cascadeflow_core import Attempt, CascadeResult, CostTracker, OTelExporter, Plan, Request, Tier  # noqa: E402


@pytest.fixture
def otel():
    spans = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    mp = MeterProvider(metric_readers=[reader])
    tracker = CostTracker()
    OTelExporter.instrument(tracker, tp, mp)
    return tracker, spans, reader


def _metrics(reader):
    out = {}
    for rm in reader.get_metrics_data().resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                out[m.name] = m.data.data_points
    return out


def test_one_span_per_cascade_with_a_child_per_attempt(otel):
    tracker, spans, reader = otel
    req = Request([{"role": "user", "content": "secret prompt"}], user="alice", tags=("chat",))
    adm = tracker.admit(req, Plan((Tier(["openai/gpt-4o-mini"]), Tier(["openai/gpt-4o"]))), 0.01)
    attempts = (
        Attempt("tier1", "openai/gpt-4o-mini", "rejected", 12, 30, 0.0001, 0.4, 0.2, ("too unsure",)),
        Attempt("tier2", "openai/gpt-4o", "error", error="boom", error_kind="timeout"),
        Attempt("tier2", "anthropic/claude-3-5-haiku", "accepted", 12, 8, 0.002, 0.3, 0.9),
    )
    result = CascadeResult(
        text="Paris",
        model="anthropic/claude-3-5-haiku",
        tier="tier2",
        attempts=attempts,
        cost=0.0021,
        verifier_cost=0.003,
        escalated=True,
        latency_s=0.8,
        request_id="rq1",
    )
    tracker.settle(adm, req, attempts, result, "rq1")
    finished = spans.get_finished_spans()
    root = next(s for s in finished if s.parent is None)
    children = [s for s in finished if s.parent is not None]
    assert len(finished) == 4 and len(children) == 3
    assert all(c.parent.span_id == root.context.span_id for c in children)
    a = root.attributes
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.request.model"] == "anthropic/claude-3-5-haiku"
    assert a["gen_ai.usage.input_tokens"] == 24 and a["gen_ai.usage.output_tokens"] == 38
    assert a["cascadeflow.cost_usd"] == pytest.approx(0.0021) and a["cascadeflow.escalated"] is True
    assert a["cascadeflow.answered_by"] == "anthropic/claude-3-5-haiku" and a["cascadeflow.user"] == "alice"
    err = next(c for c in children if c.attributes["cascadeflow.status"] == "error")
    assert err.attributes["error.type"] == "timeout" and not err.status.is_ok
    first = next(c for c in children if c.attributes["cascadeflow.tier"] == "tier1")
    later = [c for c in children if c.attributes["cascadeflow.tier"] == "tier2"]
    assert all(c.start_time >= first.end_time for c in later)  # tiers run one after another
    assert all(root.start_time <= c.start_time and c.end_time <= root.end_time for c in children)
    dump = repr([dict(s.attributes) for s in finished])
    assert "secret prompt" not in dump and "Paris" not in dump

    m = _metrics(reader)
    token_points = m["gen_ai.client.token.usage"]
    assert {p.attributes["gen_ai.token.type"] for p in token_points} == {"input", "output"}
    assert sum(p.sum for p in token_points) == 12 + 30 + 12 + 8
    assert sum(p.value for p in m["cascadeflow.cost"]) == pytest.approx(0.0021)
    assert sum(p.value for p in m["cascadeflow.escalations"]) == 1
    assert any(
        p.attributes.get("gen_ai.operation.name") == "cascade" for p in m["gen_ai.client.operation.duration"]
    )


def test_recorded_calls_and_failed_requests_emit_spans(otel):
    tracker, spans, _ = otel
    tracker.record("openai/gpt-4o-mini", cost=0.001, input_tokens=5, output_tokens=5, user="bob")
    req = Request([{"role": "user", "content": "x"}], user="bob")
    adm = tracker.admit(req, Plan(()), 0.0)
    tracker.settle(adm, req, (Attempt("t", "m", "error", error="x", error_kind="rate_limit"),), None, "rq2")
    roots = [s for s in spans.get_finished_spans() if s.parent is None]
    assert len(roots) == 2
    failed = next(s for s in roots if s.attributes["cascadeflow.outcome"] == "failed")
    assert not failed.status.is_ok
