"""The local OpenAI-compatible test server, driven through LiteLLM (sync, async, streaming, every fault)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from typing import Any

import pytest

from cascadeflow_core import (
    ContextWindowError,
    MalformedResponseError,
    ProviderConnectionError,
    ProviderTimeoutError,
    RateLimitError,
    ServiceUnavailableError,
)
from cascadeflow_core.providers._litellm import litellm_module, map_exception
from cascadeflow_core.testing import FAULT_KINDS, Faults, OpenAICompatServer, Reply
from tests.support.openai_server import openai_server

FIXTURES = (openai_server,)  # pytest finds the fixture by name in this module

MSGS = [{"role": "user", "content": "What is 2 + 2?"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "add",
            "description": "add two numbers",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            },
        },
    }
]
EXPECTED = {
    "rate_limit": RateLimitError,
    "server_error": ServiceUnavailableError,
    "bad_gateway": ServiceUnavailableError,
    "unavailable": ServiceUnavailableError,
    "timeout": ProviderTimeoutError,
    "reset": ProviderConnectionError,
    "malformed": MalformedResponseError,
    "context_window": ContextWindowError,
    "midstream": ProviderConnectionError,
}


def _timeout(kind: str) -> float:
    """Short only where the timeout is the point; a busy machine must not turn other faults into timeouts."""
    return 0.5 if kind == "timeout" else 30.0


def _kw(server: OpenAICompatServer, **extra: Any) -> dict[str, Any]:
    return {"api_base": server.base_url, "api_key": "sk-test", "num_retries": 0, **extra}


def test_importing_testing_does_not_import_litellm() -> None:
    code = "import sys, cascadeflow_core.testing; print('litellm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_non_stream_reply_usage_and_logprobs(openai_server: OpenAICompatServer) -> None:
    openai_server.replies = {"small": "The answer is 4."}
    lm = litellm_module()
    r = lm.completion(model="openai/small", messages=MSGS, logprobs=True, **_kw(openai_server))
    assert r.choices[0].message.content == "The answer is 4."
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.completion_tokens == 4 and r.usage.prompt_tokens >= 1
    assert [t.logprob for t in r.choices[0].logprobs.content] == [-0.05] * 4
    assert openai_server.counts["small"] == 1
    assert openai_server.bodies[0]["messages"] == MSGS


def test_stream_reply_with_usage_chunk(openai_server: OpenAICompatServer) -> None:
    openai_server.replies = {"small": "The answer is 4."}
    chunks = list(
        litellm_module().completion(
            model="openai/small",
            messages=MSGS,
            stream=True,
            stream_options={"include_usage": True},
            **_kw(openai_server),
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "The answer is 4."
    assert getattr(chunks[-1], "usage", None) is not None and chunks[-1].usage.completion_tokens == 4
    assert openai_server.served[0].stream


async def test_async_stream_and_list_cycling(openai_server: OpenAICompatServer) -> None:
    openai_server.replies = {"small": ["one", "two"], "*": "default"}
    lm = litellm_module()
    texts = []
    for _ in range(3):
        resp = await lm.acompletion(model="openai/small", messages=MSGS, stream=True, **_kw(openai_server))
        texts.append("".join([c.choices[0].delta.content or "" async for c in resp if c.choices]))
    other = await lm.acompletion(model="openai/other", messages=MSGS, **_kw(openai_server))
    assert texts == ["one", "two", "one"]
    assert other.choices[0].message.content == "default"


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls_only_when_tools_offered(openai_server: OpenAICompatServer, stream: bool) -> None:
    openai_server.replies = {"t": Reply("", tool_calls=({"name": "add", "arguments": {"a": 1, "b": 2}},))}
    lm = litellm_module()
    resp = lm.completion(model="openai/t", messages=MSGS, tools=TOOLS, stream=stream, **_kw(openai_server))
    if stream:
        chunks = list(resp)
        args = "".join(
            tc.function.arguments or ""
            for c in chunks
            if c.choices
            for tc in (c.choices[0].delta.tool_calls or [])
        )
        names = [
            tc.function.name
            for c in chunks
            if c.choices
            for tc in (c.choices[0].delta.tool_calls or [])
            if tc.function.name
        ]
        finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    else:
        call = resp.choices[0].message.tool_calls[0]
        args, names, finish = call.function.arguments, [call.function.name], [resp.choices[0].finish_reason]
    assert json.loads(args) == {"a": 1, "b": 2} and names == ["add"] and finish == ["tool_calls"]
    plain = lm.completion(model="openai/t", messages=MSGS, **_kw(openai_server))
    assert not plain.choices[0].message.tool_calls


def test_reply_function_sees_model_messages_and_body(openai_server: OpenAICompatServer) -> None:
    seen: list[tuple[str, int, float | None]] = []

    def script(model: str, messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
        seen.append((model, len(messages), body.get("temperature")))
        return f"{model}:{messages[-1]['content']}"

    openai_server.replies = script
    r = litellm_module().completion(model="openai/m", messages=MSGS, temperature=0.3, **_kw(openai_server))
    assert r.choices[0].message.content == "m:What is 2 + 2?"
    assert seen == [("m", 1, 0.3)]


def test_models_endpoint(openai_server: OpenAICompatServer) -> None:
    openai_server.replies = {"a": "x", "b": "y", "*": "z"}
    with urllib.request.urlopen(openai_server.base_url + "/models", timeout=5) as resp:
        data = json.load(resp)
    assert [m["id"] for m in data["data"]] == ["a", "b"]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_fault_maps_to_its_typed_error(
    openai_server: OpenAICompatServer, kind: str, stream: bool
) -> None:
    openai_server.fail_next(kind, retry_after=2)
    with pytest.raises(Exception) as info:
        resp = litellm_module().completion(
            model="openai/small", messages=MSGS, stream=stream, timeout=_timeout(kind), **_kw(openai_server)
        )
        if stream:
            list(resp)
    mapped = map_exception(info.value, "openai/small")
    assert type(mapped) is EXPECTED[kind], (kind, stream, repr(info.value))
    assert mapped.model == "openai/small"
    if kind == "rate_limit":
        assert mapped.retry_after == 2.0 and mapped.status == 429
    assert openai_server.counts["small"] == 1, "one HTTP request per call: LiteLLM/openai retries are off"
    assert openai_server.served[0].fault == kind


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    "kind", ["rate_limit", "timeout", "reset", "malformed", "context_window", "midstream"]
)
async def test_each_fault_maps_async(openai_server: OpenAICompatServer, kind: str, stream: bool) -> None:
    openai_server.fail_next(kind, retry_after=1)
    with pytest.raises(Exception) as info:
        resp = await litellm_module().acompletion(
            model="openai/small", messages=MSGS, stream=stream, timeout=_timeout(kind), **_kw(openai_server)
        )
        if stream:
            [c async for c in resp]
    assert type(map_exception(info.value, "openai/small")) is EXPECTED[kind]


def test_fault_rate_is_seeded_and_per_model() -> None:
    def run() -> list[str | None]:
        with OpenAICompatServer(
            faults={"flaky": Faults(rate=0.5, kinds=("unavailable", "rate_limit"))}, seed=7
        ) as s:
            lm = litellm_module()
            for model in ["flaky", "solid"] * 20:
                try:
                    lm.completion(model=f"openai/{model}", messages=MSGS, **_kw(s))
                except Exception as e:
                    assert type(map_exception(e, model)) in (ServiceUnavailableError, RateLimitError)
            assert all(r.fault is None for r in s.requests_for("solid"))
            return [r.fault for r in s.requests_for("flaky")]

    first = run()
    assert first == run()
    assert 3 <= sum(f is not None for f in first) <= 17


def test_fail_next_targets_a_model_and_reset_clears(openai_server: OpenAICompatServer) -> None:
    openai_server.fail_next("unavailable", 2, model="b")
    lm = litellm_module()
    assert (
        lm.completion(model="openai/a", messages=MSGS, **_kw(openai_server)).choices[0].message.content
        == "ok"
    )
    for _ in range(2):
        with pytest.raises(litellm_module().ServiceUnavailableError):
            lm.completion(model="openai/b", messages=MSGS, **_kw(openai_server))
    assert (
        lm.completion(model="openai/b", messages=MSGS, **_kw(openai_server)).choices[0].message.content
        == "ok"
    )
    assert [r.fault for r in openai_server.served] == [None, "unavailable", "unavailable", None]
    openai_server.reset()
    assert openai_server.counts == {} and openai_server.bodies == []


def test_bad_config_and_lifecycle() -> None:
    with pytest.raises(ValueError, match="rate"):
        Faults(rate=1.5)
    with pytest.raises(ValueError, match="kinds"):
        Faults(rate=0.1, kinds=("nope",))
    server = OpenAICompatServer(latency=(0.0, 0.001))
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.base_url
    server.start()
    try:
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
        assert "127.0.0.1" in repr(server)
    finally:
        server.stop()
    assert "stopped" in repr(server)
    server.stop()  # idempotent


def test_stop_releases_a_hanging_request() -> None:
    server = OpenAICompatServer(faults=Faults(rate=1.0, kinds=("timeout",), hang_s=60)).start()
    with pytest.raises(Exception) as info:
        litellm_module().completion(model="openai/x", messages=MSGS, timeout=0.3, **_kw(server))
    server.stop()  # does not wait for the 60 s hang
    assert isinstance(map_exception(info.value, "x"), ProviderTimeoutError)
