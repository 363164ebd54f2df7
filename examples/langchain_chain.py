"""A LangChain LCEL chain (prompt | model | parser) whose model is a cascade.

Run: python examples/langchain_chain.py [--live]

Offline (default) both tiers answer through LiteLLM's ``mock_response``: the cheap one hedges, so the
cascade escalates. ``--live`` runs the same chain on gpt-4o-mini -> gpt-4o (needs OPENAI_API_KEY).
"""

from __future__ import annotations

import os
import sys

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from cascadeflow_core import CostTracker, ModelSpec
from cascadeflow_langchain import ChatCascade

LIVE = "--live" in sys.argv
if LIVE and not os.environ.get("OPENAI_API_KEY"):
    print("--live calls OpenAI: set OPENAI_API_KEY, or run without --live (offline).", file=sys.stderr)
    sys.exit(2)


def make_llm(tracker: CostTracker) -> ChatCascade:
    if LIVE:
        return ChatCascade(["openai/gpt-4o-mini", "openai/gpt-4o"], tracker=tracker)
    # Offline: the mock drafter says it is unsure (the rule checks reject hedging), the verifier answers.
    return ChatCascade(
        [
            ModelSpec("openai/gpt-4o-mini", params={"mock_response": "I'm not sure, it might be Paris."}),
            ModelSpec("openai/gpt-4o", params={"mock_response": "Paris."}),
        ],
        tracker=tracker,
    )


def main() -> None:
    tracker = CostTracker()
    llm = make_llm(tracker)  # was: llm = ChatOpenAI(model="gpt-4o")
    prompt = ChatPromptTemplate.from_messages([("system", "Answer in one word."), ("human", "{question}")])

    chain = prompt | llm | StrOutputParser()
    print(
        "answer:",
        chain.invoke(
            {"question": "What is the capital of France?"},
            config={"metadata": {"user_id": "alice"}, "tags": ["geo"]},
        ),
    )

    message = (prompt | llm).invoke({"question": "What is the capital of France?"})
    meta = message.response_metadata
    print(f"answered by {meta['model_name']} (escalated: {meta['escalated']})")
    print(f"cost ${meta['cost']:.6f}; the verifier alone: ${meta['verifier_cost'] or 0:.6f}")
    print("why:", "; ".join(meta["attempts"]))
    print("ledger:", tracker.totals("user"))


if __name__ == "__main__":
    main()
