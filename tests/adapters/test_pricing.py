"""Unpriced models: cost is unknown (None), never 0.0; one warning per model; prices make it known.

Real framework objects throughout, against the project's local OpenAI-compatible server, whose models
("small", "big") are unknown to LiteLLM's price map.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("llama_index.core")
dspy = pytest.importorskip("dspy")

from langchain_core.callbacks import get_usage_metadata_callback  # noqa: E402
from llama_index.core.llms import ChatMessage  # noqa: E402

from cascadeflow_core import (  # noqa: E402
    Cascade,
    CostTracker,
    ModelSpec,
    UnpricedModelWarning,
)
from cascadeflow_core.providers import _litellm  # noqa: E402
from cascadeflow_core.testing import OpenAICompatServer, Reply  # noqa: E402
from cascadeflow_dspy import CascadeLM  # noqa: E402
from cascadeflow_langchain import ChatCascade, get_cascade_usage_callback  # noqa: E402
from cascadeflow_llamaindex import CascadeLLM  # noqa: E402

SMALL = {"input_cost_per_token": 1e-7, "output_cost_per_token": 4e-7}
BIG = {"input_cost_per_token": 5e-6, "output_cost_per_token": 1.5e-5}


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    # "small" answers empty (rejected), "big" answers: every request escalates, both models are called.
    replies = {
        "small": Reply("", prompt_tokens=10, completion_tokens=0),
        "big": Reply("Paris", prompt_tokens=12, completion_tokens=3),
    }
    with OpenAICompatServer(replies=replies) as s:
        yield s


@pytest.fixture(autouse=True)
def _fresh_warnings() -> None:
    _litellm._UNPRICED.clear()


def _unpriced(server: OpenAICompatServer) -> list[ModelSpec]:
    return [
        ModelSpec("openai/small", api_base=server.base_url),
        ModelSpec("openai/big", api_base=server.base_url),
    ]


def _priced(server: OpenAICompatServer) -> list[ModelSpec]:
    return [
        ModelSpec("openai/small", api_base=server.base_url, **SMALL),
        ModelSpec("openai/big", api_base=server.base_url, **BIG),
    ]


def test_core_reports_unknown_and_warns_once_per_model(server: OpenAICompatServer) -> None:
    tracker = CostTracker()
    cascade = Cascade(_unpriced(server), tracker=tracker, api_key="sk-x")
    with pytest.warns(UnpricedModelWarning) as caught:
        result = cascade.complete("Capital of France?")
    mine = [w for w in caught if w.category is UnpricedModelWarning]
    assert sorted(str(w.message).split(":")[0] for w in mine) == ["openai/big", "openai/small"]
    assert result.cost is None and result.verifier_cost is None and result.savings is None
    assert all(a.cost is None for a in result.attempts)
    assert "unknown" in result.explain() and "cost=unknown" in repr(result)
    assert result.to_dict()["cost"] is None
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnpricedModelWarning)  # a second request: no second warning
        cascade.complete("Capital of France?")
    report = tracker.report()
    assert (
        "UNKNOWN cost" in report and "openai/big (2 calls)" in report and "openai/small (2 calls)" in report
    )


def test_core_with_prices_is_known(server: OpenAICompatServer) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnpricedModelWarning)
        result = Cascade(_priced(server), api_key="sk-x").complete("Capital of France?")
    assert result.cost == pytest.approx(10 * 1e-7 + 12 * 5e-6 + 3 * 1.5e-5)
    assert result.savings == pytest.approx(result.verifier_cost - result.cost)


def test_langchain_unknown_cost_and_per_model_usage(server: OpenAICompatServer) -> None:
    llm = ChatCascade(_unpriced(server), api_key="sk-x")
    with (
        pytest.warns(UnpricedModelWarning),
        get_cascade_usage_callback() as cb,
        get_usage_metadata_callback() as stock,
    ):
        msg = llm.invoke("Capital of France?")
    meta = msg.response_metadata
    assert meta["cost"] is None and meta["savings"] is None
    assert meta["usage_by_model"]["openai/small"]["cost"] is None
    # per-model usage: each model is booked its own tokens (the stock callback books all to the answer)
    assert cb.usage_metadata["openai/small"]["input_tokens"] == 10
    assert cb.usage_metadata["openai/big"]["input_tokens"] == 12
    assert cb.usage_metadata["openai/big"]["output_tokens"] == 3
    assert cb.cost == {"openai/small": None, "openai/big": None}
    assert (
        stock.usage_metadata["openai/big"]["input_tokens"] == 22
        and "openai/small" not in stock.usage_metadata
    )
    priced = ChatCascade(_priced(server), api_key="sk-x")
    with get_cascade_usage_callback() as cb2:
        m2 = priced.invoke("Capital of France?")
    assert m2.response_metadata["cost"] == pytest.approx(10 * 1e-7 + 12 * 5e-6 + 3 * 1.5e-5)
    assert cb2.cost["openai/small"] == pytest.approx(10 * 1e-7)


def test_langchain_stream_usage_is_honoured(server: OpenAICompatServer) -> None:
    llm = ChatCascade(_priced(server), api_key="sk-x")
    chunks = list(llm.stream("Capital of France?"))
    assert sum(c.usage_metadata["total_tokens"] for c in chunks if c.usage_metadata) == 25
    quiet = ChatCascade(_priced(server), api_key="sk-x", stream_usage=False)
    assert not any(c.usage_metadata for c in quiet.stream("Capital of France?"))
    assert not any(c.usage_metadata for c in llm.stream("Capital of France?", stream_usage=False))
    assert llm.model == llm.model_name == "openai/small>openai/big"
    assert llm._identifying_params["model"] == "openai/small>openai/big"


def test_llamaindex_unknown_cost(server: OpenAICompatServer) -> None:
    llm = CascadeLLM(_unpriced(server), api_key="sk-x")
    with pytest.warns(UnpricedModelWarning):
        resp = llm.chat([ChatMessage(role="user", content="Capital of France?")])
    assert resp.additional_kwargs["cost"] is None and resp.additional_kwargs["savings"] is None
    priced = CascadeLLM(_priced(server), api_key="sk-x").chat([ChatMessage(role="user", content="Capital?")])
    assert priced.additional_kwargs["cost"] > 0


def test_llamaindex_function_calling_flag_follows_the_tiers() -> None:
    # LiteLLM's map knows these cannot call tools; a model it does not know is not ruled out.
    no_tools = CascadeLLM(["deepseek/deepseek-reasoner", "fireworks_ai/accounts/fireworks/models/yi-large"])
    assert no_tools.metadata.is_function_calling_model is False
    mixed = CascadeLLM(["deepseek/deepseek-reasoner", "openai/gpt-4o"])
    assert mixed.metadata.is_function_calling_model is True
    assert CascadeLLM(["my-server/my-model"]).metadata.is_function_calling_model is True


def test_dspy_history_carries_decision_and_unknown_cost(server: OpenAICompatServer) -> None:
    lm = CascadeLM(_unpriced(server), api_key="sk-x", cache=False)
    with pytest.warns(UnpricedModelWarning), dspy.context(track_usage=True):
        lm("Capital of France?")
    entry = lm.history[-1]
    assert entry["cost"] is None and entry["cost_details"]["savings"] is None
    assert "escalated" in entry["cascade_summary"] and "cost unknown" in entry["cascade_summary"]
    out = io.StringIO()
    lm.inspect_history(1, file=out)
    assert "answered by openai/big" in out.getvalue() and "openai/small rejected" in out.getvalue()
    priced = CascadeLM(_priced(server), api_key="sk-x", cache=False)
    priced("Capital of France?")
    assert priced.history[-1]["cost"] == pytest.approx(10 * 1e-7 + 12 * 5e-6 + 3 * 1.5e-5)
    assert "$0.0001" in priced.history[-1]["cascade_summary"]


def test_langchain_profile_describes_the_weakest_tier() -> None:
    llm = ChatCascade(["openai/gpt-4o-mini", "openai/gpt-4o"])
    assert llm.profile is not None and llm.profile["max_input_tokens"] == 128000
    assert llm.profile["tool_calling"] is True and "structured_output" not in llm.profile
    unknown = ChatCascade(["my-server/model", "openai/gpt-4o"])  # a window unknown: no bound claimed
    assert unknown.profile is not None and "max_input_tokens" not in unknown.profile
