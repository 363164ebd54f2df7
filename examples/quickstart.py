"""Quickstart: a three-tier cascade in ten lines, run sync, async and streaming.

Run: python examples/quickstart.py [--live]

Offline (default) each model answers with LiteLLM's ``mock_response``. ``--live`` calls OpenAI for real
(needs OPENAI_API_KEY).
"""

import asyncio
import os
import sys

from cascadeflow_core import AgreementValidator, Cascade, ModelSpec, Tier

LIVE = "--live" in sys.argv
if LIVE and not os.environ.get("OPENAI_API_KEY"):
    print("--live calls OpenAI: set OPENAI_API_KEY, or run without --live (offline).", file=sys.stderr)
    sys.exit(2)


def model(name: str, mock: str) -> ModelSpec:
    return ModelSpec(name) if LIVE else ModelSpec(name, params={"mock_response": mock})


cascade = Cascade(
    [
        Tier(
            [model("openai/gpt-4o-mini", "The answer is 18."), model("openai/gpt-3.5-turbo", "#### 19")],
            validator=AgreementValidator(),
            name="drafters",
        ),
        Tier([model("openai/gpt-4.1-mini", "18")], name="middle"),
        Tier([model("openai/gpt-4o", "She makes $18 a day.")], name="verifier"),
    ]
)

question = (
    "Janet's ducks lay 16 eggs per day. She eats three for breakfast and bakes muffins with four. "
    "She sells the rest for $2 each. How much does she make every day?"
)

result = cascade.complete(question)
print(result.explain())

print("\nasync:", asyncio.run(cascade.acomplete(question)).model)

print("stream: ", end="")
for event in cascade.stream(question):
    if event.type == "delta":
        print(event.text, end="", flush=True)
    elif event.type == "final":
        print(f"\n  -> {event.result.model}, ${event.result.cost:.6f}")
