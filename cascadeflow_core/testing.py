"""Testing utilities: a real OpenAI-compatible HTTP server on 127.0.0.1 with scripted replies and faults.

``OpenAICompatServer`` answers ``POST /v1/chat/completions`` (JSON or SSE streaming, tool calls, logprobs,
``stream_options.include_usage``), ``POST /v1/moderations`` and ``GET /v1/models`` from an aiohttp app running in a background thread.
Point any OpenAI-compatible client at ``server.base_url`` (LiteLLM: ``model="openai/<name>"``,
``api_base=server.base_url``). Replies are scripted per model; latency and faults (429 with Retry-After,
5xx, timeouts, connection resets, malformed JSON, context-window errors, errors mid-stream) are injected
at a configurable rate from a seeded RNG, or queued exactly with ``fail_next``. Every request is recorded.

This module imports aiohttp (a LiteLLM dependency), never LiteLLM itself.

Example:
    >>> with OpenAICompatServer(replies={"small": "4"}) as server:
    ...     server.base_url.endswith("/v1")
    True
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FAULT_KINDS", "Faults", "OpenAICompatServer", "Reply", "ServedRequest"]

#: Every fault kind the server can inject.
FAULT_KINDS: tuple[str, ...] = (
    "rate_limit",  # 429 with a Retry-After header
    "server_error",  # 500
    "bad_gateway",  # 502
    "unavailable",  # 503
    "timeout",  # sleeps ``Faults.hang_s`` before answering (beyond the client's timeout)
    "reset",  # closes the connection without answering
    "malformed",  # 200 with a body that is not JSON
    "context_window",  # 400 with OpenAI's context_length_exceeded error body
    "midstream",  # streaming: sends a few chunks, then drops the connection (non-stream: truncated body)
)


@dataclass(frozen=True)
class Reply:
    """One scripted answer.

    Attributes:
        text: the assistant's text.
        tool_calls: tool calls to return when the request offers ``tools``; each a mapping with ``name``
            and ``arguments`` (a JSON string or a mapping) and optionally ``id``.
        finish_reason: defaults to ``"tool_calls"`` when tool calls are sent, else ``"stop"``.
        prompt_tokens: reported usage; defaults to a count of the request's characters / 4.
        completion_tokens: reported usage; defaults to the number of streamed pieces.
        logprob: the log probability reported for each token when ``logprobs`` is requested.

    Example:
        >>> Reply("Paris").text
        'Paris'
    """

    text: str = ""
    tool_calls: tuple[Mapping[str, Any], ...] = ()
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    logprob: float = -0.05


@dataclass(frozen=True)
class Faults:
    """Random fault injection: each request fails with probability ``rate``, its kind drawn from ``kinds``.

    Example:
        >>> Faults(rate=0.1, kinds=("rate_limit", "unavailable")).rate
        0.1
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    retry_after: float = 0.0
    hang_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"Faults.rate: {self.rate!r} is not in [0, 1]")
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"Faults.kinds: unknown or empty {sorted(unknown)}; choose from {FAULT_KINDS}")


@dataclass(frozen=True)
class ServedRequest:
    """What the server received and did: the body, the model, when, and the fault injected (or None).

    ``headers`` are the request's HTTP headers (so a test can check which API key was sent).
    """

    model: str
    body: Mapping[str, Any]
    stream: bool
    fault: str | None
    at: float = field(default_factory=time.monotonic)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


ReplyScript = (
    Callable[[str, list[dict[str, Any]], dict[str, Any]], "Reply | str"]
    | Mapping[str, "str | Reply | Sequence[str | Reply]"]
    | str
    | Reply
    | None
)


def _tokens(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text) or ([text] if text else [])


def _content_chars(messages: Any) -> int:
    if not isinstance(messages, list):
        return 0
    total = 0
    for m in messages:
        c = m.get("content") if isinstance(m, dict) else None
        total += len(c) if isinstance(c, str) else len(json.dumps(c, default=str)) if c else 0
    return total


def _abort(request: Any) -> None:
    """Drop the connection without a response (a no-op when the client already went away)."""
    transport = request.transport
    if transport is not None:
        transport.abort()


def _is_stream(request: Any) -> bool:
    return bool(request.get("cf_stream"))


def _error_body(message: str, etype: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": etype, "param": param, "code": code}}


class OpenAICompatServer:
    """A local OpenAI-compatible chat-completions server with scripted replies, latency and faults.

    Args:
        replies: how each model answers: a function ``(model, messages, body) -> Reply | str``, a mapping
            ``model -> text | Reply | [text | Reply, ...]`` (a list cycles; key ``"*"`` is the default),
            one text or ``Reply`` for every model, or None (answers ``"ok"``).
        latency: seconds before each answer: fixed, or a ``(low, high)`` range drawn per request.
        faults: a ``Faults`` for every model, or a mapping ``model -> Faults`` (``"*"`` the default).
        seed: seeds the RNG behind latency and fault draws, so a run is reproducible.
        stream_delay: seconds between streamed chunks.
        moderation: ``text -> categories that fire`` for ``POST /v1/moderations`` (none fire by default).

    Attributes:
        base_url: ``http://127.0.0.1:<port>/v1``, once started.
        served: every request, in arrival order (``ServedRequest``).

    Example:
        >>> with OpenAICompatServer(replies={"small": ["4", "5"]}, faults=Faults(rate=0.0)) as s:
        ...     s.counts["small"]
        0
    """

    def __init__(
        self,
        replies: ReplyScript = None,
        *,
        latency: float | tuple[float, float] = 0.0,
        faults: Faults | Mapping[str, Faults] | None = None,
        seed: int = 0,
        stream_delay: float = 0.0,
        moderation: Callable[[str], Iterable[str]] | None = None,
    ) -> None:
        self.replies = replies
        self.moderation = moderation
        self.latency = latency
        self.faults = faults
        self.stream_delay = stream_delay
        self.served: list[ServedRequest] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._cycle: Counter[str] = Counter()
        self._forced: deque[tuple[str | None, str, float | None]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: Any = None
        self._closing: asyncio.Event | None = None
        self.host = "127.0.0.1"
        self.port: int | None = None

    # ----- public surface -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The OpenAI base URL of the running server (ends in ``/v1``)."""
        if self.port is None:
            raise RuntimeError("OpenAICompatServer is not started: use start() or a with-block")
        return f"http://{self.host}:{self.port}/v1"

    @property
    def counts(self) -> Counter[str]:
        """Requests received per model (faulted ones included)."""
        with self._lock:
            return Counter(r.model for r in self.served)

    @property
    def bodies(self) -> list[Mapping[str, Any]]:
        """The JSON bodies received, in order."""
        with self._lock:
            return [r.body for r in self.served]

    def requests_for(self, model: str) -> list[ServedRequest]:
        """The requests received for ``model``, in order."""
        with self._lock:
            return [r for r in self.served if r.model == model]

    def fail_next(
        self, kind: str, times: int = 1, *, model: str | None = None, retry_after: float | None = None
    ) -> None:
        """Queue exact faults: the next ``times`` requests (for ``model``, or any) fail with ``kind``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"fail_next: unknown kind {kind!r}; choose from {FAULT_KINDS}")
        with self._lock:
            self._forced.extend([(model, kind, retry_after)] * times)

    def reset(self) -> None:
        """Forget the recorded requests, queued faults and reply cycles."""
        with self._lock:
            self.served.clear()
            self._forced.clear()
            self._cycle.clear()

    def start(self) -> OpenAICompatServer:
        """Start serving on a free port in a background thread; returns ``self``."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve, args=(ready, errors), daemon=True, name="OpenAICompatServer"
        )
        self._thread.start()
        ready.wait(30)
        if errors:
            self._thread = None
            raise RuntimeError(f"OpenAICompatServer failed to start: {errors[0]!r}") from errors[0]
        return self

    def stop(self) -> None:
        """Stop the server (hanging requests are released) and join its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        self._thread = self._loop = None
        self.port = None

    def __enter__(self) -> OpenAICompatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self.port is not None else "stopped"
        return f"OpenAICompatServer({where}, served={len(self.served)})"

    # ----- server lifecycle -----------------------------------------------------------------------
    def _serve(self, ready: threading.Event, errors: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as e:  # reported to start()
            errors.append(e)
            ready.set()
            loop.close()
            return
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _startup(self) -> None:
        from aiohttp import web

        self._closing = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/chat/completions", self._chat)
        app.router.add_post("/v1/moderations", self._moderations)
        app.router.add_post("/moderations", self._moderations)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/models", self._models)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        await web.SockSite(self._runner, sock).start()
        self.port = int(sock.getsockname()[1])

    async def _shutdown(self) -> None:
        if self._closing is not None:
            self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # ----- request handling -----------------------------------------------------------------------
    async def _models(self, request: Any) -> Any:
        from aiohttp import web

        names = sorted(set(self.replies) - {"*"}) if isinstance(self.replies, Mapping) else []
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "local"} for n in names]
        return web.json_response({"object": "list", "data": data})

    async def _moderations(self, request: Any) -> Any:
        """OpenAI-format moderation: ``moderation(text)`` names the categories that fire (none by default)."""
        from aiohttp import web

        body = await request.json()
        inputs = body.get("input")
        inputs = [inputs] if isinstance(inputs, str) else list(inputs or [])
        results = []
        for text in inputs:
            cats = set(self.moderation(str(text))) if self.moderation is not None else set()
            results.append(
                {
                    "flagged": bool(cats),
                    "categories": {c: True for c in sorted(cats)},
                    "category_scores": {c: 0.99 for c in sorted(cats)},
                }
            )
        return web.json_response(
            {"id": "modr-local", "model": body.get("model", "moderation"), "results": results}
        )

    async def _chat(self, request: Any) -> Any:
        from aiohttp import web

        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.json_response(
                _error_body("request body is not JSON", "invalid_request_error", None), status=400
            )
        if not isinstance(body, dict):
            return web.json_response(
                _error_body("request body must be an object", "invalid_request_error", None), status=400
            )
        model = str(body.get("model", ""))
        stream = bool(body.get("stream"))
        request["cf_stream"] = stream
        fault, retry_after, delay = self._draw(model)
        with self._lock:
            self.served.append(
                ServedRequest(
                    model=model, body=body, stream=stream, fault=fault, headers=dict(request.headers)
                )
            )
        if delay > 0:
            await asyncio.sleep(delay)
        if fault is not None:
            early = await self._fault(request, fault, model, retry_after)
            if early is not None or fault != "midstream":
                return early
        reply = self._reply(model, body)
        if stream:
            return await self._stream(request, body, model, reply, abort_after=2 if fault else None)
        payload = self._completion(body, model, reply)
        if fault == "midstream":  # non-stream: a truncated JSON body, then the connection drops
            data = json.dumps(payload).encode()
            resp = web.StreamResponse(
                status=200, headers={"Content-Type": "application/json", "Content-Length": str(len(data))}
            )
            await resp.prepare(request)
            await resp.write(data[: len(data) // 2])
            _abort(request)
            return resp
        return web.json_response(payload)

    def _draw(self, model: str) -> tuple[str | None, float | None, float]:
        with self._lock:
            lat = self.latency
            delay = self._rng.uniform(*lat) if isinstance(lat, tuple) else float(lat)
            for i, (m, kind, ra) in enumerate(self._forced):
                if m is None or m == model:
                    del self._forced[i]
                    return kind, ra, delay
            faults = self.faults
            if isinstance(faults, Mapping):
                faults = faults.get(model, faults.get("*"))
            if faults is None or faults.rate <= 0 or self._rng.random() >= faults.rate:
                return None, None, delay
            return self._rng.choice(faults.kinds), None, delay

    def _faults_for(self, model: str) -> Faults:
        f = self.faults
        if isinstance(f, Mapping):
            f = f.get(model, f.get("*"))
        return f if isinstance(f, Faults) else Faults()

    async def _fault(self, request: Any, kind: str, model: str, retry_after: float | None) -> Any:
        from aiohttp import web

        cfg = self._faults_for(model)
        if kind == "rate_limit":
            ra = cfg.retry_after if retry_after is None else retry_after
            body = _error_body(f"Rate limit reached for {model}", "requests", "rate_limit_exceeded")
            return web.json_response(body, status=429, headers={"Retry-After": f"{ra:g}"})
        statuses = {"server_error": 500, "bad_gateway": 502, "unavailable": 503}
        if kind in statuses:
            body = _error_body(f"injected {statuses[kind]} for {model}", "server_error", None)
            return web.json_response(body, status=statuses[kind])
        if kind == "context_window":
            body = _error_body(
                f"This model's maximum context length is 8192 tokens. However, your messages resulted in "
                f"{8192 + 1000} tokens. Please reduce the length of the messages.",
                "invalid_request_error",
                "context_length_exceeded",
                "messages",
            )
            return web.json_response(body, status=400)
        if kind == "malformed" and _is_stream(request):
            resp = web.StreamResponse(status=200, headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            await resp.write(b'data: {"id": "chatcmpl-broken", "choices": [ not json\n\n')
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
            return resp
        if kind == "malformed":
            return web.Response(
                status=200,
                text='{"id": "chatcmpl-broken", "choices": [ not json',
                content_type="application/json",
            )
        if kind == "timeout":
            assert self._closing is not None
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._closing.wait(), timeout=cfg.hang_s)
            _abort(request)
            return web.Response(status=504)
        if kind == "reset":
            _abort(request)
            return web.Response(status=500)
        return None  # midstream: handled by the caller

    def _reply(self, model: str, body: dict[str, Any]) -> Reply:
        script = self.replies
        raw = body.get("messages")
        messages: list[dict[str, Any]] = raw if isinstance(raw, list) else []
        if callable(script):
            out: Any = script(model, messages, body)
        elif isinstance(script, Mapping):
            out = script.get(model, script.get("*", "ok"))
            if isinstance(out, Sequence) and not isinstance(out, str):
                with self._lock:
                    i = self._cycle[model]
                    self._cycle[model] += 1
                out = out[i % len(out)] if out else ""
        else:
            out = "ok" if script is None else script
        return out if isinstance(out, Reply) else Reply(text=str(out))

    @staticmethod
    def _tool_calls(body: dict[str, Any], reply: Reply) -> list[dict[str, Any]]:
        if not reply.tool_calls or not body.get("tools"):
            return []
        calls = []
        for i, tc in enumerate(reply.tool_calls):
            args = tc.get("arguments", {})
            calls.append(
                {
                    "id": str(tc.get("id") or f"call_{i}"),
                    "type": "function",
                    "function": {
                        "name": str(tc["name"]),
                        "arguments": args if isinstance(args, str) else json.dumps(args),
                    },
                }
            )
        return calls

    @staticmethod
    def _usage(body: dict[str, Any], reply: Reply, pieces: int) -> dict[str, int]:
        prompt = reply.prompt_tokens
        if prompt is None:
            prompt = _content_chars(body.get("messages")) // 4 + 1
        completion = reply.completion_tokens if reply.completion_tokens is not None else max(1, pieces)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    @staticmethod
    def _logprobs(tokens: list[str], reply: Reply) -> dict[str, Any]:
        return {
            "content": [
                {"token": t, "logprob": reply.logprob, "bytes": list(t.encode()), "top_logprobs": []}
                for t in tokens
            ]
        }

    def _completion(self, body: dict[str, Any], model: str, reply: Reply) -> dict[str, Any]:
        calls = self._tool_calls(body, reply)
        tokens = _tokens(reply.text)
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.text if (reply.text or not calls) else None,
        }
        if calls:
            message["tool_calls"] = calls
        choice: dict[str, Any] = {
            "index": 0,
            "message": message,
            "finish_reason": reply.finish_reason or ("tool_calls" if calls else "stop"),
            "logprobs": self._logprobs(tokens, reply) if body.get("logprobs") else None,
        }
        return {
            "id": f"chatcmpl-local-{len(self.served)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [choice],
            "usage": self._usage(body, reply, len(tokens)),
        }

    async def _stream(
        self, request: Any, body: dict[str, Any], model: str, reply: Reply, abort_after: int | None
    ) -> Any:
        from aiohttp import web

        resp = web.StreamResponse(
            status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await resp.prepare(request)
        cid = f"chatcmpl-local-{len(self.served)}"

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
            obj = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": choices,
                **extra,
            }
            return f"data: {json.dumps(obj)}\n\n".encode()

        tokens = _tokens(reply.text)
        calls = self._tool_calls(body, reply)
        events = [chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])]
        for t in tokens:
            c: dict[str, Any] = {"index": 0, "delta": {"content": t}, "finish_reason": None}
            if body.get("logprobs"):
                c["logprobs"] = self._logprobs([t], reply)
            events.append(chunk([c]))
        for i, tc in enumerate(calls):
            head = {
                "index": i,
                "id": tc["id"],
                "type": "function",
                "function": {"name": tc["function"]["name"], "arguments": ""},
            }
            events.append(chunk([{"index": 0, "delta": {"tool_calls": [head]}, "finish_reason": None}]))
            args = tc["function"]["arguments"]
            for j in range(0, len(args), 16):
                part = {"index": i, "function": {"arguments": args[j : j + 16]}}
                events.append(chunk([{"index": 0, "delta": {"tool_calls": [part]}, "finish_reason": None}]))
        finish = reply.finish_reason or ("tool_calls" if calls else "stop")
        events.append(chunk([{"index": 0, "delta": {}, "finish_reason": finish}]))
        opts = body.get("stream_options")
        if isinstance(opts, dict) and opts.get("include_usage"):
            events.append(chunk([], usage=self._usage(body, reply, len(tokens))))
        events.append(b"data: [DONE]\n\n")
        for n, data in enumerate(events):
            if abort_after is not None and n >= abort_after:
                _abort(request)
                return resp
            await resp.write(data)
            if self.stream_delay:
                await asyncio.sleep(self.stream_delay)
        await resp.write_eof()
        return resp
