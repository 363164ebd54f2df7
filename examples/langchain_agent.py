"""A LangChain tool-calling agent (``langchain.agents.create_agent``) whose model is a cascade.

Run: python examples/langchain_agent.py [--live]

Offline by default: the two tiers are served by a real local OpenAI-compatible HTTP server
(``cascadeflow_core.testing.OpenAICompatServer``) scripted to behave like a tool-using model: the cheap
model first proposes a call to a tool that does not exist (the cascade's validators reject it and
escalate), the strong model calls ``add``, the agent executes it, and the cheap model words the answer.
``--live`` runs the same agent on gpt-4o-mini -> gpt-4o (needs OPENAI_API_KEY).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import AIMessage
from langchain_core.tools import tool

from cascadeflow_core import ModelSpec
from cascadeflow_core.testing import OpenAICompatServer, Reply
from cascadeflow_langchain import ChatCascade

LIVE = "--live" in sys.argv
if LIVE and not os.environ.get("OPENAI_API_KEY"):
    print("--live calls OpenAI: set OPENAI_API_KEY, or run without --live (offline).", file=sys.stderr)
    sys.exit(2)


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def scripted(model: str, messages: list[dict[str, Any]], body: dict[str, Any]) -> Reply:
    """A stand-in for a tool-using model (offline only)."""
    if messages[-1]["role"] == "tool":
        return Reply(f"The sum is {messages[-1]['content']}.")
    if model == "small":
        return Reply("", tool_calls=({"name": "calculator", "arguments": {"expression": "2+3"}},))
    a, b = (int(n) for n in re.findall(r"\d+", messages[-1]["content"])[:2])
    return Reply("", tool_calls=({"name": "add", "arguments": {"a": a, "b": b}},))


@contextlib.contextmanager
def cascade_llm() -> Iterator[ChatCascade]:
    if LIVE:
        yield ChatCascade(["openai/gpt-4o-mini", "openai/gpt-4o"])
        return
    with OpenAICompatServer(replies=scripted) as server:
        # Local models have no list price: give them gpt-4o-mini's and gpt-4o's, so the costs mean something.
        yield ChatCascade(
            [
                ModelSpec("openai/small", input_cost_per_token=0.15e-6, output_cost_per_token=0.6e-6),
                ModelSpec("openai/large", input_cost_per_token=2.5e-6, output_cost_per_token=10e-6),
            ],
            base_url=server.base_url,
            api_key="local",
        )


def main() -> None:
    with cascade_llm() as llm:  # was: llm = ChatOpenAI(model="gpt-4o")
        agent = create_agent(model=llm, tools=[add], system_prompt="Use the tools to compute.")
        result = agent.invoke({"messages": [("user", "What is 2 + 3?")]})
    total = 0.0
    for m in result["messages"]:
        if isinstance(m, AIMessage):
            meta = m.response_metadata
            total += meta["cost"]
            what = f"tool calls {[c['name'] for c in m.tool_calls]}" if m.tool_calls else repr(m.content)
            print(f"{meta['model_name']:>22}: {what}  (escalated: {meta['escalated']}, ${meta['cost']:.6f})")
            for line in meta["attempts"]:
                print(f"{'':>24}- {line}")
    print("final answer:", result["messages"][-1].content, f"(total ${total:.6f})")


if __name__ == "__main__":
    main()
