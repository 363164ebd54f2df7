"""A LangChain LCEL chain (prompt | model | parser) whose model is a cascade.

Offline by default: both tiers answer through LiteLLM's ``mock_response`` (the cheap one is accepted on an
easy question, and hedges on a hard one, so the cascade escalates). With ``OPENAI_API_KEY`` set, the same
chain runs on gpt-4o-mini -> gpt-4o.

Run: ``python examples/langchain_chain.py``
"""

from __future__ import annotations

import os

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from cascadeflow_core import CostTracker, ModelSpec
from cascadeflow_langchain import ChatCascade


def make_llm(tracker: CostTracker) -> ChatCascade:
    if os.environ.get("OPENAI_API_KEY"):
        return ChatCascade(["openai/gpt-4o-mini", "openai/gpt-4o"], tracker=tracker)
    # Offline: the mock drafter says it is unsure (the rule checks reject hedging), the verifier answers.
    return ChatCascade([
        ModelSpec("openai/gpt-4o-mini", params={"mock_response": "I'm not sure, it might be Paris."}),
        ModelSpec("openai/gpt-4o", params={"mock_response": "Paris."}),
    ], tracker=tracker)


def main() -> None:
    tracker = CostTracker()
    llm = make_llm(tracker)  # was: llm = ChatOpenAI(model="gpt-4o")
    prompt = ChatPromptTemplate.from_messages([("system", "Answer in one word."), ("human", "{question}")])

    chain = prompt | llm | StrOutputParser()
    print("answer:", chain.invoke({"question": "What is the capital of France?"},
                                  config={"metadata": {"user_id": "alice"}, "tags": ["geo"]}))

    message = (prompt | llm).invoke({"question": "What is the capital of France?"})
    meta = message.response_metadata
    print(f"answered by {meta['model_name']} (escalated: {meta['escalated']})")
    print(f"cost ${meta['cost']:.6f}; the verifier alone: ${meta['verifier_cost'] or 0:.6f}")
    print("why:", "; ".join(meta["attempts"]))
    print("ledger:", tracker.totals("user"))


if __name__ == "__main__":
    main()
