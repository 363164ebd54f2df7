"""Provider answers the typed error tree must read right: Retry-After in every form, a missing key, an
HTML page with status 200, an unknown model; and configuration errors are raised, not escalated.

Each case is a real HTTP exchange with a tiny local server (loopback only) through LiteLLM.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cascadeflow_core import (
    AuthenticationError,
    Cascade,
    MalformedResponseError,
    ModelNotFoundError,
    ModelSpec,
    RateLimitError,
    RetryPolicy,
    Tier,
)
from cascadeflow_core.providers._litellm import _parse_retry_after, map_exception

Reply = tuple[int, dict[str, str], bytes]

_OK = json.dumps(
    {
        "id": "c1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "fine"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
).encode()


def _error(status: int, message: str, code: str = "error") -> bytes:
    return json.dumps({"error": {"message": message, "type": code, "code": code, "param": None}}).encode()


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[dict], Reply]], str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(reply: Callable[[dict], Reply]) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                status, headers, payload = reply(body)
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_port}/v1"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def _raised(base: str, model: str = "openai/m", api_key: str | None = "k") -> Exception:
    from cascadeflow_core.providers._litellm import litellm_module

    lm = litellm_module()
    kwargs = {"api_key": api_key} if api_key else {}
    try:
        lm.completion(
            model=model, messages=[{"role": "user", "content": "q"}], api_base=base, num_retries=0, **kwargs
        )
    except Exception as e:
        return e
    raise AssertionError("the call did not fail")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "1"}, 1.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"Retry-After": "7", "X-Other": "x"}, 7.0),
    ],
)
def test_retry_after_every_form(serve, headers, expected):
    base = serve(lambda body: (429, headers, _error(429, "slow down", "rate_limit_exceeded")))
    mapped = map_exception(_raised(base), "openai/m")
    assert isinstance(mapped, RateLimitError)
    assert mapped.retry_after == pytest.approx(expected)


def test_retry_after_http_date(serve):
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    base = serve(lambda body: (429, {"Retry-After": when}, _error(429, "slow down", "rate_limit_exceeded")))
    mapped = map_exception(_raised(base), "openai/m")
    assert 25.0 <= mapped.retry_after <= 31.0


def test_parse_retry_after_rejects_garbage_and_past_dates():
    assert _parse_retry_after("soon") is None
    assert _parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert _parse_retry_after("-3") == 0.0


def test_html_page_with_status_200_is_a_malformed_response(serve):
    base = serve(lambda body: (200, {"Content-Type": "text/html"}, b"<html><body>proxy login</body></html>"))
    mapped = map_exception(_raised(base), "openai/m")
    assert isinstance(mapped, MalformedResponseError), type(mapped)


def test_missing_api_key_is_an_authentication_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    mapped = map_exception(_raised("http://127.0.0.1:9/v1", model="openai/gpt-4o-mini", api_key=None), "m")
    assert isinstance(mapped, AuthenticationError) and not mapped.retryable and mapped.configuration


def test_unknown_model_is_a_configuration_error(serve):
    base = serve(lambda body: (404, {}, _error(404, "The model `m` does not exist", "model_not_found")))
    mapped = map_exception(_raised(base), "openai/m")
    assert isinstance(mapped, ModelNotFoundError) and mapped.configuration


def _two_tiers(bad: str, good: str, **retry: object) -> Cascade:
    from cascadeflow_core import CascadeOptions

    return Cascade(
        [
            Tier([ModelSpec("openai/cheap", api_base=bad, api_key="wrong-key")]),
            ModelSpec(
                "openai/strong",
                api_base=good,
                api_key="k",
                input_cost_per_token=1e-5,
                output_cost_per_token=1e-5,
            ),
        ],
        options=CascadeOptions(retry=RetryPolicy(**retry)),
    )


def test_a_mistyped_key_on_the_drafter_raises_instead_of_paying_the_verifier(serve):
    calls: list[str] = []

    def good(body: dict) -> Reply:
        calls.append(body["model"])
        return 200, {}, _OK

    bad = serve(lambda body: (401, {}, _error(401, "Incorrect API key provided", "invalid_api_key")))
    cascade = _two_tiers(bad, serve(good))
    with pytest.raises(AuthenticationError):
        cascade.complete("q")
    assert calls == [], "the verifier was called (and paid) for a drafter's configuration error"


def test_escalating_past_configuration_errors_is_opt_in_logged_and_traced(serve, caplog):
    bad = serve(lambda body: (401, {}, _error(401, "Incorrect API key provided", "invalid_api_key")))
    cascade = _two_tiers(bad, serve(lambda body: (200, {}, _OK)), escalate_config_errors=True)
    with caplog.at_level("WARNING", logger="cascadeflow.engine"):
        result = cascade.complete("q")
    assert result.text == "fine"
    assert [a.error_kind for a in result.attempts if a.status == "error"] == ["authentication"]
    assert any("escalate_config_errors" in r.getMessage() for r in caplog.records)


def test_the_first_async_call_does_not_block_the_event_loop_importing_litellm():
    """In a fresh interpreter, a ticker on the loop keeps ticking while LiteLLM is imported (seconds)."""
    import subprocess
    import sys

    code = """
import asyncio, time
from cascadeflow_core import Cascade, ModelSpec

async def main():
    gaps, last = [], time.perf_counter()
    async def tick():
        nonlocal last
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter(); gaps.append(now - last); last = now
    t = asyncio.create_task(tick())
    start = time.perf_counter()
    await Cascade([ModelSpec("openai/m", params={"mock_response": "ok"})]).acomplete("q")
    first = time.perf_counter() - start
    t.cancel()
    print(max(gaps), first)
asyncio.run(main())
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    longest, first = map(float, out.stdout.strip().splitlines()[-1].split())
    # Before the fix the loop stood still for the whole import (gap ~ 0.95 of the first call, 2-15 s
    # depending on load); LiteLLM's own lazy imports inside acompletion still take a little.
    assert longest < 0.5 * first, f"the event loop stalled {longest:.2f} s of a {first:.2f} s first acomplete"
