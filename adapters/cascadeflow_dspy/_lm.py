"""``CascadeLM``: a CascadeFlow cascade as a DSPy LM, built on DSPy's engine interface.

DSPy 3.4 moved custom LMs from ``BaseLM.forward`` subclasses to ``dspy.LM(model, engine=...)`` with an
engine implementing ``complete(lm15.Request) -> lm15.Response`` (and ``stream``). ``CascadeEngine`` /
``AsyncCascadeEngine`` are such engines; ``CascadeLM`` is a ``dspy.LM`` wired to them, so DSPy keeps
owning its cache, history, callbacks and usage tracking.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, TextIO

import dspy
from dspy import lm15
from dspy.clients.engines.base import validate_request

from cascadeflow_core import (
    Cascade,
    CascadeError,
    CascadeResult,
    ConfigError,
    ExhaustedError,
    ModelSpec,
    sum_costs,
)

from ._convert import StreamFormatter, build_call, to_lm15_error, to_response, trace_of

__all__ = ["AsyncCascadeEngine", "CascadeEngine", "CascadeLM", "default_model_name"]


def _specs(models: Any) -> list[ModelSpec]:
    """A tier's models as ``ModelSpec``s (``Tier`` has already coerced them; this tells the type checker)."""
    return [ModelSpec.coerce(m) for m in models]


def default_model_name(cascade: Cascade) -> str:
    """``cascadeflow/<tier models>#<hash>``: distinct per configuration, so DSPy's cache never mixes cascades."""
    labels = ">".join("+".join(m.label.replace("/", ":") for m in _specs(t.models)) for t in cascade.tiers)
    config = [
        (
            t.name,
            [
                (
                    m.model,
                    m.api_base,
                    sorted(m.params.items(), key=str),
                    m.input_cost_per_token,
                    m.output_cost_per_token,
                    type(m.backend).__name__,
                )
                for m in _specs(t.models)
            ],
        )
        for t in cascade.tiers
    ]
    digest = hashlib.sha256(json.dumps(config, default=repr).encode()).hexdigest()[:8]
    return f"cascadeflow/{labels}#{digest}"


def _record_cost(model: str, cost: float | None) -> None:
    """Add the cascade's dollars to DSPy's usage tracker (``get_lm_usage()``), next to DSPy's token counts.

    DSPy records tokens from the ``Response.usage``; it cannot price a custom engine, so the engine adds
    ``{"cost": dollars}`` under the same LM name. Nothing is added on a DSPy cache hit (the engine is not
    called), matching DSPy's own rule that cache hits bill nothing.
    """
    tracker = dspy.settings.usage_tracker
    if tracker is not None and cost is not None:  # unknown is not added as zero
        tracker.add_usage(model, {"cost": cost})


class _EngineBase:
    # Capability hints DSPy reads from custom engines (dspy.clients.capabilities): the cascade passes tools
    # and response formats to its models, and its router skips tiers whose models lack the capability.
    supports_function_calling = True
    supports_response_schema = True
    supports_reasoning = False
    supported_params = frozenset(
        {
            "temperature",
            "max_tokens",
            "stop",
            "top_p",
            "seed",
            "frequency_penalty",
            "presence_penalty",
            "logprobs",
            "top_logprobs",
            "tools",
            "tool_choice",
            "response_format",
        }
    )

    def __init__(self, cascade: Cascade, *, user: str | None = None, tags: Sequence[str] = ()) -> None:
        self.cascade = cascade
        self.defaults = {"user": user, "tags": tuple(tags)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.cascade!r})"

    def _prepare(self, request: lm15.Request) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        validate_request(request)
        return build_call(request, self.defaults)

    @staticmethod
    def _done(request: lm15.Request, result: CascadeResult) -> lm15.Response:
        _record_cost(request.model, 0.0 if result.cached else result.cost)
        return to_response(result)

    @staticmethod
    def _failed(request: lm15.Request, error: CascadeError) -> lm15.LM15Error:
        if isinstance(error, ExhaustedError):  # failed attempts were paid for too
            _record_cost(request.model, sum_costs(a.cost for a in error.attempts))
        return to_lm15_error(error)


class CascadeEngine(_EngineBase):
    """A DSPy engine (``complete(Request) -> Response``) answering through a cascade.

    Example:
        >>> lm = dspy.LM("cascadeflow/mine", engine=CascadeEngine(cascade),  # doctest: +SKIP
        ...              async_engine=AsyncCascadeEngine(cascade))
    """

    def complete(self, request: lm15.Request) -> lm15.Response:
        msgs, kw = self._prepare(request)
        try:
            result = self.cascade.complete(msgs, **kw)
        except CascadeError as e:
            raise self._failed(request, e) from e
        return self._done(request, result)

    def stream(self, request: lm15.Request) -> Iterator[Any]:
        msgs, kw = self._prepare(request)
        fmt = StreamFormatter()
        try:
            for event in self.cascade.stream(msgs, **kw):
                yield from fmt.feed(event)
                if event.type == "final" and event.result is not None:
                    _record_cost(request.model, 0.0 if event.result.cached else event.result.cost)
        except CascadeError as e:
            raise self._failed(request, e) from e

    def close(self) -> None:
        """The cascade's resources belong to the cascade; nothing to release here."""


class AsyncCascadeEngine(_EngineBase):
    """The async counterpart of ``CascadeEngine`` (``async complete``); never blocks the event loop.

    Example:
        >>> lm = dspy.LM("cascadeflow/mine", engine=CascadeEngine(cascade),  # doctest: +SKIP
        ...              async_engine=AsyncCascadeEngine(cascade))
        >>> await dspy.Predict("question -> answer", lm=lm).acall(question="2+2?")  # doctest: +SKIP
    """

    async def complete(self, request: lm15.Request) -> lm15.Response:
        msgs, kw = self._prepare(request)
        try:
            result = await self.cascade.acomplete(msgs, **kw)
        except CascadeError as e:
            raise self._failed(request, e) from e
        return self._done(request, result)

    async def stream(self, request: lm15.Request) -> AsyncIterator[Any]:
        msgs, kw = self._prepare(request)
        fmt = StreamFormatter()
        try:
            async for event in self.cascade.astream(msgs, **kw):
                for out in fmt.feed(event):
                    yield out
                if event.type == "final" and event.result is not None:
                    _record_cost(request.model, 0.0 if event.result.cached else event.result.cost)
        except CascadeError as e:
            raise self._failed(request, e) from e

    async def aclose(self) -> None:
        """The cascade's resources belong to the cascade; nothing to release here."""


class CascadeLM(dspy.LM):
    """A cascade as a DSPy LM: ``dspy.configure(lm=CascadeLM([...]))`` and every module cascades.

    History entries get ``cost`` (dollars actually spent by this call: ``0.0`` on a DSPy cache hit),
    ``cost_details`` and ``cascade`` (the JSON trace: attempts, models, validator reasons). With
    ``dspy.configure(track_usage=True)``, ``prediction.get_lm_usage()`` shows tokens and ``cost``.

    Args:
        cascade: a ``Cascade``, or anything ``Cascade(...)`` accepts as tiers.
        model: the LM's name in DSPy (history, usage, cache key); default ``default_model_name(cascade)``.
        user, tags: who the calls are for, for the cascade's tracker.
        api_base (alias ``base_url``), api_key: endpoint and key for every LiteLLM model of the tiers
            that names none (strings, ``ModelSpec`` and ``Tier`` alike; a model's own values win), as
            ``Cascade(..., api_base=, api_key=)``. Not with a ready ``Cascade``. Never shown in reprs.
        cache: DSPy's response cache, as for ``dspy.LM`` (on by default).
        temperature, max_tokens, callbacks, **kwargs: as for ``dspy.LM``.

    ``num_retries`` is 0: the cascade retries and falls through tiers itself.

    Example:
        >>> from cascadeflow_core import ModelSpec
        >>> lm = CascadeLM([ModelSpec("openai/gpt-4o-mini", params={"mock_response": "[[ ## answer ## ]]\\n4"}),
        ...                 ModelSpec("openai/gpt-4o")], cache=False)
        >>> dspy.Predict("question -> answer", lm=lm)(question="2+2?").answer  # doctest: +SKIP
        '4'
    """

    def __init__(
        self,
        cascade: Any,
        *,
        model: str | None = None,
        user: str | None = None,
        tags: Sequence[str] = (),
        cache: bool = True,
        temperature: float | None = None,
        max_tokens: int | None = None,
        callbacks: list[Any] | None = None,
        api_base: str | None = None,
        api_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        if "base_url" in kwargs:
            if api_base is not None:
                raise ConfigError("base_url", "given together with api_base", "give one of them")
            api_base = kwargs.pop("base_url")
        if isinstance(cascade, Cascade):
            if api_base is not None or api_key is not None:
                raise ConfigError(
                    "api_base/api_key",
                    "ignored when a ready Cascade is given",
                    "give them to Cascade(tiers, api_base=..., api_key=...), or pass the tiers here",
                )
        else:
            cascade = Cascade(cascade, api_base=api_base, api_key=api_key)
        kwargs.setdefault("num_retries", 0)
        super().__init__(
            model or default_model_name(cascade),
            engine=CascadeEngine(cascade, user=user, tags=tags),
            async_engine=AsyncCascadeEngine(cascade, user=user, tags=tags),
            cache=cache,
            temperature=temperature,
            max_tokens=max_tokens,
            callbacks=callbacks,
            **kwargs,
        )

    @property
    def cascade(self) -> Cascade:
        """The wrapped ``Cascade``."""
        return self.engine.cascade

    def update_history(self, entry: dict[str, Any]) -> None:
        trace = trace_of(entry.get("response"))
        if trace is not None:
            cache_hit = not entry.get("usage")  # DSPy replays cached calls with empty usage
            entry["cascade"] = trace
            entry["cost"] = 0.0 if cache_hit or trace.get("cached") else trace.get("cost")
            entry["cost_details"] = {
                "kind": "cascadeflow",
                "currency": "USD",
                "dspy_cache_hit": cache_hit,
                "recorded_cost": trace.get("cost"),
                "verifier_cost": trace.get("verifier_cost"),
                "model": trace.get("model"),
                "tier": trace.get("tier"),
                "escalated": trace.get("escalated"),
                "savings": _savings(trace),
            }
            entry["cascade_summary"] = _summary(trace, entry["cost"], cache_hit)
        super().update_history(entry)

    def inspect_history(self, n: int = 1, file: TextIO | None = None) -> None:
        """DSPy's ``inspect_history``, each entry followed by the cascade's decision and cost."""
        super().inspect_history(n, file=file)
        out = file or sys.stdout
        for i, entry in enumerate(self.history[-n:], 1):
            if entry.get("cascade_summary"):
                print(f"[cascade {i}/{min(n, len(self.history))}] {entry['cascade_summary']}", file=out)


def _usd(x: Any) -> str:
    return "unknown" if x is None else f"${x:.6f}"


def _savings(trace: dict[str, Any]) -> float | None:
    cost, verifier = trace.get("cost"), trace.get("verifier_cost")
    return None if cost is None or verifier is None else verifier - cost


def _summary(trace: dict[str, Any], cost: Any, cache_hit: bool) -> str:
    """One line: who answered, whether the cascade escalated and why, what it cost."""
    attempts = trace.get("attempts") or []
    path = " -> ".join(f"{a.get('model')} {a.get('status')}" for a in attempts)
    verdict = "escalated" if trace.get("escalated") else "first tier"
    why = next((r for a in attempts if a.get("status") == "rejected" for r in a.get("reasons") or ()), "")
    line = f"answered by {trace.get('model')} ({trace.get('tier')}, {verdict}): {path}"
    line += f"; rejected because {why}" if why else ""
    line += f"; cost {_usd(cost)}, verifier alone {_usd(trace.get('verifier_cost'))}"
    return line + (" (DSPy cache hit: nothing spent)" if cache_hit else "")
