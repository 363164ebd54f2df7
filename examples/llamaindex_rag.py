"""A LlamaIndex RAG app whose LLM is a cascade: cheap model first, the strong one only when needed.

Run: python examples/llamaindex_rag.py [--live]

The switch is one line: ``Settings.llm = CascadeLLM([...])`` where the app had ``Settings.llm = OpenAI(...)``.
``CascadeTraceHandler`` then shows what each answer cost and why it was (or was not) escalated.

Offline by default: LiteLLM's mock responses stand in for the providers (the cheap model hedges on
the first question, so that one escalates), and a small hashing embedding replaces an embedding API.
``--live`` calls gpt-4o-mini, then gpt-4o when the cheap answer fails validation (needs OPENAI_API_KEY).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import sys
from typing import Any

from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding

from cascadeflow_core import ModelSpec
from cascadeflow_llamaindex import CascadeLLM, CascadeTraceHandler

LIVE = "--live" in sys.argv
if LIVE and not os.environ.get("OPENAI_API_KEY"):
    print("--live calls OpenAI: set OPENAI_API_KEY, or run without --live (offline).", file=sys.stderr)
    sys.exit(2)

DOCS = [
    "The Eiffel Tower in Paris is 330 metres tall and was completed in 1889.",
    "CascadeFlow answers each request with the cheapest model whose answer passes validation.",
    "A validator checks a draft; when the check fails, the request escalates to a stronger model.",
    "GSM8K is a dataset of 8.5K grade-school math word problems.",
]
QUESTIONS = ["How tall is the Eiffel Tower?", "What does CascadeFlow do?"]


class HashEmbedding(BaseEmbedding):
    """A small deterministic bag-of-words embedding (offline; no model download)."""

    dim: int = 256

    def _vec(self, text: str) -> list[float]:
        v = [0.0] * self.dim
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            v[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norm = math.sqrt(sum(x * x for x in v)) or 1.0
        return [x / norm for x in v]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vec(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vec(text)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vec(query)


def tiers() -> list[Any]:
    if LIVE:
        return ["openai/gpt-4o-mini", "openai/gpt-4o"]
    # Offline: canned answers. The cheap model's first answer hedges, so the validator escalates it.
    cheap = ModelSpec("openai/gpt-4o-mini", params={"mock_response": "I'm not sure, I cannot answer that."})
    strong = ModelSpec("openai/gpt-4o", params={"mock_response": "The Eiffel Tower is 330 metres tall."})
    return [cheap, strong]


def main() -> None:
    Settings.embed_model = HashEmbedding()
    # Before: Settings.llm = OpenAI(model="gpt-4o")
    Settings.llm = CascadeLLM(tiers())  # <- the one line that changes
    index = VectorStoreIndex.from_documents([Document(text=t) for t in DOCS])
    engine = index.as_query_engine(similarity_top_k=2)

    for question in QUESTIONS[: None if LIVE else 1]:
        with CascadeTraceHandler().attached() as trace:
            answer = engine.query(question)
        result = trace.results[-1]
        print(f"Q: {question}\nA: {answer}")
        alone = "unknown" if trace.verifier_cost is None else f"${trace.verifier_cost:.6f}"
        print(
            f"   cost ${trace.cost:.6f} (verifier alone {alone}), "
            f"answered by {result.model}{' after escalation' if result.escalated else ''}"
        )
        for attempt in result.attempts:
            print(f"   - {attempt.describe()}")


if __name__ == "__main__":
    main()
