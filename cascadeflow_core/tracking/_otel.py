"""OpenTelemetry spans and metrics for settled requests, following the GenAI semantic conventions.

One ``invoke_workflow`` span per request (``gen_ai.workflow.name = "cascadeflow"``, kind ``INTERNAL``)
with one ``chat {model}`` child span per model call (kind ``CLIENT``; drafts, rejected drafts and errors
included), timed from the recorded latencies. Provider names are the convention's values
(``gcp.gemini``, ``aws.bedrock``, ``azure.ai.openai`` ...), mapped from LiteLLM's prefixes; a model
without a prefix gets the provider LiteLLM infers, or none. Metrics: ``gen_ai.client.token.usage`` and
``gen_ai.client.operation.duration`` per model call only (a cascade's own duration would double-count on
dashboards: it is ``cascadeflow.request.duration``), ``gen_ai.client.operation.time_to_first_chunk`` for
streamed calls, ``cascadeflow.cost`` and ``cascadeflow.escalations``. A cost that is unknown (a model with
no price) is left out of ``cascadeflow.cost_usd`` and flagged ``cascadeflow.cost_known = false``.
OpenTelemetry (extra ``otel``) is imported only when an exporter is created. Prompts, answers and API
keys are never recorded.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from .._types import sum_costs

if TYPE_CHECKING:
    from .._types import Attempt
    from ._tracker import CostTracker, SettlementEvent

__all__ = ["OTelExporter", "provider_name"]

_NS = 1_000_000_000
WORKFLOW = "invoke_workflow"
CHAT = "chat"
# LiteLLM provider prefixes -> the GenAI conventions' ``gen_ai.provider.name`` values.
_PROVIDERS = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "azure": "azure.ai.openai",
    "azure_text": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "gemini": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "vertex_ai_beta": "gcp.vertex_ai",
    "bedrock": "aws.bedrock",
    "sagemaker": "aws.sagemaker",
    "anthropic": "anthropic",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "watsonx": "ibm.watsonx.ai",
    "watsonx_text": "ibm.watsonx.ai",
    "perplexity": "perplexity",
    "xai": "x_ai",
    "deepseek": "deepseek",
    "groq": "groq",
    "mistral": "mistral_ai",
    "codestral": "mistral_ai",
}
# Prefixes that name no provider (a wrapped framework model): the provider is left unset.
_NO_PROVIDER = frozenset({"langchain"})


@functools.lru_cache(maxsize=1024)
def provider_name(model: str) -> str | None:
    """``gen_ai.provider.name`` for a LiteLLM model string, or ``None`` when it cannot be known.

    Example:
        >>> provider_name("gemini/gemini-2.0-flash"), provider_name("bedrock/anthropic.claude-3")
        ('gcp.gemini', 'aws.bedrock')
    """
    prefix = model.split("/", 1)[0].lower() if "/" in model else None
    if prefix in _NO_PROVIDER:
        return None
    if prefix is None:
        prefix = _inferred_prefix(model)
        if prefix is None:
            return None
    # Not in the convention's list: its rule is to use the provider's own lower-case name.
    return _PROVIDERS.get(prefix, prefix)


def _inferred_prefix(model: str) -> str | None:
    from ..providers._litellm import litellm_module

    try:
        _, provider, _, _ = litellm_module().get_llm_provider(model)
    except Exception:  # LiteLLM does not know it: leave the provider unset rather than guess
        return None
    return str(provider).lower() if provider else None


def _model_name(model: str) -> str:
    """The model as the provider names it: LiteLLM's provider prefix removed (``openai/gpt-4o`` -> ``gpt-4o``)."""
    prefix, _, rest = model.partition("/")
    return rest if rest and prefix.lower() in _PROVIDERS else model


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


def _call_attrs(model: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {"gen_ai.operation.name": CHAT, "gen_ai.request.model": _model_name(model)}
    provider = provider_name(model)
    if provider is not None:
        attrs["gen_ai.provider.name"] = provider
    return attrs


def _cost_attrs(cost: float | None) -> dict[str, Any]:
    if cost is None:
        return {"cascadeflow.cost_known": False}
    return {"cascadeflow.cost_usd": cost, "cascadeflow.cost_known": True}


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
            "gen_ai.client.operation.duration", unit="s", description="Duration of each model call"
        )
        self.first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time to the first chunk of each streamed model call",
        )
        self.request_duration = meter.create_histogram(
            "cascadeflow.request.duration", unit="s", description="Duration of each cascade request"
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

    def _root_attrs(self, ev: SettlementEvent, model: str, answered: str) -> dict[str, Any]:
        result, attempts, request = ev.result, ev.attempts, ev.request
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": WORKFLOW,
            "gen_ai.workflow.name": "cascadeflow",
            "gen_ai.usage.input_tokens": sum(a.input_tokens for a in attempts if not a.cached),
            "gen_ai.usage.output_tokens": sum(a.output_tokens for a in attempts if not a.cached),
            **_cost_attrs(sum_costs(a.cost for a in attempts)),
            "cascadeflow.escalated": bool(result.escalated) if result is not None else False,
            "cascadeflow.answered_by": answered,
            "cascadeflow.request_id": ev.request_id,
            "cascadeflow.attempts": len(attempts),
            "cascadeflow.outcome": "ok" if result is not None else "failed",
        }
        if answered:
            attrs["gen_ai.response.model"] = _model_name(answered)
        if result is not None and result.tier:
            attrs["cascadeflow.tier"] = result.tier
        details = (ev.admission.details or {}) if ev.admission is not None else {}
        if isinstance(details.get("run_id"), str):
            attrs["gen_ai.conversation.id"] = details["run_id"]
        if details.get("start_tier"):
            attrs["cascadeflow.sticky_tier"] = str(details["start_tier"])
        if request is not None and request.user:
            attrs["cascadeflow.user"] = request.user
        if request is not None and request.tags:
            attrs["cascadeflow.tags"] = list(request.tags)
        if ev.admission is not None:
            attrs["cascadeflow.admission"] = ev.admission.decision
        if result is None:
            attrs["error.type"] = "cascadeflow.exhausted"
        return attrs

    def on_settle(self, ev: SettlementEvent) -> None:
        result, attempts = ev.result, ev.attempts
        answered = result.model if result is not None else ""
        model = answered or (attempts[-1].model if attempts else "unknown")
        kind = self._trace.SpanKind
        root = self.tracer.start_span(
            f"{WORKFLOW} cascadeflow",
            kind=kind.INTERNAL,
            start_time=int(ev.started_at * _NS),
            attributes=self._root_attrs(ev, model, answered),
        )
        if result is None:
            root.set_status(
                self._trace.Status(self._trace.StatusCode.ERROR, "every tier failed or was rejected")
            )
        ctx = self._trace.set_span_in_context(root)
        for a, (s, e) in zip(attempts, _attempt_times(attempts, ev.started_at, ev.ended_at), strict=True):
            self._attempt_span(a, s, e, ctx)
        root.end(end_time=int(ev.ended_at * _NS))
        self._metrics(ev, attempts, bool(result is not None and result.escalated), model)

    def _attempt_span(self, a: Attempt, start: float, end: float, ctx: Any) -> None:
        attrs: dict[str, Any] = {
            **_call_attrs(a.model),
            "gen_ai.usage.input_tokens": a.input_tokens,
            "gen_ai.usage.output_tokens": a.output_tokens,
            **_cost_attrs(a.cost),
            "cascadeflow.model": a.model,
            "cascadeflow.tier": a.tier,
            "cascadeflow.status": a.status,
            "cascadeflow.cached": a.cached,
        }
        if a.status != "error":
            attrs["gen_ai.response.model"] = _model_name(a.model)
        first_chunk = getattr(a, "first_chunk_s", None)
        if first_chunk is not None:
            attrs["gen_ai.request.stream"] = True
            attrs["gen_ai.response.time_to_first_chunk"] = first_chunk
        if a.score is not None:
            attrs["cascadeflow.score"] = a.score
        if a.error_kind:
            attrs["error.type"] = a.error_kind
        span = self.tracer.start_span(
            f"{CHAT} {_model_name(a.model)}",
            context=ctx,
            kind=self._trace.SpanKind.CLIENT,
            start_time=int(start * _NS),
            attributes=attrs,
        )
        if a.status == "error":
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, a.error_kind or "error"))
        span.end(end_time=int(end * _NS))

    def _metrics(self, ev: SettlementEvent, attempts: Sequence[Attempt], escalated: bool, model: str) -> None:
        for a in attempts:
            if a.cached:  # answered from the cache: no model call was made
                continue
            base = _call_attrs(a.model)
            if a.status != "error":
                self.tokens.record(a.input_tokens, {**base, "gen_ai.token.type": "input"})
                self.tokens.record(a.output_tokens, {**base, "gen_ai.token.type": "output"})
            dur_attrs = {**base, "error.type": a.error_kind} if a.error_kind else base
            self.duration.record(a.latency_s, dur_attrs)
            first_chunk = getattr(a, "first_chunk_s", None)
            if first_chunk is not None:
                self.first_chunk.record(first_chunk, base)
            if a.cost:
                self.cost.add(a.cost, {**base, "cascadeflow.status": a.status})
        outcome = {"cascadeflow.outcome": "ok" if ev.result is not None else "failed"}
        self.request_duration.record(max(0.0, ev.ended_at - ev.started_at), outcome)
        if escalated:
            self.escalations.add(1, {"cascadeflow.answered_by": model})
