"""Audit sampling and observe mode through the three adapters, unchanged: a LangChain LCEL chain, a
LlamaIndex query engine and a DSPy program (real framework objects, scripted backends)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from cascadeflow_core import Audit, CascadeOptions, CostTracker, Request, extract_answer
from tests.support.li_dspy import CHEAP, STRONG, FnBackend, dspy_reply, requested_fields, two_tier


def _numbers(label: str, request: Request) -> str:
    """The cheap model answers 41 (a number, so the has_digit validator accepts it), the strong one 42."""
    answer = "41" if label == CHEAP else "42"
    if requested_fields(request):  # a DSPy prompt: answer in its field format
        return dspy_reply({f: (answer if f == "answer" else "because") for f in requested_fields(request)})
    return f"The answer is {answer}."


def dspy_answer(text: str) -> str | None:
    """The ``answer`` output field of a DSPy ChatAdapter reply (auto extraction does not read DSPy's
    ``[[ ## field ## ]]`` markers, so a DSPy cascade names its answer field)."""
    m = re.search(r"\[\[ ## answer ## \]\]\s*(.*?)\s*(?:\[\[ ## |$)", text, re.S)
    return extract_answer(m.group(1)) if m else None


def _audited(mode: str, tracker: CostTracker, extract: Any = "auto") -> tuple[Any, FnBackend]:
    backend = FnBackend(_numbers)
    audit = Audit(rate=1.0, extract=extract)
    opts = CascadeOptions(audit=audit) if mode == "audit" else CascadeOptions(mode="observe", audit=audit)
    return two_tier(backend, tracker=tracker, options=opts), backend


def _check(cascade: Any, tracker: CostTracker, mode: str, answer: str) -> None:
    assert cascade.flush_audits(10.0)
    rec = tracker.audit_log.records()[-1]
    assert rec.kind == mode and rec.model == CHEAP and rec.verifier == STRONG
    assert (rec.agreed, rec.answer, rec.verifier_answer) == (False, "41", "42")
    # audit: the user got the drafter's answer; observe: the verifier's, unchanged
    assert ("41" if mode == "audit" else "42") in answer
    sources = {e.source for e in tracker.entries()}
    assert {"cascade", mode} <= sources
    assert cascade.audit_report().tier("tier1").losses == 1


@pytest.mark.parametrize("mode", ["audit", "observe"])
def test_langchain_chain(mode: str) -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    from cascadeflow_langchain import ChatCascade

    tracker = CostTracker()
    cascade, _ = _audited(mode, tracker)
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | ChatCascade(cascade) | StrOutputParser()
    _check(cascade, tracker, mode, chain.invoke({"q": "6*7?"}))
    asyncio.run(chain.ainvoke({"q": "6*7 again?"}))
    cascade.flush_audits(10.0)
    assert len(tracker.audit_log.records()) == 2


@pytest.mark.parametrize("mode", ["audit", "observe"])
def test_llamaindex_query_engine(mode: str) -> None:
    pytest.importorskip("llama_index.core")
    from llama_index.core import Document, Settings, VectorStoreIndex
    from llama_index.core.embeddings import MockEmbedding

    from cascadeflow_llamaindex import CascadeLLM

    tracker = CostTracker()
    cascade, _ = _audited(mode, tracker)
    old_llm, old_embed = Settings._llm, Settings._embed_model
    try:
        Settings.llm = CascadeLLM(cascade)
        Settings.embed_model = MockEmbedding(embed_dim=8)
        index = VectorStoreIndex.from_documents([Document(text="Six times seven is a product.")])
        answer = str(index.as_query_engine().query("What is 6*7?"))
    finally:
        Settings._llm, Settings._embed_model = old_llm, old_embed
    _check(cascade, tracker, mode, answer)


@pytest.mark.parametrize("mode", ["audit", "observe"])
def test_dspy_program(mode: str) -> None:
    dspy = pytest.importorskip("dspy")
    from cascadeflow_dspy import CascadeLM

    tracker = CostTracker()
    cascade, _ = _audited(mode, tracker, extract=dspy_answer)
    with dspy.context(lm=CascadeLM(cascade, cache=False)):
        pred = dspy.ChainOfThought("question -> answer")(question="6*7?")
    _check(cascade, tracker, mode, pred.answer)
