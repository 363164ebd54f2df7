"""OpenTelemetry spans and metrics, checked with the SDK's in-memory exporters."""

from __future__ import annotations

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as G  # noqa: E402
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics as GM  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402

from cascadeflow_core import (  # noqa: E402
    Attempt,
    Cascade,
    CascadeResult,
    CostTracker,
    ModelSpec,
    OTelExporter,
    Plan,
    Request,
    Tier,
)
from cascadeflow_core.tracking._otel import CHAT, WORKFLOW, provider_name  # noqa: E402


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
    assert a["gen_ai.operation.name"] == "invoke_workflow" and a["gen_ai.workflow.name"] == "cascadeflow"
    assert a["gen_ai.response.model"] == "claude-3-5-haiku" and root.kind == SpanKind.INTERNAL
    assert all(
        c.kind == SpanKind.CLIENT and c.attributes["gen_ai.operation.name"] == "chat" for c in children
    )
    assert {c.attributes["gen_ai.provider.name"] for c in children} == {"openai", "anthropic"}
    assert {c.name for c in children} == {"chat gpt-4o-mini", "chat gpt-4o", "chat claude-3-5-haiku"}
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
    # Only model calls are in the GenAI duration metric; the cascade's own duration is apart.
    durations = m["gen_ai.client.operation.duration"]
    assert sum(p.count for p in durations) == 3
    assert all(p.attributes["gen_ai.operation.name"] == "chat" for p in durations)
    assert sum(p.count for p in m["cascadeflow.request.duration"]) == 1


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


def test_names_are_the_semantic_conventions_constants(otel):
    tracker, spans, reader = otel
    ops = {v.value for v in G.GenAiOperationNameValues}
    assert G.GenAiOperationNameValues.INVOKE_WORKFLOW.value == WORKFLOW and CHAT in ops
    providers = {v.value for v in G.GenAiProviderNameValues}
    for litellm_prefix, expected in [
        ("gemini/gemini-2.0-flash", G.GenAiProviderNameValues.GCP_GEMINI),
        ("vertex_ai/gemini-pro", G.GenAiProviderNameValues.GCP_VERTEX_AI),
        ("bedrock/anthropic.claude-3", G.GenAiProviderNameValues.AWS_BEDROCK),
        ("azure/my-deployment", G.GenAiProviderNameValues.AZURE_AI_OPENAI),
        ("azure_ai/mistral-large", G.GenAiProviderNameValues.AZURE_AI_INFERENCE),
        ("mistral/mistral-small", G.GenAiProviderNameValues.MISTRAL_AI),
        ("xai/grok-2", G.GenAiProviderNameValues.X_AI),
        ("watsonx/ibm/granite", G.GenAiProviderNameValues.IBM_WATSONX_AI),
        ("openai/gpt-4o", G.GenAiProviderNameValues.OPENAI),
        ("gpt-4o-mini", G.GenAiProviderNameValues.OPENAI),  # no prefix: inferred by LiteLLM
    ]:
        assert provider_name(litellm_prefix) == expected.value and expected.value in providers
    assert provider_name("ollama/llama3") == "ollama"  # not listed: the provider's own name
    assert provider_name("no-such-model-xyz") is None  # unknown: left unset, never "unknown"
    assert provider_name("langchain/fake") is None

    req = Request([{"role": "user", "content": "x"}])
    attempts = (Attempt("t", "no-such-model-xyz", "accepted", 1, 1, None, 0.1, first_chunk_s=0.05),)
    result = CascadeResult("x", "no-such-model-xyz", "t", attempts, None, None, False, 0.1)
    tracker.settle(tracker.admit(req, Plan(()), 0.0), req, attempts, result, "rq3")
    child = next(s for s in spans.get_finished_spans() if s.parent is not None)
    assert "gen_ai.provider.name" not in child.attributes
    assert child.attributes[G.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] == 0.05
    assert (
        child.attributes["cascadeflow.cost_known"] is False and "cascadeflow.cost_usd" not in child.attributes
    )
    m = _metrics(reader)
    for name in (GM.GEN_AI_CLIENT_TOKEN_USAGE, GM.GEN_AI_CLIENT_OPERATION_DURATION):
        assert name in m
    assert [p.sum for p in m[GM.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK]] == [0.05]
    attrs = (G.GEN_AI_OPERATION_NAME, G.GEN_AI_PROVIDER_NAME, G.GEN_AI_REQUEST_MODEL, G.GEN_AI_WORKFLOW_NAME)
    assert attrs == (
        "gen_ai.operation.name",
        "gen_ai.provider.name",
        "gen_ai.request.model",
        "gen_ai.workflow.name",
    )


def test_a_streamed_escalation_records_time_to_first_chunk():
    """A real cascade, streamed: the verifier's live call has a time to first chunk; the trace is whole."""
    spans = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    tracker = CostTracker()
    OTelExporter.instrument(tracker, tp, MeterProvider(metric_readers=[reader]))
    cascade = Cascade(
        [
            ModelSpec(
                "openai/gpt-4o-mini", params={"mock_response": "I'm sorry, but I can't help with that."}
            ),
            ModelSpec("openai/gpt-4o", params={"mock_response": "Paris is the capital."}),
        ],
        tracker=tracker,
    )
    events = list(cascade.stream("Capital of France?"))
    assert events[-1].result.escalated
    children = [s for s in spans.get_finished_spans() if s.parent is not None]
    streamed = [c for c in children if G.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in c.attributes]
    assert [c.attributes["cascadeflow.model"] for c in streamed] == ["openai/gpt-4o"]
    assert sum(p.count for p in _metrics(reader)[GM.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK]) == 1
