"""OpenTelemetry: an ``invoke_workflow`` span per request with a ``chat`` client span per model call,
plus GenAI metrics, from the cost tracker (names and a full trace: docs/observability.md).

Run: python examples/opentelemetry_export.py [--live]

Spans and metrics go to in-memory exporters and are printed; in production hand ``OTelExporter`` your
own ``TracerProvider`` / ``MeterProvider`` (OTLP, console ...). Two requests: the drafter's answer is
accepted for the first; it hedges on the second, so that one escalates. Offline (default) the models
answer with LiteLLM's ``mock_response``; ``--live`` calls OpenAI (needs OPENAI_API_KEY).
"""

from __future__ import annotations

import os
import sys

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cascadeflow_core import Cascade, CostTracker, ModelSpec, OTelExporter

LIVE = "--live" in sys.argv
if LIVE and not os.environ.get("OPENAI_API_KEY"):
    print("--live calls OpenAI: set OPENAI_API_KEY, or run without --live (offline).", file=sys.stderr)
    sys.exit(2)
SHORT = {"gen_ai.operation.name": "op", "gen_ai.request.model": "model", "gen_ai.token.type": "tokens"}


def cascade(drafter_says: str, tracker: CostTracker) -> Cascade:
    mock = (lambda text: {}) if LIVE else (lambda text: {"mock_response": text})
    return Cascade(
        [
            ModelSpec("openai/gpt-4o-mini", params=mock(drafter_says)),
            ModelSpec("openai/gpt-4o", params=mock("Ottawa.")),
        ],
        tracker=tracker,
    )


def main() -> None:
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    tracker = CostTracker()
    OTelExporter.instrument(tracker, tracer_provider, MeterProvider(metric_readers=[reader]))  # the one line

    cascade("Ottawa.", tracker).complete("Capital of Canada? One word.", user="alice", tags=("geo",))
    cascade("I'm not sure, maybe Toronto?", tracker).complete("Capital of Canada? One word.", user="bob")

    print("spans (children indented):")
    finished = spans.get_finished_spans()
    for root in (s for s in finished if s.parent is None):
        a = root.attributes or {}
        print(
            f"  {root.name}: user={a.get('cascadeflow.user')} answered_by={a['cascadeflow.answered_by']} "
            f"escalated={a['cascadeflow.escalated']} cost_usd={a['cascadeflow.cost_usd']:.6f} "
            f"tokens={a['gen_ai.usage.input_tokens']}/{a['gen_ai.usage.output_tokens']}"
        )
        for child in (
            s for s in finished if s.parent is not None and s.parent.span_id == root.context.span_id
        ):
            c = child.attributes or {}
            print(
                f"      {child.name}: tier={c['cascadeflow.tier']} status={c['cascadeflow.status']} "
                f"score={c.get('cascadeflow.score')} cost_usd={c['cascadeflow.cost_usd']:.6f}"
            )

    print("metrics:")
    data = reader.get_metrics_data()
    for metric in (m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics):
        for point in metric.data.data_points:
            value = getattr(point, "value", None)
            shown = f"sum={point.sum:.6g} count={point.count}" if value is None else f"value={value:.6g}"
            labels = " ".join(
                f"{SHORT.get(k, k.rsplit('.', 1)[-1])}={v}"
                for k, v in point.attributes.items()
                if k != "gen_ai.provider.name"
            )
            print(f"  {metric.name:<33} {labels:<52} {shown}")


if __name__ == "__main__":
    main()
