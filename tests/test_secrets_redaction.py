"""Issue 25 item 8: every configured secret value is redacted wherever text leaves the library.

A provider error that echoes the key, keys in ``ModelSpec.params`` and ``extra_headers``, a Redis URL
password in the query string: none of them may show in errors (str, repr, traceback), the trace
(``Attempt.error``, ``explain()``, ``to_dict()``, HTML), or reprs of ``ModelSpec``, ``Tier``, ``Cascade``.
"""

from __future__ import annotations

import traceback

import pytest

from cascadeflow_core import (
    AuthenticationError,
    BadRequestError,
    Cascade,
    Draft,
    ExhaustedError,
    ModelSpec,
    RedisStore,
    Request,
    StorageError,
    Tier,
)
from cascadeflow_core.providers._litellm import map_exception

KEY = "sk-SENTINEL-echo-7c1f0e9a42"
HEADER = "hdr-SENTINEL-3b8e5d2f10"
PARAM = "prm-SENTINEL-a94c7d0e55"
REDIS_PW = "pw-SENTINEL-2f6d1a8c9b"


class EchoingBackend:
    """A provider (or a proxy in front of it) that echoes the caller's key in its error."""

    def complete(self, spec: ModelSpec, request: Request) -> Draft:
        raise BadRequestError(f"rejected request with key {spec.api_key}", model=spec.model, status=400)

    async def acomplete(self, spec: ModelSpec, request: Request) -> Draft:
        return self.complete(spec, request)


def _scan(*texts: str) -> list[str]:
    return [s for s in (KEY, HEADER, PARAM, REDIS_PW) for t in texts if s in t or s[:16] in t]


def test_a_provider_error_echoing_the_key_is_redacted_everywhere() -> None:
    spec = ModelSpec("m/a", 1e-6, 1e-6, api_key=KEY, backend=EchoingBackend())
    cascade = Cascade([spec])
    with pytest.raises(ExhaustedError) as ei:
        cascade.complete("hi")
    err = ei.value
    tb = "".join(traceback.format_exception(err))
    attempt_errors = [a.error or "" for a in err.attempts]
    assert _scan(str(err), repr(err), tb, *attempt_errors) == []
    assert "***" in str(err)  # redacted, not dropped: the message still says what happened


def test_an_authentication_error_echoing_the_key_is_redacted() -> None:
    class Unauthorized(EchoingBackend):
        def complete(self, spec: ModelSpec, request: Request) -> Draft:
            raise AuthenticationError(f"Incorrect API key provided: {spec.api_key}", model=spec.model)

    cascade = Cascade([ModelSpec("m/a", 1e-6, 1e-6, api_key=KEY, backend=Unauthorized())])
    with pytest.raises(AuthenticationError) as ei:
        cascade.complete("hi")
    tb = "".join(traceback.format_exception(ei.value))
    assert _scan(str(ei.value), repr(ei.value), tb) == [] and "***" in str(ei.value)


def test_map_exception_redacts_the_message_and_the_cause_chain() -> None:
    spec = ModelSpec("openai/x", api_key=KEY)  # configuring the key registers it
    original = RuntimeError(f"401 Unauthorized: key {KEY} rejected")
    mapped = map_exception(original, spec.model)
    try:
        raise mapped from original
    except Exception as e:
        tb = "".join(traceback.format_exception(e))
    assert _scan(str(mapped), repr(mapped), tb) == []


def test_result_views_redact_attempt_errors() -> None:
    ok = Draft("m/b", "fine", finish_reason="stop", cost=0.01)

    class Fallback:
        def complete(self, spec: ModelSpec, request: Request) -> Draft:
            return ok

        async def acomplete(self, spec: ModelSpec, request: Request) -> Draft:
            return ok

    bad = ModelSpec("m/a", 1e-6, 1e-6, api_key=KEY, backend=EchoingBackend())
    good = ModelSpec("m/b", 1e-6, 1e-6, backend=Fallback())
    result = Cascade([Tier([bad], fallbacks=[good])]).complete("hi")
    assert _scan(result.explain(), str(result.to_dict()), result._repr_html_(), repr(result)) == []
    assert any(a.status == "error" for a in result.attempts)


def test_model_spec_tier_and_cascade_reprs_hide_params_secrets() -> None:
    spec = ModelSpec(
        "openai/gpt-4o-mini",
        api_key=KEY,
        params={"api_key": PARAM, "extra_headers": {"Authorization": f"Bearer {HEADER}"}, "top_p": 0.9},
    )
    tier = Tier([spec])
    cascade = Cascade([tier])
    texts = [repr(spec), str(spec), repr(tier), repr(cascade), repr(cascade.tiers)]
    assert _scan(*texts) == []
    assert "top_p" in repr(spec) and "0.9" in repr(spec)  # what is not secret still shows


def test_redis_store_url_password_in_the_query_is_hidden() -> None:
    url = f"redis://127.0.0.1:1/0?password={REDIS_PW}"
    store = RedisStore(url)
    with pytest.raises(StorageError) as ei:
        store.usage(["k"], 0.0)
    tb = "".join(traceback.format_exception(ei.value))
    assert _scan(repr(store), str(ei.value), repr(ei.value), tb) == []
    userinfo = RedisStore(f"redis://user:{REDIS_PW}@127.0.0.1:1/0")
    assert _scan(repr(userinfo)) == []


def test_langchain_chat_cascade_repr_hides_keys() -> None:
    pytest.importorskip("langchain_core")
    from cascadeflow_langchain import ChatCascade

    spec = ModelSpec("openai/gpt-4o-mini", params={"extra_headers": {"X-Api-Key": HEADER}})
    llm = ChatCascade([spec], api_key=KEY, model_kwargs={"api_key": PARAM})
    assert _scan(repr(llm), str(llm), repr(llm.cascade.tiers)) == []


def test_llamaindex_llm_repr_and_to_dict_hide_additional_kwargs_keys() -> None:
    pytest.importorskip("llama_index.core")
    from cascadeflow_llamaindex import CascadeLLM

    llm = CascadeLLM(["openai/gpt-4o-mini"], additional_kwargs={"api_key": PARAM, "top_p": 0.5})
    assert _scan(repr(llm), str(llm), str(llm.to_dict()), llm.to_json()) == []
    # still sent to the provider: moved out of additional_kwargs into the endpoint key every tier uses
    assert "api_key" not in llm.additional_kwargs and llm.api_key == PARAM
