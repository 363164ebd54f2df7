"""``CascadeTraceHandler``: collects the cascade traces of every ``CascadeLLM`` call LlamaIndex makes.

Query engines, chat engines and agents keep only the answer text of their LLM calls; this instrumentation
handler keeps the rest (cost, models, validator reasons), so a RAG answer can be shown with its cost.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events.llm import LLMChatEndEvent, LLMCompletionEndEvent
from pydantic import PrivateAttr

from cascadeflow_core import CascadeResult, sum_costs

__all__ = ["CascadeTraceHandler"]


def _result_of(event: Any) -> CascadeResult | None:
    response = getattr(event, "response", None)
    raw = getattr(response, "raw", None)
    result = raw.get("result") if isinstance(raw, dict) else None
    return result if isinstance(result, CascadeResult) else None


class CascadeTraceHandler(BaseEventHandler):
    """Instrumentation handler that records the ``CascadeResult`` of each LLM call.

    Example:
        >>> handler = CascadeTraceHandler()
        >>> with handler.attached():  # doctest: +SKIP
        ...     answer = index.as_query_engine().query("What is CascadeFlow?")
        >>> handler.cost, handler.results[-1].explain()  # doctest: +SKIP
    """

    _results: list[CascadeResult] = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def class_name(cls) -> str:
        return "CascadeTraceHandler"

    def handle(self, event: Any, **kwargs: Any) -> None:
        if (
            isinstance(event, (LLMChatEndEvent, LLMCompletionEndEvent))
            and (r := _result_of(event)) is not None
        ):
            with self._lock:
                self._results.append(r)

    @property
    def results(self) -> list[CascadeResult]:
        """Cascade results recorded so far, in call order."""
        with self._lock:
            return list(self._results)

    @property
    def cost(self) -> float | None:
        """Dollars spent by the recorded calls (``None`` when a call's price is unknown)."""
        return sum_costs(r.cost for r in self.results)

    @property
    def verifier_cost(self) -> float | None:
        """What the recorded calls would have cost on the verifier alone (``None`` when one is unknown)."""
        costs = [r.verifier_cost for r in self.results]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)

    def reset(self) -> None:
        with self._lock:
            self._results.clear()

    def attach(self) -> CascadeTraceHandler:
        """Register with LlamaIndex's root dispatcher (once)."""
        root = get_dispatcher()
        if not any(h is self for h in root.event_handlers):
            root.add_event_handler(self)
        return self

    def detach(self) -> None:
        root = get_dispatcher()
        root.event_handlers = [h for h in root.event_handlers if h is not self]

    @contextmanager
    def attached(self) -> Iterator[CascadeTraceHandler]:
        """Record only within a ``with`` block."""
        self.attach()
        try:
            yield self
        finally:
            self.detach()
