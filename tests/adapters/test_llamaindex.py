"""CascadeLLM with real LlamaIndex objects: LLM API, callbacks, instrumentation, tools, RAG, agents."""

from __future__ import annotations

import asyncio
import re

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core import Document, Settings, VectorStoreIndex  # noqa: E402
from llama_index.core.agent.workflow import FunctionAgent  # noqa: E402
from llama_index.core.callbacks import CallbackManager, CBEventType, LlamaDebugHandler  # noqa: E402
from llama_index.core.callbacks.token_counting import TokenCountingHandler  # noqa: E402
from llama_index.core.embeddings import MockEmbedding  # noqa: E402
from llama_index.core.instrumentation import get_dispatcher  # noqa: E402
from llama_index.core.instrumentation.event_handlers import BaseEventHandler  # noqa: E402
from llama_index.core.llms import ChatMessage  # noqa: E402
from llama_index.core.tools import FunctionTool  # noqa: E402
from pydantic import BaseModel  # noqa: E402

import cascadeflow_llamaindex  # noqa: E402
from cascadeflow_core import CascadeResult, InputError, Request, ToolCall  # noqa: E402
from cascadeflow_llamaindex import CascadeLLM, CascadeTraceHandler  # noqa: E402
from tests.support.li_dspy import CHEAP, STRONG, FnBackend, two_tier  # noqa: E402


def _arith(label: str, request: Request) -> str:
    """Cheap model hedges on 'hard' questions (no number), the strong one answers."""
    q = request.last_user_text
    if "hard" in q and label == CHEAP:
        return "I am not sure."
    return "The answer is 42."


def _msgs(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content=text)]


@pytest.fixture
def backend() -> FnBackend:
    return FnBackend(_arith)


@pytest.fixture
def llm(backend: FnBackend) -> CascadeLLM:
    return CascadeLLM(two_tier(backend, cheap_window=16_000, strong_window=128_000))


def test_public_surface() -> None:
    assert cascadeflow_llamaindex.__all__ == sorted(cascadeflow_llamaindex.__all__)
    assert set(cascadeflow_llamaindex.__all__) == {"CascadeLLM", "CascadeTraceHandler"}


def test_metadata_uses_smallest_context_window(llm: CascadeLLM) -> None:
    md = llm.metadata
    assert md.context_window == 16_000
    assert md.is_chat_model and md.is_function_calling_model
    assert md.model_name == f"{CHEAP}>{STRONG}"
    assert CascadeLLM(llm.cascade, context_window=4096, max_tokens=99).metadata.context_window == 4096
    assert CascadeLLM(llm.cascade, max_tokens=99).metadata.num_output == 99
    # No declared windows: LiteLLM's model map (both models accept 128k tokens).
    assert CascadeLLM(["openai/gpt-4o-mini", "openai/gpt-4o"]).metadata.context_window == 128_000


def test_chat_accepts_cheap_answer_with_cost_and_reasons(llm: CascadeLLM, backend: FnBackend) -> None:
    r = llm.chat(_msgs("easy: 6*7?"))
    assert r.message.content == "The answer is 42."
    kw = r.additional_kwargs
    assert kw["model"] == CHEAP and kw["escalated"] is False
    assert kw["cost"] > 0 and kw["verifier_cost"] > kw["cost"]
    assert any("accepted" in why for why in kw["reasons"])
    assert isinstance(r.raw["result"], CascadeResult) and r.raw["trace"]["model"] == CHEAP
    assert backend.calls == [(CHEAP, "sync")]


def test_chat_escalates_and_says_why(llm: CascadeLLM) -> None:
    r = llm.chat(_msgs("hard: 6*7?"))
    kw = r.additional_kwargs
    assert kw["model"] == STRONG and kw["escalated"] is True
    assert any("rejected" in why and "no number" in why for why in kw["reasons"])
    assert kw["cost"] == pytest.approx(r.raw["result"].cost)


def test_request_carries_messages_settings_and_user(backend: FnBackend) -> None:
    seen: list[Request] = []

    def reply(label: str, request: Request) -> str:
        seen.append(request)
        return "7"

    llm = CascadeLLM(two_tier(FnBackend(reply)), temperature=0.2, max_tokens=50, user="u1", tags=["rag"])
    llm.chat(_msgs("q"), stop=["\n"])
    req = seen[0]
    assert [m["role"] for m in req.messages] == ["system", "user"]
    assert (req.temperature, req.max_tokens, req.stop, req.user, req.tags) == (
        0.2,
        50,
        ["\n"],
        "u1",
        ("rag",),
    )


def test_complete_and_streams(llm: CascadeLLM) -> None:
    assert llm.complete("easy").text == "The answer is 42."
    chunks = list(llm.stream_chat(_msgs("hard one")))
    assert "".join(c.delta or "" for c in chunks) == "The answer is 42."
    assert chunks[-1].message.content == "The answer is 42."
    assert chunks[-1].additional_kwargs["model"] == STRONG and chunks[-1].additional_kwargs["cost"] > 0
    cchunks = list(llm.stream_complete("easy"))
    assert "".join(c.delta or "" for c in cchunks) == cchunks[-1].text == "The answer is 42."
    assert cchunks[-1].additional_kwargs["model"] == CHEAP


async def test_async_paths_use_async_backend_only() -> None:
    backend = FnBackend(_arith, sync_forbidden=True)
    llm = CascadeLLM(two_tier(backend))
    assert (await llm.achat(_msgs("hard"))).additional_kwargs["model"] == STRONG
    assert (await llm.acomplete("easy")).text == "The answer is 42."
    gen = await llm.astream_chat(_msgs("easy"))
    chunks = [c async for c in gen]
    assert "".join(c.delta or "" for c in chunks) == "The answer is 42."
    cgen = await llm.astream_complete("hard")
    last = [c async for c in cgen][-1]
    assert last.text == "The answer is 42." and last.additional_kwargs["escalated"] is True
    assert backend.paths() == {"async", "astream"}


async def test_achat_does_not_block_the_event_loop() -> None:
    backend = FnBackend(_arith, sync_forbidden=True, gate=asyncio.Event(), started=asyncio.Event())
    llm = CascadeLLM(two_tier(backend))
    task = asyncio.create_task(llm.achat(_msgs("easy")))
    # The backend call is pending on the gate; only a free event loop lets this coroutine run and open it.
    await asyncio.wait_for(backend.started.wait(), timeout=10)
    assert not task.done()
    backend.gate.set()
    assert (await asyncio.wait_for(task, timeout=10)).message.content == "The answer is 42."


def test_callbacks_instrumentation_and_token_counting(backend: FnBackend) -> None:
    debug, tokens = LlamaDebugHandler(), TokenCountingHandler()
    llm = CascadeLLM(two_tier(backend), callback_manager=CallbackManager([debug, tokens]))

    class Collect(BaseEventHandler):
        events: list = []

        def handle(self, event, **kwargs):  # type: ignore[no-untyped-def]
            self.events.append(event)

    collect = Collect()
    root = get_dispatcher()
    root.add_event_handler(collect)
    try:
        r = llm.chat(_msgs("easy"))
        llm.complete("hard")
    finally:
        root.event_handlers = [h for h in root.event_handlers if h is not collect]
    names = [type(e).__name__ for e in collect.events]
    assert {
        "LLMChatStartEvent",
        "LLMChatEndEvent",
        "LLMCompletionStartEvent",
        "LLMCompletionEndEvent",
    } <= set(names)
    end = next(e for e in collect.events if type(e).__name__ == "LLMChatEndEvent")
    assert end.response.additional_kwargs["cost"] == r.additional_kwargs["cost"]
    assert len(debug.get_event_pairs(CBEventType.LLM)) == 2
    assert tokens.prompt_llm_token_count > 0 and tokens.completion_llm_token_count > 0


def _multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def _tool_reply(label: str, request: Request) -> str | tuple[str, tuple[ToolCall, ...]]:
    last = request.messages[-1]
    if last["role"] == "tool":
        return f"The product is {last['content']}."
    if request.tools:
        name = request.tools[0]["function"]["name"]
        args = '{"a": 6, "b": 7}' if name == "multiply" else '{"city": "Paris", "population_m": 2}'
        return "", (ToolCall(id="call_1", name=name, arguments=args),)
    return "no tools: 0"


def test_tool_calling_and_predict_and_call() -> None:
    backend = FnBackend(_tool_reply)
    llm = CascadeLLM(two_tier(backend))
    tool = FunctionTool.from_defaults(fn=_multiply, name="multiply")
    resp = llm.chat_with_tools([tool], user_msg="What is 6 times 7?")
    sel = llm.get_tool_calls_from_response(resp)
    assert [(s.tool_name, s.tool_kwargs, s.tool_id) for s in sel] == [
        ("multiply", {"a": 6, "b": 7}, "call_1")
    ]
    assert resp.additional_kwargs["model"] == CHEAP  # the validator accepts a tool call
    out = llm.predict_and_call([tool], user_msg="What is 6 times 7?")
    assert out.response == "42" and out.sources[0].tool_name == "multiply"
    with pytest.raises(ValueError, match="tool call"):
        llm.get_tool_calls_from_response(llm.chat(_msgs("plain")))
    assert llm.get_tool_calls_from_response(llm.chat(_msgs("plain")), error_on_no_tool_call=False) == []


def test_tool_results_round_trip_as_openai_messages() -> None:
    seen: list[Request] = []

    def reply(label: str, request: Request) -> str:
        seen.append(request)
        return "done 1"

    llm = CascadeLLM(two_tier(FnBackend(reply)))
    tool = FunctionTool.from_defaults(fn=_multiply, name="multiply")
    first = CascadeLLM(two_tier(FnBackend(_tool_reply))).chat_with_tools([tool], user_msg="6*7?")
    history = [
        ChatMessage(role="user", content="6*7?"),
        first.message,
        ChatMessage(role="tool", content="42", additional_kwargs={"tool_call_id": "call_1"}),
    ]
    llm.chat(history)
    msgs = seen[0].messages
    assert msgs[1]["tool_calls"][0]["function"] == {"name": "multiply", "arguments": '{"a": 6, "b": 7}'}
    assert msgs[2] == {"role": "tool", "content": "42", "tool_call_id": "call_1"}


def test_unsupported_block_is_a_typed_error(llm: CascadeLLM) -> None:
    from llama_index.core.base.llms.types import DocumentBlock

    msg = ChatMessage(
        role="user", blocks=[DocumentBlock(data=b"%PDF-1.4", document_mimetype="application/pdf")]
    )
    with pytest.raises(InputError, match="document"):
        llm.chat([msg])


class City(BaseModel):
    city: str
    population_m: int


def test_structured_predict_via_tool_calling() -> None:
    from llama_index.core.prompts import PromptTemplate

    llm = CascadeLLM(two_tier(FnBackend(_tool_reply)))
    city = llm.structured_predict(City, PromptTemplate("Describe {name}."), name="Paris")
    assert city == City(city="Paris", population_m=2)


async def test_astructured_predict() -> None:
    from llama_index.core.prompts import PromptTemplate

    llm = CascadeLLM(two_tier(FnBackend(_tool_reply, sync_forbidden=True)))
    city = await llm.astructured_predict(City, PromptTemplate("Describe {name}."), name="Paris")
    assert city.population_m == 2


# --- end to end: Settings.llm in a query engine, a chat engine and a FunctionAgent --------------------

DOCS = [
    Document(
        text="CascadeFlow tries cheap models first and escalates only when a validator rejects the draft."
    ),
    Document(text="The Eiffel Tower is in Paris and is 330 metres tall."),
    Document(text="GSM8K is a dataset of grade-school math word problems."),
]


def _rag_reply(label: str, request: Request) -> str:
    text = request.last_user_text
    if "Follow Up Input:" in text:  # the chat engine's condense step: keep the question as it is
        return text.split("Follow Up Input:")[1].split("\n")[0].strip()
    if "How tall" in text and label == STRONG:
        return "It is 330 metres tall."
    if "How tall" in text:
        return "It is tall."  # no number: the validator escalates
    return "CascadeFlow escalates 1 time at most per tier."


@pytest.fixture
def rag_settings():  # type: ignore[no-untyped-def]
    old_llm, old_embed = Settings._llm, Settings._embed_model
    backend = FnBackend(_rag_reply)
    Settings.llm = CascadeLLM(two_tier(backend))
    Settings.embed_model = MockEmbedding(embed_dim=8)
    yield backend
    Settings._llm, Settings._embed_model = old_llm, old_embed


def test_query_engine_rag_with_trace_handler(rag_settings: FnBackend) -> None:
    index = VectorStoreIndex.from_documents(DOCS)
    with CascadeTraceHandler().attached() as handler:
        answer = index.as_query_engine(similarity_top_k=3).query("How tall is the Eiffel Tower?")
    assert str(answer) == "It is 330 metres tall."
    assert handler.results and handler.results[-1].model == STRONG and handler.results[-1].escalated
    assert handler.cost == pytest.approx(sum(r.cost for r in handler.results)) and handler.cost > 0
    assert len(answer.source_nodes) == 3
    # Detached: later calls are not recorded.
    index.as_query_engine().query("What is CascadeFlow?")
    assert len(handler.results) == 1


async def test_query_engine_async_and_streaming(rag_settings: FnBackend) -> None:
    index = VectorStoreIndex.from_documents(DOCS)
    answer = await index.as_query_engine().aquery("What is CascadeFlow?")
    assert "escalates" in str(answer)
    streaming = index.as_query_engine(streaming=True).query("How tall is the Eiffel Tower?")
    assert "".join(streaming.response_gen) == "It is 330 metres tall."
    assert {"async", "stream"} <= rag_settings.paths()


async def test_chat_engine_sync_and_async(rag_settings: FnBackend) -> None:
    index = VectorStoreIndex.from_documents(DOCS)
    engine = index.as_chat_engine(chat_mode="condense_plus_context")
    assert str(engine.chat("How tall is the Eiffel Tower?")) == "It is 330 metres tall."
    reply = await engine.achat("And what is CascadeFlow?")
    assert "escalates" in str(reply)
    assert "async" in rag_settings.paths()


@pytest.mark.parametrize("streaming", [True, False])
async def test_function_agent_runs_a_real_tool(streaming: bool) -> None:
    executed: list[tuple[int, int]] = []

    def multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        executed.append((a, b))
        return a * b

    backend = FnBackend(_tool_reply, sync_forbidden=True)
    llm = CascadeLLM(two_tier(backend))
    agent = FunctionAgent(tools=[multiply], llm=llm, streaming=streaming, system_prompt="Use tools.")
    with CascadeTraceHandler().attached() as handler:
        result = await agent.run("What is 6 times 7?")
    assert executed == [(6, 7)]
    assert "42" in str(result)
    assert len(handler.results) == 2 and handler.cost > 0
    assert re.search(r"tier1/.*accepted", handler.results[0].attempts[0].describe())
    assert "sync" not in backend.paths() and "stream" not in backend.paths()


def test_optimistic_stream_withdraws_a_rejected_draft(backend: FnBackend) -> None:
    from cascadeflow_core import CascadeOptions

    llm = CascadeLLM(two_tier(backend, options=CascadeOptions(stream_mode="optimistic")))
    chunks = list(llm.stream_chat(_msgs("hard one")))
    events = [c.additional_kwargs.get("cascade_event") for c in chunks]
    assert "escalation" in events
    withdrawn = chunks[events.index("escalation")]
    assert withdrawn.message.content == "" and "no number" in withdrawn.additional_kwargs["reason"]
    after = chunks[events.index("escalation") + 1 :]
    assert "".join(c.delta or "" for c in after) == "The answer is 42."
    assert chunks[-1].message.content == "The answer is 42." and chunks[-1].additional_kwargs["escalated"]


def test_user_and_tags_reach_the_cascade_tracker_and_budgets_block(backend: FnBackend) -> None:
    from cascadeflow_core import Budget, BudgetExceededError, CostTracker

    tracker = CostTracker(budgets=[Budget(1e-9, "total", scope="user", match="bob")])
    llm = CascadeLLM(two_tier(backend, tracker=tracker), user="alice", tags=["rag"])
    r = llm.chat(_msgs("hard: 6*7?"))
    assert tracker.spent(user="alice") == pytest.approx(r.additional_kwargs["cost"])
    assert tracker.spent(tag="rag") == pytest.approx(r.additional_kwargs["cost"])
    bob = CascadeLLM(llm.cascade, user="bob")
    with pytest.raises(BudgetExceededError, match="bob"):  # the estimate alone exceeds bob's budget
        bob.chat(_msgs("easy"))


# --- real HTTP: both tiers behind a local OpenAI-compatible server, called through LiteLLM -----------------


def _http_reply(model: str, messages: list) -> str:
    last = messages[-1]["content"]
    text = last if isinstance(last, str) else " ".join(p.get("text", "") for p in last)
    return "I am not sure." if "hard" in text and model == "local-small" else "It is 330 metres tall."


async def test_over_a_local_http_server_sync_async_and_streaming() -> None:
    from tests.support.li_dspy import LocalOpenAIServer, http_cascade

    with LocalOpenAIServer(_http_reply) as server:
        llm = CascadeLLM(http_cascade(server), temperature=0.0)
        easy = llm.chat(_msgs("easy: how tall?"))
        hard = await llm.achat(_msgs("hard: how tall?"))
        chunks = [c async for c in await llm.astream_chat(_msgs("hard: how tall?"))]
        sync_chunks = list(llm.stream_complete("easy: how tall?"))
    assert easy.additional_kwargs["model"] == "openai/local-small" and easy.additional_kwargs["cost"] > 0
    assert hard.additional_kwargs["model"] == "openai/local-big" and hard.additional_kwargs["escalated"]
    assert "".join(c.delta or "" for c in chunks) == "It is 330 metres tall."
    assert chunks[-1].additional_kwargs["prompt_tokens"] > 0 and chunks[-1].additional_kwargs["cost"] > 0
    assert sync_chunks[-1].text == "It is 330 metres tall."
    models = [r["model"] for r in server.requests]
    assert models[:3] == ["local-small", "local-small", "local-big"]
    assert server.requests[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert server.requests[0]["temperature"] == 0.0
