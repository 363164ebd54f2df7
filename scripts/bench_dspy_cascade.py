"""DSPy ``Evaluate`` of Predict, ChainOfThought and ReAct over a two-drafter cascade, against the strong
model alone, on the project's local scripted OpenAI-compatible server (no network, no key).

``python scripts/bench_dspy_cascade.py [n]`` prints, per program: accuracy, escalation rate (share of LM
calls answered by the strong tier), cascade cost and the strong model's cost alone. Uses only the public
API, so the same script measures any version of the library (run it with ``PYTHONPATH`` on a checkout).

The script: questions "What is A times B?"; two cheap drafters (gpt-4o-mini prices) answer in DSPy's
format with their own reasoning wording; on every fifth question drafter B gets the product wrong (and
in ReAct calls the tool with a wrong argument), so agreement must escalate exactly those; the strong
model (gpt-4o prices) is always right.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import dspy

from cascadeflow_core import Cascade, ModelSpec, Tier
from cascadeflow_core.testing import OpenAICompatServer
from cascadeflow_dspy import CascadeLM

CHEAP = {"input_cost_per_token": 0.15e-6, "output_cost_per_token": 0.6e-6}
STRONG = {"input_cost_per_token": 2.5e-6, "output_cost_per_token": 10e-6}
_FIELDS = re.compile(r"`\[\[ ## (\w+) ## \]\]`")
_Q = re.compile(r"What is (\d+) times (\d+)\?")


def _last_user(messages: list[dict[str, Any]]) -> str:
    return next((str(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")


def _reply(model: str, messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
    text = _last_user(messages)
    fields = [f for f in _FIELDS.findall(text) if f != "completed"]
    m = _Q.search(text)
    a, b = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    wrong = model.endswith("drafter-b") and a % 5 == 0
    product = a * b + (1 if wrong else 0)
    who = {"drafter-a": "I multiply", "drafter-b": "Multiplying the two", "strong": "Compute"}
    style = next(v for k, v in who.items() if model.endswith(k))
    values: dict[str, Any] = {}
    for f in fields:
        if f == "next_tool_name":
            values[f] = "finish" if "observation_0" in text else "multiply"
        elif f == "next_tool_args":
            args = {"b": b, "a": a + (1 if wrong else 0)} if model.endswith("drafter-b") else {"a": a, "b": b}
            values[f] = {} if "observation_0" in text else args
        elif f in ("reasoning", "next_thought"):
            values[f] = f"{style} {a} by {b}."
        elif f == "answer":
            obs = re.search(r"observation_0 ## \]\]\n(\d+)", text)
            values[f] = obs.group(1) if obs and not wrong else str(product)
        else:
            values[f] = ""
    body_text = "".join(
        f"[[ ## {k} ## ]]\n{v if isinstance(v, str) else json.dumps(v)}\n\n" for k, v in values.items()
    )
    return body_text + "[[ ## completed ## ]]"


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def _programs() -> dict[str, Any]:
    return {
        "Predict": dspy.Predict("question -> answer"),
        "ChainOfThought": dspy.ChainOfThought("question -> answer"),
        "ReAct": dspy.ReAct("question -> answer", tools=[multiply]),
    }


def _run(lm: CascadeLM, program: Any, devset: list[Any]) -> dict[str, float]:
    lm.history.clear()
    metric = lambda ex, pred, trace=None: str(pred.answer).strip() == ex.answer  # noqa: E731
    with dspy.context(lm=lm):
        result = dspy.Evaluate(devset=devset, metric=metric, num_threads=1, display_progress=False)(program)
    escalated = sum(1 for e in lm.history if (e.get("cascade") or {}).get("escalated"))
    return {
        "accuracy": float(result.score) / 100 if float(result.score) > 1 else float(result.score),
        "calls": len(lm.history),
        "escalation_rate": escalated / max(1, len(lm.history)),
        "cost": sum(e.get("cost") or 0.0 for e in lm.history),
    }


def main(n: int = 20) -> None:
    devset = [
        dspy.Example(question=f"What is {a} times {a + 7}?", answer=str(a * (a + 7))).with_inputs("question")
        for a in range(11, 11 + n)
    ]
    with OpenAICompatServer(replies=_reply) as server:

        def spec(name: str, prices: dict[str, float]) -> ModelSpec:
            return ModelSpec(f"openai/{name}", api_base=server.base_url, api_key="local", **prices)

        cascade = Cascade(
            [Tier([spec("drafter-a", CHEAP), spec("drafter-b", CHEAP)]), Tier([spec("strong", STRONG)])]
        )
        alone = Cascade([Tier([spec("strong", STRONG)])])
        rows = {}
        for name, program in _programs().items():
            c = _run(CascadeLM(cascade, cache=False), program, devset)
            s = _run(CascadeLM(alone, cache=False), program, devset)
            rows[name] = {"cascade": c, "strong_alone": s}
            print(
                f"{name:15s} acc {c['accuracy']:.2f} (strong {s['accuracy']:.2f})  calls {c['calls']:3d}  "
                f"escalated {c['escalation_rate']:.0%}  cost ${c['cost']:.5f} vs strong alone ${s['cost']:.5f} "
                f"({c['cost'] / s['cost']:.0%})"
            )
    print(json.dumps(rows))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
