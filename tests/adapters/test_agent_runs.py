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

from dspy.utils.exceptions import LMBillingError  # noqa: E402
from langchain.agents import create_agent  # noqa: E402
from langchain_core.tools import tool  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402

from cascadeflow_core import (  # noqa: E402
    BudgetExceededError,
    Cascade,
    CostTracker,
    ModelSpec,
    RuleValidator,
    RunBudgetExceededError,
    Tier,
    counted_tool,
)
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


def _drafter() -> Tier:
    # rule checks only: the scripted drafter's tool calls and answers are accepted when well formed
    # (the default for a drafter whose provider returns logprobs would also ask for a confident draft)
    return Tier([ModelSpec("openai/small", **PRICE)], validator=RuleValidator())


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    # The drafter keeps calling tools (search, calculator, search ...), then answers.
    TOOL_CALLS.clear()
    with OpenAICompatServer(replies={"small": [SEARCH, CALC, SEARCH, CALC, Reply("Paris; 4")]}) as s:
        yield s


def _llm(server: OpenAICompatServer, tracker: CostTracker) -> ChatCascade:
    tiers = [_drafter(), ModelSpec("openai/big", **PRICE)]
    return ChatCascade(tiers, base_url=server.base_url, api_key="sk-local", tracker=tracker)


def _ask(agent: object, **config: object) -> object:
    return agent.invoke({"messages": [{"role": "user", "content": "Capital of France, and 2+2?"}]}, **config)  # type: ignore[attr-defined]


def test_langchain_agent_tool_cap(server: OpenAICompatServer) -> None:
    tracker = CostTracker()
    llm = _llm(server, tracker)
    agent = create_agent(
        llm, tools=[search, calculator], middleware=[CascadeRunMiddleware(tracker, max_tool_calls=2)]
    )
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


# --- LlamaIndex: FunctionAgent (an agent workflow) inside the run's scope ------------------------------


def _li_tools() -> list:
    from llama_index.core.tools import FunctionTool

    def search(query: str) -> str:
        """Search the web for a query."""
        TOOL_CALLS.append("search")
        return "Paris"

    def calculator(expression: str) -> str:
        """Evaluate an arithmetic expression."""
        TOOL_CALLS.append("calculator")
        return "4"

    return [
        FunctionTool.from_defaults(counted_tool(search)),
        FunctionTool.from_defaults(counted_tool(calculator)),
    ]


def _cascade(server: OpenAICompatServer, tracker: CostTracker) -> Cascade:
    tiers = [_drafter(), ModelSpec("openai/big", **PRICE)]
    return Cascade(tiers, tracker=tracker, api_base=server.base_url, api_key="sk-local")


def test_llamaindex_function_agent_tool_cap(server: OpenAICompatServer) -> None:
    from llama_index.core.agent.workflow import FunctionAgent

    from cascadeflow_llamaindex import CascadeLLM

    tracker = CostTracker()
    agent = FunctionAgent(tools=_li_tools(), llm=CascadeLLM(_cascade(server, tracker)))

    async def main() -> None:
        async with tracker.run("li-run", max_tool_calls=2) as run:
            with pytest.raises(RunBudgetExceededError) as e:
                await agent.run(user_msg="Capital of France, and 2+2?")
        assert e.value.run_id == "li-run" and run.summary()["exceeded"] == "tool_calls"

    asyncio.run(main())
    # the third tool call was refused (the agent saw a tool error), and the model call after it too
    assert TOOL_CALLS == ["search", "calculator"] and server.counts["small"] == 3


def test_llamaindex_function_agent_cost_cap() -> None:
    from llama_index.core.agent.workflow import FunctionAgent

    from cascadeflow_llamaindex import CascadeLLM

    # each call bills 1000 prompt tokens ($0.001); without max_tokens a request reserves its upper estimate
    # (~$0.0022: the byte bound of the prompt plus 512 output tokens until outputs are observed), so a cap of
    # $0.003 admits the first call and refuses the second ($0.001 spent + ~$0.0024 > $0.003)
    search = Reply(tool_calls=SEARCH.tool_calls, prompt_tokens=1000)
    with OpenAICompatServer(replies={"small": [search, search, search]}) as server:
        tracker = CostTracker()
        agent = FunctionAgent(tools=_li_tools(), llm=CascadeLLM(_cascade(server, tracker)))

        async def main() -> float:
            async with tracker.run(max_cost=0.003) as run:
                with pytest.raises(RunBudgetExceededError, match="cost cap"):
                    await agent.run(user_msg="Capital of France, and 2+2?")
            return run.cost

        spent = asyncio.run(main())
        assert server.counts["small"] == 1
    assert 0.001 <= spent <= 0.003


# --- DSPy: a ReAct module call inside the run's scope ----------------------------------------------------


def _react_step(tool: str, args: str) -> str:
    return (
        f"[[ ## next_thought ## ]]\nuse {tool}\n\n[[ ## next_tool_name ## ]]\n{tool}\n\n"
        f"[[ ## next_tool_args ## ]]\n{args}\n\n[[ ## completed ## ]]"
    )


def test_dspy_react_tool_cap() -> None:
    from cascadeflow_dspy import CascadeLM

    def search(query: str) -> str:
        """Search the web for a query."""
        TOOL_CALLS.append("search")
        return "Paris"

    def calculator(expression: str) -> str:
        """Evaluate an arithmetic expression."""
        TOOL_CALLS.append("calculator")
        return "4"

    TOOL_CALLS.clear()
    steps = [
        _react_step("search", '{"query": "capital of France"}'),
        _react_step("calculator", '{"expression": "2+2"}'),
        _react_step("search", '{"query": "again"}'),
        _react_step("finish", "{}"),
    ]
    with OpenAICompatServer(replies={"small": steps}) as server:
        tracker = CostTracker()
        lm = CascadeLM(_cascade(server, tracker), cache=False)
        react = dspy.ReAct("question -> answer", tools=[counted_tool(search), counted_tool(calculator)])
        with (
            dspy.context(lm=lm),
            tracker.run("dspy-run", max_tool_calls=2) as run,
            pytest.raises(LMBillingError) as e,
        ):
            react(question="Capital of France, and 2+2?")
        counts = server.counts
    # DSPy raises its own billing error; the run's typed error is its root cause
    root = e.value
    while root.__cause__ is not None:
        root = root.__cause__
    assert isinstance(root, RunBudgetExceededError) and root.limit_kind == "tool_calls"
    assert TOOL_CALLS == ["search", "calculator"] and counts["small"] == 3
    assert run.tool_calls == 2 and run.model_calls == 3


def test_langchain_sticky_run_keeps_the_verifier_after_an_escalation() -> None:
    # The drafter hedges (rejected) on the first step; the verifier calls a tool, then answers.
    replies = {"small": Reply("I'm not sure."), "big": [SEARCH, Reply("Paris")]}
    with OpenAICompatServer(replies=replies) as server:
        tracker = CostTracker()
        llm = _llm(server, tracker)
        mw = CascadeRunMiddleware(tracker, sticky=True, max_tool_calls=3)
        agent = create_agent(llm, tools=[search, calculator], middleware=[mw])
        out = _ask(agent)
        counts = server.counts
    last = out["messages"][-1]  # type: ignore[index]
    assert last.content == "Paris"
    # the second model step started at the tier that answered the first: the drafter was asked once
    assert counts == {"small": 1, "big": 2}
    assert any("sticky: run" in r for r in last.response_metadata["cascade"]["route"])


def test_langgraph_prebuilt_react_agent_inside_a_run(server: OpenAICompatServer) -> None:
    """LangGraph's create_react_agent has no middleware: open the run around invoke, count the tools."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from langgraph.prebuilt import create_react_agent

    def lookup(query: str) -> str:
        """Search the web for a query."""
        TOOL_CALLS.append("search")
        return "Paris"

    tracker = CostTracker()
    counted = tool("search")(counted_tool(lookup, "search"))
    agent = create_react_agent(_llm(server, tracker), tools=[counted, calculator])
    with (
        tracker.run("lg", max_model_calls=2) as run,
        pytest.raises(RunBudgetExceededError, match="model_calls"),
    ):
        _ask(agent)
    assert run.model_calls == 2 and server.counts["small"] == 2
