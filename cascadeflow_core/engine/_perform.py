"""Performing ``Invoke`` effects for the drivers (``_cascade.py``): sync, async, and shielded from cancel.

A station may be sync or async and may block on I/O (offloaded to a thread in async code). Kept apart
from the drivers so they stay a few lines each; no cascade logic here.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import types
from typing import Any

from ._engine import Invoke

__all__ = ["invoke_async", "invoke_shielded", "invoke_sync", "run_coroutine"]


def invoke_sync(eff: Invoke) -> Any:
    out = eff.fn(*eff.args)
    if _awaitable(out):
        return run_coroutine(out)
    return out


async def invoke_async(eff: Invoke) -> Any:
    out = await asyncio.to_thread(eff.fn, *eff.args) if eff.offload else eff.fn(*eff.args)
    if _awaitable(out):
        out = await out
    return out


async def invoke_shielded(eff: Invoke) -> tuple[Any, BaseException | None]:
    """An offloaded station call runs to its end even when the request is cancelled meanwhile.

    Its thread cannot be stopped, so a reservation it makes would be held until expiry with nobody to
    release it. The result goes back to the engine first; the cancel follows (the engine then settles).
    """
    if not eff.offload:
        return await invoke_async(eff), None
    task = asyncio.ensure_future(invoke_async(eff))
    cancel: BaseException | None = None
    while True:
        try:
            return await asyncio.shield(task), cancel
        except asyncio.CancelledError as e:
            if task.done() and not task.cancelled():
                return task.result(), cancel  # the task itself raised CancelledError: never for stations
            cancel = e


def _awaitable(out: Any) -> bool:
    # Most stations return plain values: look for ``__await__`` on the type before inspect's ABC check.
    return hasattr(type(out), "__await__") or (
        isinstance(out, types.GeneratorType) and inspect.isawaitable(out)
    )


def run_coroutine(awaitable: Any) -> Any:
    """Run an awaitable from sync code, also when called inside a running event loop (Jupyter)."""

    async def wrap() -> Any:
        return await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wrap())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(wrap())
        except BaseException as e:
            box["error"] = e

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
