"""OpenTelemetry spans and metrics for settled requests, following the GenAI semantic conventions.

One span per request (``chat {model}``) with one child span per attempt (drafts, rejected drafts and
errors included), timed from the recorded latencies; metrics ``gen_ai.client.token.usage``,
``gen_ai.client.operation.duration``, ``cascadeflow.cost`` and ``cascadeflow.escalations``.
OpenTelemetry (extra ``otel``) is imported only when an exporter is created. Prompts, answers and API
keys are never recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError

if TYPE_CHECKING:
    from .._types import Attempt
    from ._tracker import CostTracker, SettlementEvent

__all__ = ["OTelExporter"]

_NS = 1_000_000_000


def _provider(model: str) -> str:
    return model.split("/", 1)[0] if "/" in model else "unknown"


def _attempt_times(attempts: Sequence[Attempt], start: float, end: float) -> list[tuple[float, float]]:
    """Start/end of each attempt: drafters of one tier run together, tiers one after another."""
    times: list[tuple[float, float]] = []
    cursor, tier, tier_len = start, None, 0.0
    for a in attempts:
        if a.tier != tier:
            cursor, tier, tier_len = cursor + tier_len, a.tier, 0.0
        s = min(cursor, end)
        times.append((s, min(end, s + max(0.0, a.latency_s))))
        tier_len = max(tier_len, a.latency_s)
    return times


class OTelExporter:
    """Emits a span tree and GenAI metrics for every request a ``CostTracker`` settles.

    Args:
        tracer_provider: an OpenTelemetry ``TracerProvider`` (default: the global one).
        meter_provider: an OpenTelemetry ``MeterProvider`` (default: the global one).

    Example:
        >>> exporter = OTelExporter.instrument(CostTracker())  # doctest: +SKIP
    """

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        try:
            from opentelemetry import metrics, trace
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ConfigError(
                "OTelExporter", "OpenTelemetry is not installed", "pip install 'cascadeflow-core[otel]'"
            ) from e
        self._trace = trace
        tracer_provider = tracer_provider or trace.get_tracer_provider()
        meter_provider = meter_provider or metrics.get_meter_provider()
        self.tracer = tracer_provider.get_tracer("cascadeflow")
        meter = meter_provider.get_meter("cascadeflow")
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Tokens used per model call"
        )
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="Duration of each model call and each cascade",
        )
        self.cost = meter.create_counter("cascadeflow.cost", unit="USD", description="Dollars spent")
        self.escalations = meter.create_counter(
            "cascadeflow.escalations",
            unit="{escalation}",
            description="Requests answered by a tier after the first",
        )

    @classmethod
    def instrument(
        cls, tracker: CostTracker, tracer_provider: Any = None, meter_provider: Any = None
    ) -> OTelExporter:
        """Create an exporter and attach it to ``tracker``."""
        exporter = cls(tracer_provider, meter_provider)
        exporter.attach(tracker)
        return exporter

    def attach(self, tracker: CostTracker) -> None:
        tracker.add_listener(self.on_settle)

    def __repr__(self) -> str:
        return "OTelExporter()"

    def on_settle(self, ev: SettlementEvent) -> None:
        result = ev.result
        attempts = ev.attempts
        answered = result.model if result is not None else ""
        model = answered or (attempts[-1].model if attempts else "unknown")
        in_tok = sum(a.input_tokens for a in attempts if not a.cached)
        out_tok = sum(a.output_tokens for a in attempts if not a.cached)
        cost = sum(a.cost for a in attempts)
        escalated = bool(result.escalated) if result is not None else False
        request = ev.request
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": model,
            "gen_ai.response.model": answered,
            "gen_ai.provider.name": _provider(model),
            "gen_ai.usage.input_tokens": in_tok,
            "gen_ai.usage.output_tokens": out_tok,
            "cascadeflow.cost_usd": cost,
            "cascadeflow.escalated": escalated,
            "cascadeflow.answered_by": answered,
            "cascadeflow.request_id": ev.request_id,
            "cascadeflow.attempts": len(attempts),
            "cascadeflow.outcome": "ok" if result is not None else "failed",
        }
        if request is not None and request.user:
            attrs["cascadeflow.user"] = request.user
        if request is not None and request.tags:
            attrs["cascadeflow.tags"] = list(request.tags)
        if ev.admission is not None:
            attrs["cascadeflow.admission"] = ev.admission.decision
        root = self.tracer.start_span(f"chat {model}", start_time=int(ev.started_at * _NS), attributes=attrs)
        if result is None:
            root.set_status(
                self._trace.Status(self._trace.StatusCode.ERROR, "every tier failed or was rejected")
            )
        ctx = self._trace.set_span_in_context(root)
        for a, (s, e) in zip(attempts, _attempt_times(attempts, ev.started_at, ev.ended_at), strict=True):
            self._attempt_span(a, s, e, ctx)
        root.end(end_time=int(ev.ended_at * _NS))
        self._metrics(ev, attempts, escalated, model)

    def _attempt_span(self, a: Attempt, start: float, end: float, ctx: Any) -> None:
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": a.model,
            "gen_ai.response.model": a.model,
            "gen_ai.provider.name": _provider(a.model),
            "gen_ai.usage.input_tokens": a.input_tokens,
            "gen_ai.usage.output_tokens": a.output_tokens,
            "cascadeflow.cost_usd": a.cost,
            "cascadeflow.tier": a.tier,
            "cascadeflow.status": a.status,
            "cascadeflow.cached": a.cached,
        }
        if a.score is not None:
            attrs["cascadeflow.score"] = a.score
        if a.error_kind:
            attrs["error.type"] = a.error_kind
        span = self.tracer.start_span(
            f"chat {a.model}", context=ctx, start_time=int(start * _NS), attributes=attrs
        )
        if a.status == "error":
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, a.error_kind or "error"))
        span.end(end_time=int(end * _NS))

    def _metrics(self, ev: SettlementEvent, attempts: Sequence[Attempt], escalated: bool, model: str) -> None:
        for a in attempts:
            base = {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": a.model,
                "gen_ai.provider.name": _provider(a.model),
            }
            if a.status != "error" and not a.cached:
                self.tokens.record(a.input_tokens, {**base, "gen_ai.token.type": "input"})
                self.tokens.record(a.output_tokens, {**base, "gen_ai.token.type": "output"})
            dur_attrs = {**base, "error.type": a.error_kind} if a.error_kind else base
            self.duration.record(a.latency_s, dur_attrs)
            if a.cost:
                self.cost.add(a.cost, {**base, "cascadeflow.status": a.status})
        self.duration.record(
            max(0.0, ev.ended_at - ev.started_at),
            {"gen_ai.operation.name": "cascade", "gen_ai.request.model": model},
        )
        if escalated:
            self.escalations.add(1, {"gen_ai.request.model": model})
