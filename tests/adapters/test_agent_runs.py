"""Agent runs under caps in each framework: an agent with two tools, hitting the cap and failing cleanly.

Real LangChain ``create_agent``, LlamaIndex ``FunctionAgent`` and DSPy ``ReAct`` objects, with the
cascade's models served by the project's local OpenAI-compatible server (scripted tool calls).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

pytest.importorskip("langchain")
pytest.importorskip("llama_index.core")
dspy = pytest.importorskip("dspy")

from langchain.agents import create_agent  # noqa: E402
from langchain_core.tools import tool  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402

from cascadeflow_core import BudgetExceededError, CostTracker, ModelSpec, RunBudgetExceededError  # noqa: E402
from cascadeflow_core.testing import OpenAICompatServer, Reply  # noqa: E402
from cascadeflow_langchain import CascadeRunMiddleware, ChatCascade  # noqa: E402

PRICE = {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6}
SEARCH = Reply(tool_calls=({"name": "search", "arguments": {"query": "capital of France"}},))
CALC = Reply(tool_calls=({"name": "calculator", "arguments": {"expression": "2+2"}},))
TOOL_CALLS: list[str] = []


@tool
def search(query: str) -> str:
    """Search the web for a query."""
    TOOL_CALLS.append("search")
    return "Paris"


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression."""
    TOOL_CALLS.append("calculator")
    return "4"


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    # The drafter keeps calling tools (search, calculator, search ...), then answers.
    TOOL_CALLS.clear()
    with OpenAICompatServer(replies={"small": [SEARCH, CALC, SEARCH, CALC, Reply("Paris; 4")]}) as s:
        yield s


def _llm(server: OpenAICompatServer, tracker: CostTracker) -> ChatCascade:
    tiers = [ModelSpec("openai/small", **PRICE), ModelSpec("openai/big", **PRICE)]
    return ChatCascade(tiers, base_url=server.base_url, api_key="sk-local", tracker=tracker)


def _ask(agent: object, **config: object) -> object:
    return agent.invoke({"messages": [{"role": "user", "content": "Capital of France, and 2+2?"}]}, **config)  # type: ignore[attr-defined]


def test_langchain_agent_tool_cap(server: OpenAICompatServer) -> None:
    tracker = CostTracker()
    llm = _llm(server, tracker)
    agent = create_agent(llm, tools=[search, calculator], middleware=[CascadeRunMiddleware(tracker, max_tool_calls=2)])
    with pytest.raises(RunBudgetExceededError) as e:
        _ask(agent)
    assert e.value.limit_kind == "tool_calls" and isinstance(e.value, BudgetExceededError)
    assert TOOL_CALLS == ["search", "calculator"]  # the third tool never ran
    assert server.counts["small"] == 3


def test_langchain_agent_model_call_cap_async(server: OpenAICompatServer) -> None:
    tracker = CostTracker()
    llm = _llm(server, tracker)
    middleware = CascadeRunMiddleware(tracker, max_model_calls=2, max_cost=1.0)
    agent = create_agent(llm, tools=[search, calculator], middleware=[middleware])

    async def main() -> None:
        with pytest.raises(RunBudgetExceededError) as e:
            await agent.ainvoke({"messages": [{"role": "user", "content": "Capital of France, and 2+2?"}]})
        assert e.value.limit_kind == "model_calls" and e.value.limit == 2

    asyncio.run(main())
    assert server.counts["small"] == 2 and TOOL_CALLS == ["search", "calculator"]
    # each invocation is a run of its own: a new one starts with fresh counts
    server.reset()
    with pytest.raises(RunBudgetExceededError):
        _ask(agent)
    assert server.counts["small"] == 2


def test_langchain_agent_within_caps_answers_and_conversation_runs_are_sticky(
    server: OpenAICompatServer,
) -> None:
    tracker = CostTracker()
    llm = _llm(server, tracker)
    mw = CascadeRunMiddleware(tracker, max_tool_calls=10, sticky=True, per="thread")
    agent = create_agent(llm, tools=[search, calculator], middleware=[mw], checkpointer=InMemorySaver())
    out = _ask(agent, config={"configurable": {"thread_id": "t1"}})
    assert out["messages"][-1].content == "Paris; 4"  # type: ignore[index]
    run = tracker.run("thread:t1", max_tool_calls=10, sticky=True)
    assert run.tool_calls == 4 and run.model_calls == 5 and run.sticky_tier is None
