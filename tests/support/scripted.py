"""A scripted ``ModelBackend`` for engine tests: per-model replies, errors and mid-stream failures.

It implements the public backend protocol (the same one adapters use), and records every request it
receives so tests can assert on what a provider would have seen.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from cascadeflow_core import Draft, ModelSpec, ProviderError, Request


@dataclass
class Reply:
    text: str = ""
    error: ProviderError | None = None
    fail_after_chunks: int | None = None  # streaming: raise `error` after this many chunks
    logprob: float | None = None
    finish_reason: str = "stop"
    tool_calls: tuple = ()
    cost: float = 0.001


@dataclass
class ScriptedBackend:
    """Replies per model label: a Reply, a str, or a list of them consumed in order (last one repeats)."""

    script: dict[str, Any] = field(default_factory=dict)
    calls: list[tuple[str, Request]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _next(self, spec: ModelSpec, request: Request) -> Reply:
        with self.lock:
            self.calls.append((spec.label, request))
            item = self.script[spec.label]
            if isinstance(item, list):
                item = item.pop(0) if len(item) > 1 else item[0]
        return Reply(text=item) if isinstance(item, str) else item

    def _draft(self, spec: ModelSpec, r: Reply) -> Draft:
        return Draft(
            model=spec.label,
            text=r.text,
            tool_calls=r.tool_calls,
            finish_reason=r.finish_reason,
            input_tokens=10,
            output_tokens=max(1, len(r.text) // 4),
            cost=r.cost,
            logprob=r.logprob,
            mean_logprob=r.logprob,
        )

    def complete(self, spec: ModelSpec, request: Request) -> Draft:
        r = self._next(spec, request)
        if r.error is not None:
            raise r.error
        return self._draft(spec, r)

    async def acomplete(self, spec: ModelSpec, request: Request) -> Draft:
        await asyncio.sleep(0)
        return self.complete(spec, request)

    def stream(self, spec: ModelSpec, request: Request) -> Iterator[str | Draft]:
        r = self._next(spec, request)
        chunks = [r.text[i : i + 3] for i in range(0, len(r.text), 3)]
        for i, c in enumerate(chunks):
            if r.fail_after_chunks is not None and i >= r.fail_after_chunks:
                raise r.error or ProviderError("stream broke", model=spec.model)
            yield c
        if r.error is not None and r.fail_after_chunks is None:
            raise r.error
        yield self._draft(spec, r)

    async def astream(self, spec: ModelSpec, request: Request) -> AsyncIterator[str | Draft]:
        for item in self.stream(spec, request):
            await asyncio.sleep(0)
            yield item

    def called(self, label: str) -> int:
        return sum(1 for m, _ in self.calls if m == label)
