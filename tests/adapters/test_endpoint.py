"""One way to point tiers at an endpoint, the same in the core and the three adapters.

Each adapter is configured with ``api_base`` / ``base_url`` and ``api_key`` and answers through the
project's local OpenAI-compatible server; strings, ``ModelSpec`` and ``Tier`` get the endpoint alike, a
model's own values win, the key reaches the server and never a repr or a serialisation, and unknown
arguments are ``ConfigError``s naming them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("llama_index.core")
dspy = pytest.importorskip("dspy")

from llama_index.core.llms import ChatMessage  # noqa: E402

from cascadeflow_core import Cascade, ConfigError, ModelSpec, Tier  # noqa: E402
from cascadeflow_core.testing import OpenAICompatServer  # noqa: E402
from cascadeflow_dspy import CascadeLM  # noqa: E402
from cascadeflow_langchain import ChatCascade  # noqa: E402
from cascadeflow_llamaindex import CascadeLLM  # noqa: E402

KEY = "sk-local-SECRET"
PRICED = {"input_cost_per_token": 1e-7, "output_cost_per_token": 2e-7}


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    # "small" hedges (the default validator escalates), "mid" is a Tier, "big" a ModelSpec.
    with OpenAICompatServer(replies={"small": "", "mid": "", "big": "Paris", "*": "Paris"}) as s:
        yield s


def _tiers() -> list:
    return [
        "openai/small",
        Tier([ModelSpec("openai/mid", **PRICED)], name="middle"),
        ModelSpec("openai/big", **PRICED),
    ]


def _served(server: OpenAICompatServer) -> dict[str, str]:
    return {r.model: r.headers.get("Authorization", "") for r in server.served}


def _assert_all_reached(server: OpenAICompatServer) -> None:
    assert _served(server) == {m: f"Bearer {KEY}" for m in ("small", "mid", "big")}


def test_core_cascade_endpoint_applies_to_strings_specs_and_tiers(server: OpenAICompatServer) -> None:
    cascade = Cascade(_tiers(), api_base=server.base_url, api_key=KEY)
    result = cascade.complete("Capital of France?")
    assert result.text == "Paris" and result.model == "openai/big"
    _assert_all_reached(server)
    assert KEY not in repr(cascade) and KEY not in repr(cascade.tiers) and KEY not in str(result.to_dict())


def test_explicit_per_model_and_tier_values_win() -> None:
    own = ModelSpec("openai/own", api_base="http://own:1/v1", api_key="own-key")
    tier = Tier(["openai/t", own], api_base="http://tier:2/v1", api_key="tier-key")
    cascade = Cascade([tier, "openai/plain"], api_base="http://cascade:3/v1", api_key="c-key")
    t, o = cascade.tiers[0].specs
    assert (t.api_base, t.api_key) == ("http://tier:2/v1", "tier-key")
    assert (o.api_base, o.api_key) == ("http://own:1/v1", "own-key")
    plain = cascade.tiers[1].specs[0]
    assert (plain.api_base, plain.api_key) == ("http://cascade:3/v1", "c-key")
    assert "tier-key" not in repr(tier)
    with pytest.raises(ConfigError, match="api_base"):
        Cascade(["openai/a"], api_base=3)  # type: ignore[arg-type]


def test_langchain_base_url_reaches_tier_objects(server: OpenAICompatServer) -> None:
    llm = ChatCascade(_tiers(), base_url=server.base_url, api_key=KEY)
    msg = llm.invoke("Capital of France?")
    assert msg.content == "Paris" and msg.response_metadata["model_name"] == "openai/big"
    _assert_all_reached(server)
    assert KEY not in repr(llm) and KEY not in str(llm.model_dump()) and KEY not in str(msg)
    alias = ChatCascade(["openai/small"], api_base=server.base_url)
    assert alias.cascade.tiers[0].specs[0].api_base == server.base_url


def test_langchain_refuses_what_it_would_ignore() -> None:
    with pytest.raises(ConfigError, match="model") as e:
        ChatCascade(model="openai/gpt-4o")
    assert "tiers" in str(e.value)
    with pytest.raises(ConfigError, match="'foo'"):
        ChatCascade(["openai/a"], foo=1)
    with pytest.raises(ConfigError, match="model"):
        ChatCascade(["openai/a"], model="openai/b")
    with pytest.raises(ConfigError, match="api_key"):
        ChatCascade(Cascade(["openai/a"]), api_key="k")


def test_llamaindex_api_base_and_key_hidden(server: OpenAICompatServer) -> None:
    llm = CascadeLLM(_tiers(), api_base=server.base_url, api_key=KEY)
    resp = llm.chat([ChatMessage(role="user", content="Capital of France?")])
    assert resp.message.content == "Paris"
    _assert_all_reached(server)
    assert KEY not in repr(llm) and KEY not in str(llm.to_dict()) and KEY not in llm.to_json()
    by_url = CascadeLLM(["openai/small"], base_url=server.base_url)
    assert by_url.cascade.tiers[0].specs[0].api_base == server.base_url


def test_llamaindex_key_in_additional_kwargs_does_not_leak(server: OpenAICompatServer) -> None:
    llm = CascadeLLM(_tiers(), additional_kwargs={"api_key": KEY, "api_base": server.base_url, "top_p": 1})
    assert llm.additional_kwargs == {"top_p": 1}
    assert KEY not in repr(llm) and KEY not in str(llm.to_dict())
    llm.complete("Capital of France?")
    _assert_all_reached(server)


def test_llamaindex_refuses_unknown_arguments() -> None:
    with pytest.raises(ConfigError, match="'foo'"):
        CascadeLLM(["openai/a"], foo=1)
    with pytest.raises(ConfigError, match="api_base"):
        CascadeLLM(Cascade(["openai/a"]), api_base="http://x/v1")


def test_dspy_api_base_and_key(server: OpenAICompatServer) -> None:
    lm = CascadeLM(_tiers(), api_base=server.base_url, api_key=KEY, cache=False)
    out = lm("Capital of France?")
    assert out == ["Paris"]
    _assert_all_reached(server)
    assert KEY not in repr(lm) and KEY not in repr(lm.history[-1]["cascade"])
    with pytest.raises(ConfigError, match="api_base"):
        CascadeLM(Cascade(["openai/a"]), api_base="http://x/v1")


def test_presets_and_config_take_the_endpoint_too() -> None:
    preset = Cascade.from_preset("balanced", api_base="http://127.0.0.1:9/v1", api_key=KEY)
    assert {m.api_base for t in preset.tiers for m in t.specs} == {"http://127.0.0.1:9/v1"}
    config = {"tiers": [{"models": ["openai/a"]}, {"models": ["openai/b"]}]}
    built = Cascade.from_config(config, api_base="http://h/v1", api_key=KEY)
    assert [m.api_base for t in built.tiers for m in t.specs] == ["http://h/v1", "http://h/v1"]
    assert KEY not in repr(built)
