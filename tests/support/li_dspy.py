"""Backends and helpers for the LlamaIndex and DSPy adapter tests.

``FnBackend`` is a real ``ModelBackend`` whose reply is a function of the request (so a test can script
tool calls, DSPy field formats or arithmetic answers), recording which I/O path served each call.
``dspy_reply`` writes an answer in DSPy's ChatAdapter format for whatever output fields the prompt asks.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cascadeflow_core import Cascade, Draft, ModelSpec, Request, Tier, ToolCall, Verdict

Reply = str | tuple[str, tuple[ToolCall, ...]] | Draft


@dataclass
class FnBackend:
    """``reply(label, request) -> text | (text, tool_calls) | Draft``; ``calls`` records ``(label, path)``.

    ``sync_forbidden`` makes the sync paths raise (to prove async callers never use them); ``gate``
    is awaited by the async paths (to prove the event loop stays free while a call is pending).
    """

    reply: Callable[[str, Request], Reply]
    calls: list[tuple[str, str]] = field(default_factory=list)
    sync_forbidden: bool = False
    gate: asyncio.Event | None = None
    started: asyncio.Event | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _draft(self, spec: ModelSpec, request: Request, path: str) -> Draft:
        with self.lock:
            self.calls.append((spec.label, path))
        out = self.reply(spec.label, request)
        if isinstance(out, Draft):
            return out
        text, calls = (out, ()) if isinstance(out, str) else out
        in_tok = sum(len(str(m.get("content") or "")) for m in request.messages) // 4 + 1
        out_tok = max(1, (len(text) + sum(len(c.arguments) for c in calls)) // 4)
        price_in, price_out = spec.input_cost_per_token or 0.0, spec.output_cost_per_token or 0.0
        return Draft(
            model=spec.label,
            text=text,
            tool_calls=tuple(calls),
            finish_reason="tool_calls" if calls else "stop",
            input_tokens=in_tok,
            output_tokens=out_tok,
            cost=in_tok * price_in + out_tok * price_out,
        )

    def _check_sync(self) -> None:
        if self.sync_forbidden:
            raise AssertionError("a sync backend path was used by an async caller")

    def complete(self, spec: ModelSpec, request: Request) -> Draft:
        self._check_sync()
        return self._draft(spec, request, "sync")

    async def acomplete(self, spec: ModelSpec, request: Request) -> Draft:
        await self._wait()
        return self._draft(spec, request, "async")

    async def _wait(self) -> None:
        if self.started is not None:
            self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        await asyncio.sleep(0)

    def stream(self, spec: ModelSpec, request: Request) -> Iterator[str | Draft]:
        self._check_sync()
        draft = self._draft(spec, request, "stream")
        for i in range(0, len(draft.text), 4):
            yield draft.text[i : i + 4]
        yield draft

    async def astream(self, spec: ModelSpec, request: Request) -> AsyncIterator[str | Draft]:
        await self._wait()
        draft = self._draft(spec, request, "astream")
        for i in range(0, len(draft.text), 4):
            await asyncio.sleep(0)
            yield draft.text[i : i + 4]
        yield draft

    def paths(self) -> set[str]:
        return {p for _, p in self.calls}


CHEAP = "openai/gpt-4o-mini"
STRONG = "openai/gpt-4o"


def has_digit(drafts: Any, request: Request) -> Verdict:
    """A real validator for tests: accept a draft that states a number (or calls a tool)."""
    d = drafts[0]
    if d.tool_calls or re.search(r"\d", d.text):
        return Verdict(True, 0.9, ("answer states a number",), validator="has_digit")
    return Verdict(False, 0.1, ("no number in the answer",), validator="has_digit")


def two_tier(backend: FnBackend, validator: Any = has_digit, **kw: Any) -> Cascade:
    """Cheap tier (validated) then strong tier, both served by ``backend`` with fixed prices."""
    cheap = ModelSpec(
        CHEAP,
        input_cost_per_token=0.15e-6,
        output_cost_per_token=0.6e-6,
        backend=backend,
        context_window=kw.pop("cheap_window", None),
    )
    strong = ModelSpec(
        STRONG,
        input_cost_per_token=2.5e-6,
        output_cost_per_token=10e-6,
        backend=backend,
        context_window=kw.pop("strong_window", None),
    )
    return Cascade([Tier([cheap], validator=validator), Tier([strong], validator=_verifier_ok)], **kw)


def _verifier_ok(drafts: Any, request: Request) -> Verdict:
    return Verdict(True, 1.0, ("verifier answer",), validator="verifier")


_FIELD_RE = re.compile(r"`\[\[ ## (\w+) ## \]\]`")


def requested_fields(request: Request) -> list[str]:
    """The output fields a DSPy ChatAdapter prompt asks for, in order (without ``completed``)."""
    last = request.last_user_text
    return [f for f in _FIELD_RE.findall(last) if f != "completed"]


def dspy_reply(values: Mapping[str, Any]) -> str:
    """An answer in DSPy's ChatAdapter format."""
    body = "".join(
        f"[[ ## {k} ## ]]\n{v if isinstance(v, str) else json.dumps(v)}\n\n" for k, v in values.items()
    )
    return body + "[[ ## completed ## ]]"


def question_of(request: Request) -> str:
    m = re.search(r"\[\[ ## question ## \]\]\n(.*?)(?:\n\n|$)", request.last_user_text, re.S)
    return m.group(1).strip() if m else ""


class LocalOpenAIServer:
    """A real OpenAI-compatible HTTP server on 127.0.0.1 (``/v1/chat/completions``, plain and SSE streaming).

    ``reply(model, messages) -> text`` decides the answer; ``requests`` records every JSON body received.
    Use as a context manager; ``base_url`` is ``http://127.0.0.1:<port>/v1``.
    """

    def __init__(self, reply: Callable[[str, list[dict[str, Any]]], str]) -> None:
        import http.server

        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                server.requests.append(body)
                text = server.reply(body["model"], body["messages"])
                usage = {"prompt_tokens": 12, "completion_tokens": max(1, len(text) // 4)}
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                if body.get("stream"):
                    self._stream(body["model"], text, usage)
                else:
                    self._send(
                        200,
                        "application/json",
                        json.dumps(
                            {
                                "id": "chatcmpl-local",
                                "object": "chat.completion",
                                "created": 0,
                                "model": body["model"],
                                "choices": [
                                    {
                                        "index": 0,
                                        "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": text},
                                    }
                                ],
                                "usage": usage,
                            }
                        ).encode(),
                    )

            def _send(self, status: int, ctype: str, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, model: str, text: str, usage: dict[str, int]) -> None:
                def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
                    obj = {
                        "id": "chatcmpl-local",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": model,
                        "choices": choices,
                        **extra,
                    }
                    return f"data: {json.dumps(obj)}\n\n".encode()

                def delta(d: dict[str, Any], finish: str | None = None) -> bytes:
                    return event([{"index": 0, "delta": d, "finish_reason": finish}])

                parts = [delta({"role": "assistant", "content": ""})]
                parts += [delta({"content": text[i : i + 5]}) for i in range(0, len(text), 5)]
                parts += [delta({}, "stop"), event([], usage=usage), b"data: [DONE]\n\n"]
                self._send(200, "text/event-stream", b"".join(parts))

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LocalOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


def http_cascade(server: LocalOpenAIServer, **kw: Any) -> Cascade:
    """Cheap (validated by ``has_digit``) then strong tier, both real HTTP calls to ``server`` via LiteLLM."""
    common = {"api_base": server.base_url, "api_key": "sk-local-test"}
    cheap = ModelSpec(
        "openai/local-small", input_cost_per_token=0.15e-6, output_cost_per_token=0.6e-6, **common
    )
    strong = ModelSpec("openai/local-big", input_cost_per_token=2.5e-6, output_cost_per_token=10e-6, **common)
    return Cascade([Tier([cheap], validator=has_digit), Tier([strong], validator=_verifier_ok)], **kw)
