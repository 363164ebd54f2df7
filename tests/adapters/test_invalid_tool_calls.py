"""A tool call every tier got wrong reaches no agent as a valid call (core, LangChain, LlamaIndex, DSPy)."""

from __future__ import annotations

from typing import Any

import pytest

from cascadeflow_core import Cascade, ModelSpec, Request, Tier, ToolCall
from tests.support.li_dspy import CHEAP, STRONG, FnBackend

ADD = {
    "type": "function",
    "function": {
        "name": "add",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
    },
}


def _always(*calls: ToolCall) -> Any:
    def reply(label: str, request: Request) -> Any:
        return "", calls

    return reply


def two_tier(backend: FnBackend) -> Cascade:
    """Cheap then strong, both with the default validator (rule checks, incl. tool calls vs bound tools)."""
    cheap = ModelSpec(CHEAP, input_cost_per_token=1e-7, output_cost_per_token=1e-7, backend=backend)
    strong = ModelSpec(STRONG, input_cost_per_token=1e-5, output_cost_per_token=1e-5, backend=backend)
    return Cascade([Tier([cheap]), Tier([strong])])


def test_core_moves_the_last_tiers_invalid_calls_out_of_tool_calls() -> None:
    bad = ToolCall("c1", "add", '{"a": "two"}')  # not an integer, and b missing
    unbound = ToolCall("c2", "rm_rf", "{}")
    good = ToolCall("c3", "add", '{"a": 2, "b": 3}')
    cascade = two_tier(FnBackend(_always(bad, unbound, good)))
    result = cascade.complete("2+3?", tools=[ADD])
    assert result.tool_calls == (good,)
    assert [c.id for c in result.invalid_tool_calls] == ["c1", "c2"]
    assert "do not fit its parameters" in result.invalid_tool_calls[0].error
    assert "unknown tool 'rm_rf'" in result.invalid_tool_calls[1].error
    assert result.to_dict()["invalid_tool_calls"][1]["name"] == "rm_rf"


def test_core_keeps_valid_calls_valid() -> None:
    good = ToolCall("c3", "add", '{"a": 2, "b": 3}')
    result = two_tier(FnBackend(_always(good))).complete("2+3?", tools=[ADD])
    assert result.tool_calls == (good,) and result.invalid_tool_calls == ()


def test_core_stream_emits_no_invalid_call() -> None:
    bad = ToolCall("c1", "add", '{"a": "two"}')
    events = list(two_tier(FnBackend(_always(bad))).stream("2+3?", tools=[ADD]))
    assert not [e for e in events if e.type == "tool_call" and e.tool_calls]
    assert events[-1].result is not None and events[-1].result.invalid_tool_calls[0].id == "c1"


def test_langchain_gets_the_call_in_invalid_tool_calls_and_the_agent_does_not_run_it() -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.tools import tool

    from cascadeflow_langchain import ChatCascade

    executed: list[Any] = []

    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        executed.append((a, b))
        return a + b

    bad = ToolCall("c1", "add", '{"a": "two", "b": 3}')
    llm = ChatCascade(two_tier(FnBackend(_always(bad))))
    msg = llm.bind_tools([add]).invoke("2+3?")
    assert msg.tool_calls == []
    assert msg.invalid_tool_calls[0]["id"] == "c1" and msg.invalid_tool_calls[0]["name"] == "add"
    assert "do not fit its parameters" in msg.invalid_tool_calls[0]["error"]
    agents = pytest.importorskip("langchain.agents")
    agent = agents.create_agent(model=llm, tools=[add])
    out = agent.invoke({"messages": [("user", "2+3?")]})
    assert executed == [] and out["messages"][-1].invalid_tool_calls


def test_llamaindex_gets_no_tool_call_block_and_the_trace_names_the_call() -> None:
    pytest.importorskip("llama_index.core")
    from llama_index.core.base.llms.types import ToolCallBlock
    from llama_index.core.tools import FunctionTool

    from cascadeflow_llamaindex import CascadeLLM

    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    bad = ToolCall("c1", "rm_rf", "{}")
    llm = CascadeLLM(two_tier(FnBackend(_always(bad))))
    response = llm.chat_with_tools([FunctionTool.from_defaults(fn=add)], user_msg="2+3?")
    assert not [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
    assert llm.get_tool_calls_from_response(response, error_on_no_tool_call=False) == []
    assert response.additional_kwargs["invalid_tool_calls"][0]["name"] == "rm_rf"


def test_dspy_response_has_no_tool_call_part_for_an_invalid_call() -> None:
    pytest.importorskip("dspy")
    from cascadeflow_dspy._convert import to_response

    bad = ToolCall("c1", "rm_rf", "{}")
    result = two_tier(FnBackend(_always(bad))).complete("2+3?", tools=[ADD])
    response = to_response(result)
    assert not [p for p in response.message.parts if p.type == "tool_call"]
    assert response.provider_data["cascadeflow"]["invalid_tool_calls"][0]["name"] == "rm_rf"


def test_langchain_agent_over_two_agreeing_drafters_never_pays_the_strong_model() -> None:
    pytest.importorskip("langchain_core")
    agents = pytest.importorskip("langchain.agents")
    from langchain_core.tools import tool

    from cascadeflow_langchain import ChatCascade

    executed: list[Any] = []

    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        executed.append((a, b))
        return a + b

    def reply(label: str, request: Request) -> Any:
        if request.messages[-1]["role"] == "tool":
            return f"The sum is {request.messages[-1]['content']}."
        args = '{"a": 2, "b": 3}' if label.endswith("a") else '{"b": 3, "a": 2}'
        return "", (ToolCall(f"call-{label[-1]}", "add", args),)

    backend = FnBackend(reply)

    def spec(model: str, price: float) -> ModelSpec:
        return ModelSpec(model, input_cost_per_token=price, output_cost_per_token=price, backend=backend)

    cascade = Cascade(
        [Tier([spec("openai/draft-a", 1e-7), spec("openai/draft-b", 1e-7)]), Tier([spec(STRONG, 1e-5)])]
    )
    agent = agents.create_agent(model=ChatCascade(cascade), tools=[add])
    out = agent.invoke({"messages": [("user", "2+3?")]})
    assert executed == [(2, 3)] and out["messages"][-1].content == "The sum is 5."
    assert not any(label == STRONG for label, _ in backend.calls)
