"""A LiteLLM callback that books calls made with ``litellm.completion`` outside any cascade.

LiteLLM is reached only through ``_litellm.litellm_module()``, inside ``make_callback``: importing this
module (or ``cascadeflow_core``) never imports LiteLLM.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._tracker import CostTracker

__all__ = ["make_callback"]

_SEEN_MAX = 4096


def _seconds(start: Any, end: Any) -> float:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return max(0.0, (end - start).total_seconds())
    if isinstance(start, (int, float)) and isinstance(end, (int, float)):
        return max(0.0, float(end) - float(start))
    return 0.0


def _metadata(kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    lp = kwargs.get("litellm_params") or {}
    md = lp.get("metadata") if isinstance(lp, Mapping) else None
    return md if isinstance(md, Mapping) else {}


def call_fields(kwargs: Mapping[str, Any], response: Any, ok: bool) -> dict[str, Any] | None:
    """What to book for one LiteLLM call, or None for calls a cascade already books."""
    md = _metadata(kwargs)
    if md.get("cascadeflow"):
        return None
    slo = kwargs.get("standard_logging_object") or {}
    usage = getattr(response, "usage", None) if ok else None
    in_tok = int(getattr(usage, "prompt_tokens", 0) or slo.get("prompt_tokens") or 0) if ok else 0
    out_tok = int(getattr(usage, "completion_tokens", 0) or slo.get("completion_tokens") or 0) if ok else 0
    cost: Any = kwargs.get("response_cost")
    if not isinstance(cost, (int, float)):
        cost = slo.get("response_cost")
        cost = cost if isinstance(cost, (int, float)) else 0.0
    tags = md.get("tags") or ()
    exc = kwargs.get("exception")
    return {
        "model": str(kwargs.get("model") or slo.get("model") or "unknown"),
        "cost": float(cost) if ok else 0.0,
        "input_tokens": in_tok,
        "output_tokens": out_tok,
        "user": kwargs.get("user") or md.get("user") or slo.get("end_user") or None,
        "tags": tuple(str(t) for t in tags) if isinstance(tags, (list, tuple)) else (str(tags),),
        "plan": md.get("plan"),
        "status": "recorded" if ok else "error",
        "error_kind": None if ok else type(exc).__name__ if exc is not None else "error",
    }


class _Booking:
    """The behaviour of the callback; mixed into LiteLLM's ``CustomLogger`` by ``_callback_class``."""

    tracker: CostTracker

    def _setup(self, tracker: CostTracker) -> None:
        self.tracker = tracker
        # LiteLLM dedupes loggers by class name + public str/int fields: one per tracker, not one per class.
        self.tracker_id = f"{id(tracker):x}"
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CascadeFlowLiteLLMCallback({self.tracker!r})"

    def register(self) -> Any:
        """Append to ``litellm.callbacks`` (once); returns the callback."""
        from ..providers._litellm import litellm_module

        lm = litellm_module()
        if self not in lm.callbacks:
            lm.callbacks.append(self)
        return self

    def unregister(self) -> None:
        """Remove from every LiteLLM callback list (LiteLLM copies ``litellm.callbacks`` into several)."""
        from ..providers._litellm import litellm_module

        lm = litellm_module()
        for name in (
            "callbacks",
            "success_callback",
            "failure_callback",
            "_async_success_callback",
            "_async_failure_callback",
            "input_callback",
        ):
            lst = getattr(lm, name, None)
            while isinstance(lst, list) and self in lst:
                lst.remove(self)

    def _first_time(self, call_id: str | None) -> bool:
        if not call_id:
            return True
        with self._lock:
            if call_id in self._seen:
                return False
            self._seen[call_id] = None
            while len(self._seen) > _SEEN_MAX:
                self._seen.popitem(last=False)
            return True

    def _book(self, kwargs: Any, response: Any, start: Any, end: Any, ok: bool) -> None:
        call_id = kwargs.get("litellm_call_id")
        fields = call_fields(kwargs, response, ok)
        if fields is None or not self._first_time(call_id):
            return
        self.tracker.record(
            fields.pop("model"),
            latency_s=_seconds(start, end),
            source="litellm",
            request_id=f"litellm-{call_id}" if call_id else None,
            **fields,
        )

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._book(kwargs, response_obj, start_time, end_time, True)

    def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._book(kwargs, response_obj, start_time, end_time, False)

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        await asyncio.to_thread(self._book, kwargs, response_obj, start_time, end_time, True)

    async def async_log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        await asyncio.to_thread(self._book, kwargs, response_obj, start_time, end_time, False)


@functools.cache
def _callback_class() -> type:
    from ..providers._litellm import custom_logger_class

    CustomLogger = custom_logger_class()  # noqa: N806 (a class)

    class CascadeFlowLiteLLMCallback(_Booking, CustomLogger):
        """Books each LiteLLM call (cost from LiteLLM's ``response_cost``) into a ``CostTracker``."""

        def __init__(self, tracker: CostTracker) -> None:
            CustomLogger.__init__(self)
            self._setup(tracker)

    return CascadeFlowLiteLLMCallback


def make_callback(tracker: CostTracker) -> Any:
    """A ``litellm.integrations.custom_logger.CustomLogger`` booking into ``tracker``."""
    return _callback_class()(tracker)
