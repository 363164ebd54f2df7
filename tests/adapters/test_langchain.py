"""ChatCascade with real LangChain objects: LCEL chains, structured output, agents, batch, events, errors."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

pytest.importorskip("langchain_core")

from langchain_core.callbacks import BaseCallbackHandler, UsageMetadataCallbackHandler  # noqa: E402
from langchain_core.exceptions import ModelRateLimitError  # noqa: E402
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage  # noqa: E402
from langchain_core.output_parsers import StrOutputParser  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402
from langchain_core.tools import tool  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402
from typing_extensions import TypedDict  # noqa: E402

import cascadeflow_langchain  # noqa: E402
from cascadeflow_core import (  # noqa: E402
    Budget,
    BudgetExceededError,
    Cascade,
    CascadeOptions,
    ConfigError,
    CostTracker,
    ExhaustedError,
    ModelSpec,
    RateLimitError,
    Request,
    RetryPolicy,
    Tier,
    ToolCall,
)
from cascadeflow_core.testing import Faults, OpenAICompatServer  # noqa: E402
from cascadeflow_langchain import (  # noqa: E402
    ChatCascade,
    ChatCascadeRateLimitError,
    ChatCascadeUserRateLimitError,
    LangChainBackend,
)
from tests.support.langchain_rules import RuleChatModel, rule_reply  # noqa: E402
from tests.support.li_dspy import CHEAP, STRONG, FnBackend, two_tier  # noqa: E402


def _arith(label: str, request: Request) -> str:
    """The cheap model hedges on 'hard' questions (no number: rejected), the strong one answers."""
    if "hard" in request.last_user_text and label == CHEAP:
        return "I am not sure."
    return "The answer is 42."


@pytest.fixture
def backend() -> FnBackend:
    return FnBackend(_arith)


@pytest.fixture
def llm(backend: FnBackend) -> ChatCascade:
    return ChatCascade(two_tier(backend))


class Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.ends: list[Any] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.ends.append(response)


def test_public_surface() -> None:
    assert cascadeflow_langchain.__all__ == sorted(cascadeflow_langchain.__all__)
    for name in cascadeflow_langchain.__all__:
        assert getattr(cascadeflow_langchain, name) is not None


def test_construction_forms(backend: FnBackend) -> None:
    cascade = two_tier(backend)
    assert ChatCascade(cascade).cascade is cascade
    assert ChatCascade(cascade=cascade).model_name == f"{CHEAP}>{STRONG}"
    built = ChatCascade(
        ["openai/a", ["openai/b", "openai/c"], "openai/d"], api_key="sk-SECRET", base_url="http://x/v1"
    )
    assert built.model_name == "openai/a>openai/b+openai/c>openai/d"
    spec = built.cascade.tiers[0].specs[0]
    assert spec.api_base == "http://x/v1" and spec.api_key == "sk-SECRET"
    assert "SECRET" not in repr(built) and "SECRET" not in repr(built.cascade)
    with pytest.raises(ConfigError, match="either tiers or cascade"):
        ChatCascade(tiers=["openai/a"], cascade=cascade)
    assert ChatCascade(["openai/a"], max_retries=0).cascade.options.retry.max_retries == 0


def test_drafter_accepted_with_cost_and_reasons(llm: ChatCascade, backend: FnBackend) -> None:
    msg = llm.invoke([SystemMessage("Be brief."), HumanMessage("easy: 6*7?")])
    meta = msg.response_metadata
    assert msg.content == "The answer is 42."
    assert meta["model_name"] == CHEAP and meta["escalated"] is False
    assert meta["cost"] > 0 and meta["verifier_cost"] > meta["cost"] and meta["savings"] > 0
    assert meta["reasons"] == ["answer states a number"]
    assert msg.usage_metadata["input_tokens"] > 0 and msg.usage_metadata["output_tokens"] > 0
    assert ChatCascade.trace(msg)["attempts"][0]["status"] == "accepted"
    assert backend.calls == [(CHEAP, "sync")]


def test_drafter_escalated_with_trace(llm: ChatCascade) -> None:
    msg = llm.invoke("hard: 6*7?")
    meta = msg.response_metadata
    assert meta["model_name"] == STRONG and meta["escalated"] is True
    assert [a["status"] for a in meta["cascade"]["attempts"]] == ["rejected", "accepted"]
    assert list(meta["cascade"]["attempts"][0]["reasons"]) == ["no number in the answer"]
    assert any("rejected (no number in the answer)" in a for a in meta["attempts"])
    assert meta["cost"] == pytest.approx(sum(a["cost"] for a in meta["cascade"]["attempts"]))
    json.dumps(meta)  # checkpointers and LangSmith need it JSON-ready


def test_lcel_chain_with_prompt_and_parser(llm: ChatCascade) -> None:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are terse."), ("human", "{level}: what is {q}?")]
    )
    chain = prompt | llm | StrOutputParser()
    assert chain.invoke({"level": "easy", "q": "6*7"}) == "The answer is 42."
    assert (
        chain.batch([{"level": "easy", "q": "1"}, {"level": "hard", "q": "2"}]) == ["The answer is 42."] * 2
    )
    messages = (prompt | llm).invoke({"level": "hard", "q": "6*7"})
    assert messages.response_metadata["escalated"] is True


async def test_ainvoke_uses_async_paths_only(backend: FnBackend) -> None:
    backend.sync_forbidden = True
    llm = ChatCascade(two_tier(backend))
    msg = await llm.ainvoke("hard: 6*7?")
    assert msg.response_metadata["model_name"] == STRONG
    assert backend.paths() == {"async"}
    chunks = [c async for c in llm.astream("easy: 1+1?")]
    assert "".join(c.text for c in chunks) == "The answer is 42."


class Joke(BaseModel):
    """A joke."""

    setup: str = Field(description="question to set up a joke")
    punchline: str = Field(description="answer to resolve the joke")


class JokeDict(TypedDict):
    """A joke."""

    setup: str
    punchline: str


def _structured(label: str, request: Request) -> Any:
    """Answers in whatever form the request asks for (tool call, JSON schema or JSON object)."""
    value = {"setup": "Why did the cat sit on the computer?", "punchline": "To keep an eye on the mouse."}
    if request.tools:
        name = request.tools[0]["function"]["name"]
        return "", (ToolCall("call_1", name, json.dumps(value)),)
    return json.dumps(value)


@pytest.mark.parametrize("method", ["function_calling", "json_schema", "json_mode"])
@pytest.mark.parametrize(
    "schema", [Joke, JokeDict, Joke.model_json_schema()], ids=["pydantic", "typeddict", "json"]
)
def test_with_structured_output_round_trip(method: str, schema: Any) -> None:
    llm = ChatCascade(two_tier(FnBackend(_structured), validator=None))
    out = llm.with_structured_output(schema, method=method).invoke("Tell me a joke about cats.")
    if schema is Joke:
        assert isinstance(out, Joke) and out.punchline.startswith("To keep")
    else:
        assert out["punchline"].startswith("To keep")
    raw = llm.with_structured_output(schema, method=method, include_raw=True).invoke("Tell me a joke")
    assert raw["parsing_error"] is None and raw["raw"].response_metadata["model_name"] == CHEAP


def test_structured_output_escalates_malformed_draft() -> None:
    def reply(label: str, request: Request) -> Any:
        if label == CHEAP:
            return "", (ToolCall("c1", "NotTheTool", "{}"),)  # an unbound tool: the core rejects it
        return _structured(label, request)

    llm = ChatCascade(two_tier(FnBackend(reply), validator=None))
    raw = llm.with_structured_output(Joke, include_raw=True).invoke("joke please")
    assert isinstance(raw["parsed"], Joke)
    trace = raw["raw"].response_metadata
    assert trace["escalated"] is True and trace["model_name"] == STRONG
    assert "unknown tool 'NotTheTool'" in trace["cascade"]["attempts"][0]["reasons"][-1]


def test_bind_tools_sends_openai_tools_and_choice() -> None:
    seen: list[Request] = []

    def reply(label: str, request: Request) -> Any:
        seen.append(request)
        return "", (ToolCall("c1", "add", '{"a": 2, "b": 3}'),)

    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    llm = ChatCascade(two_tier(FnBackend(reply)))
    msg = llm.bind_tools([add], tool_choice="add").invoke("2+3?")
    assert msg.tool_calls == [{"name": "add", "args": {"a": 2, "b": 3}, "id": "c1", "type": "tool_call"}]
    assert seen[-1].tools[0]["function"]["name"] == "add"
    assert seen[-1].tool_choice == {"type": "function", "function": {"name": "add"}}
    llm.bind_tools([add], tool_choice="any").invoke("2+3?")
    assert seen[-1].tool_choice == "required"
    with pytest.raises(ConfigError, match="not one of the bound tools"):
        llm.bind_tools([add], tool_choice="mul")


def _agent_script(executed: list[tuple[int, int]]) -> Any:
    def reply(label: str, request: Request) -> Any:
        last = request.messages[-1]
        if last["role"] == "tool":
            return f"The sum is {last['content']}."
        if label == CHEAP:
            return "", (ToolCall("bad", "multiply", '{"a": 2, "b": 3}'),)  # unbound tool: escalated
        return "", (ToolCall("call_add", "add", '{"a": 2, "b": 3}'),)

    return reply


def _add_tool(executed: list[tuple[int, int]]) -> Any:
    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        executed.append((a, b))
        return a + b

    return add


def test_create_agent_validates_and_executes_tool_call() -> None:
    agents = pytest.importorskip("langchain.agents")
    executed: list[tuple[int, int]] = []
    llm = ChatCascade(two_tier(FnBackend(_agent_script(executed)), validator=None))
    agent = agents.create_agent(model=llm, tools=[_add_tool(executed)], system_prompt="Use tools.")
    out = agent.invoke(
        {"messages": [HumanMessage("What is 2 + 3?")]}, config={"metadata": {"user_id": "ann"}}
    )
    msgs = out["messages"]
    assert executed == [(2, 3)]
    call = next(m for m in msgs if isinstance(m, AIMessage) and m.tool_calls)
    assert call.tool_calls[0]["name"] == "add" and call.response_metadata["escalated"] is True
    assert "unknown tool 'multiply'" in " ".join(call.response_metadata["attempts"])
    assert any(isinstance(m, ToolMessage) and m.content == "5" for m in msgs)
    assert msgs[-1].content == "The sum is 5." and msgs[-1].response_metadata["model_name"] == CHEAP


def test_langgraph_react_agent_over_local_server() -> None:
    prebuilt = pytest.importorskip("langgraph.prebuilt")
    executed: list[tuple[int, int]] = []
    with OpenAICompatServer(replies=rule_reply) as server:
        llm = ChatCascade(["openai/small", "openai/large"], base_url=server.base_url, api_key="local")
        agent = prebuilt.create_react_agent(llm, [_add_tool(executed)])
        out = agent.invoke({"messages": [HumanMessage("Use add to compute 20 + 22")]})
        assert executed == [(20, 22)]
        assert out["messages"][-1].content == "The tool answered: 42"
        bodies = server.bodies
    assert bodies[0]["tools"][0]["function"]["name"] == "add"
    last = bodies[-1]["messages"][-1]
    assert (last["role"], last["content"], last["tool_call_id"]) == ("tool", "42", "call_0")


def test_batch_and_astream_events(llm: ChatCascade) -> None:
    out = llm.batch(["easy: 1?", "hard: 2?"], config={"max_concurrency": 2})
    assert [m.response_metadata["escalated"] for m in out] == [False, True]


async def test_astream_events_carry_tokens_and_trace(llm: ChatCascade) -> None:
    events = [e async for e in llm.astream_events("hard: 6*7?", version="v2")]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "on_chat_model_start" and kinds[-1] == "on_chat_model_end"
    streamed = "".join(e["data"]["chunk"].text for e in events if e["event"] == "on_chat_model_stream")
    assert streamed == "The answer is 42."  # the rejected draft ("I am not sure.") never streamed
    end = events[-1]["data"]["output"]
    assert end.response_metadata["model_name"] == STRONG and end.usage_metadata["total_tokens"] > 0


def test_stream_never_leaks_rejected_draft_to_callbacks(llm: ChatCascade) -> None:
    handler = Tokens()
    chunks = list(llm.stream("hard: 6*7?", config={"callbacks": [handler]}))
    assert "".join(handler.tokens) == "The answer is 42." and "sure" not in "".join(handler.tokens)
    full = chunks[0]
    for c in chunks[1:]:
        full += c
    assert full.content == "The answer is 42." and chunks[-1].chunk_position == "last"
    assert full.response_metadata["escalated"] is True and full.usage_metadata["output_tokens"] > 0


def test_callbacks_and_usage_counted_once(llm: ChatCascade) -> None:
    usage, handler = UsageMetadataCallbackHandler(), Tokens()
    msg = llm.invoke("hard: 1?", config={"callbacks": [usage, handler]})
    assert usage.usage_metadata == {STRONG: msg.usage_metadata}
    assert handler.ends[0].llm_output["cost"] == msg.response_metadata["cost"]


def test_langchain_chat_models_as_tiers() -> None:
    small = LangChainBackend.spec(
        RuleChatModel(model="small"), input_cost_per_token=1e-6, output_cost_per_token=2e-6
    )
    llm = ChatCascade([small, RuleChatModel(model="large")])
    assert llm.model_name == "langchain/small>langchain/large"
    usage = UsageMetadataCallbackHandler()
    msg = llm.invoke("hi there", config={"callbacks": [usage]})
    assert msg.content == "Hello! You said: hi there"
    assert msg.response_metadata["model_name"] == "langchain/small"
    u = msg.usage_metadata
    assert msg.response_metadata["cost"] == pytest.approx(
        u["input_tokens"] * 1e-6 + u["output_tokens"] * 2e-6
    )
    assert list(usage.usage_metadata) == ["langchain/small"]  # the wrapped model's own run is not reported


def test_langchain_tier_errors_fall_through() -> None:
    class Limited(RuleChatModel):
        def _generate(self, *a: Any, **k: Any) -> Any:
            raise ModelRateLimitError("429 from the wrapped model")

    llm = ChatCascade([Limited(model="first"), RuleChatModel(model="second")], max_retries=0)
    msg = llm.invoke("hello")
    assert msg.response_metadata["model_name"] == "langchain/second"
    assert msg.response_metadata["cascade"]["attempts"][0]["error_kind"] == "rate_limit"


def test_all_tiers_rate_limited_raises_typed_error() -> None:
    with OpenAICompatServer(replies="ok", faults=Faults(rate=1.0, kinds=("rate_limit",))) as server:
        llm = ChatCascade(
            ["openai/small", "openai/large"], base_url=server.base_url, api_key="local", max_retries=0
        )
        with pytest.raises(ChatCascadeRateLimitError) as info:
            llm.invoke("hi")
    err = info.value
    assert isinstance(err, RateLimitError) and isinstance(err, ExhaustedError)
    assert isinstance(err, ModelRateLimitError) and err.status == 429
    assert [a.error_kind for a in err.attempts] == ["rate_limit", "rate_limit"]
    assert isinstance(err.__cause__, ExhaustedError)


def test_budget_block_surfaces_as_error(backend: FnBackend) -> None:
    tracker = CostTracker(budgets=[Budget(0.01, "total")])
    tracker.record(CHEAP, cost=0.02, user="bob")  # bob has spent his budget
    llm = ChatCascade(two_tier(backend, tracker=tracker))
    with pytest.raises(BudgetExceededError) as info:
        llm.invoke("easy: 1?", user="bob")
    assert info.value.user == "bob" and info.value.limit == 0.01
    assert backend.calls == []  # blocked before any model was called
    assert llm.invoke(
        "easy: 1?", config={"metadata": {"user_id": "carol"}}
    ).content  # carol's budget is intact


def test_user_and_tags_reach_the_tracker(backend: FnBackend) -> None:
    tracker = CostTracker()
    llm = ChatCascade(two_tier(backend, tracker=tracker), tags=["model-tag"])
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | llm
    chain.invoke({"q": "easy: 1?"}, config={"metadata": {"user_id": "alice"}, "tags": ["team-a"]})
    llm.invoke("easy: 2?", user="bob", cascade_tags=["batch-job"])
    by_user = {e.user: e for e in tracker.entries()}
    assert set(by_user) == {"alice", "bob"}
    assert set(by_user["alice"].tags) == {"team-a", "model-tag"}  # LangChain's own seq:step tags are dropped
    assert set(by_user["bob"].tags) == {"model-tag", "batch-job"}


def test_user_rate_limit_is_a_langchain_rate_limit(backend: FnBackend) -> None:
    from cascadeflow_core import RateLimit

    llm = ChatCascade(two_tier(backend, tracker=CostTracker(rate_limits=[RateLimit(1, per="hour")])))
    llm.invoke("easy: 1?", user="u")
    with pytest.raises(ChatCascadeUserRateLimitError) as info:
        llm.invoke("easy: 1?", user="u")
    assert isinstance(info.value, ModelRateLimitError)


def test_model_override_calls_that_model_alone(llm: ChatCascade, backend: FnBackend) -> None:
    msg = llm.invoke("hard: 1?", model=CHEAP)
    assert msg.response_metadata["model_name"] == CHEAP and msg.content == "I am not sure."
    assert msg.response_metadata["escalated"] is False
    assert llm._get_ls_params(model=CHEAP)["ls_model_name"] == CHEAP


def test_ls_params_and_identifying_params(llm: ChatCascade) -> None:
    llm2 = ChatCascade(llm.cascade, temperature=0.2, max_tokens=50, stop=["\n"])
    ls = llm2._get_ls_params()
    assert ls == {
        "ls_provider": "cascadeflow",
        "ls_model_name": f"{CHEAP}>{STRONG}",
        "ls_model_type": "chat",
        "ls_temperature": 0.2,
        "ls_max_tokens": 50,
        "ls_stop": ["\n"],
    }
    assert llm2._identifying_params["tiers"] == [[CHEAP], [STRONG]]


def test_params_and_images_reach_the_provider() -> None:
    with OpenAICompatServer(replies=rule_reply) as server:
        llm = ChatCascade(
            ["openai/small"],
            base_url=server.base_url,
            api_key="local",
            temperature=0.1,
            max_tokens=20,
            model_kwargs={"seed": 7},
        )
        image = {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"}
        llm.invoke([HumanMessage(content=[{"type": "text", "text": "Describe"}, image])], stop=["END"])
        body = server.bodies[-1]
    assert body["temperature"] == 0.1 and body["max_tokens"] == 20 and body["seed"] == 7
    assert body["stop"] == ["END"]
    parts = body["messages"][0]["content"]
    assert parts[1]["type"] == "image_url" and parts[1]["image_url"]["url"].startswith(
        "data:image/png;base64,"
    )


def test_optimistic_stream_marks_withdrawn_text(backend: FnBackend) -> None:
    cascade = Cascade(
        two_tier(backend).tiers,
        options=CascadeOptions(stream_mode="optimistic", retry=RetryPolicy(max_retries=0)),
    )
    chunks = list(ChatCascade(cascade).stream("hard: 1?"))
    marks = [c for c in chunks if c.response_metadata.get("cascade_event") == "escalation"]
    assert len(marks) == 1 and "no number" in marks[0].response_metadata["reason"]
    texts = [c.text for c in chunks]
    assert re.sub(r"\s+", " ", "".join(texts)).startswith("I am not sure.")


def test_tier_objects_and_validators_pass_through(backend: FnBackend) -> None:
    llm = ChatCascade(
        [
            Tier([ModelSpec(CHEAP, backend=backend)], validator=lambda d, r: False),
            ModelSpec(STRONG, backend=backend),
        ]
    )
    assert llm.invoke("easy").response_metadata["model_name"] == STRONG
