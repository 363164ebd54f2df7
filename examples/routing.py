"""Routing from a YAML file: code, math and other questions take different paths; expert ones skip drafters.

Run: python examples/routing.py [--live]

Loads ``examples/routing.yaml`` with ``Cascade.from_config`` and prints, per query, the router's decisions
and why (``result.route``), then which tier answered. The last query comes from a user at 92 % of the
$5 daily budget set in the YAML, so the router degrades the plan to its cheapest tier. Offline (default)
the YAML's models answer through LiteLLM's ``mock_response``; ``--live`` calls them for real (needs
OPENAI_API_KEY and DEEPSEEK_API_KEY).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

from cascadeflow_core import Cascade, CascadeError, CostTracker, Draft, LiteLLMBackend, ModelSpec, Request

LIVE = "--live" in sys.argv
missing = [k for k in ("OPENAI_API_KEY", "DEEPSEEK_API_KEY") if not os.environ.get(k)]
if LIVE and missing:
    print(
        f"--live calls OpenAI and DeepSeek: set {' and '.join(missing)}, or run without --live (offline).",
        file=sys.stderr,
    )
    sys.exit(2)


class MockedLiteLLM(LiteLLMBackend):
    """Offline only: every model of the YAML answers "x = 5" through LiteLLM's mock_response."""

    def complete(self, spec: ModelSpec, request: Request) -> Draft:
        return super().complete(
            dataclasses.replace(spec, params={**spec.params, "mock_response": "x = 5"}), request
        )


QUERIES = [
    (
        "alice",
        "Why does my Python loop skip items?\n```python\nfor x in xs:\n    if x < 0:\n"
        "        xs.remove(x)\n```",
    ),
    ("alice", "Solve for x: 3x + 7 = 22"),
    ("alice", "Suggest a friendly name for a bakery."),
    (
        "alice",
        "Prove formally that a lock-free Michael-Scott queue is linearizable under concurrent "
        "enqueue and dequeue, and compare its memory-reclamation trade-offs with hazard pointers.",
    ),
    ("bob", "Suggest a friendly name for a bakery."),
]


def main() -> int:
    yaml_path = Path(__file__).with_name("routing.yaml")
    cascade = Cascade.from_config(yaml_path, **({} if LIVE else {"backend": MockedLiteLLM()}))
    tracker = cascade.tracker  # built from the YAML's tracker: section
    assert isinstance(tracker, CostTracker)
    tracker.record("openai/gpt-4o", cost=4.60, user="bob")  # bob: $4.60 of $5 spent today
    for user, query in QUERIES:
        print(f"[{user}] {query.splitlines()[0][:70]}")
        try:
            result = cascade.complete(query, user=user, max_tokens=300)
        except CascadeError as e:
            print(f"   failed: {type(e).__name__}: {e}\n")
            return 1
        for why in result.route:
            print(f"   route: {why}")
        print(f"   -> answered by tier {result.tier!r} ({result.model}), ${result.cost:.6f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
