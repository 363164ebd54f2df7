"""A DSPy program evaluated on a small dev set, answered by a cascade instead of one model.

Run: python examples/dspy_program.py [--live]

The switch is one line: ``dspy.configure(lm=CascadeLM([...]))`` where the program had ``dspy.LM(...)``.
Every prediction then carries its cost (``get_lm_usage()``) and the cascade's routing reasons (history).

Offline by default: two toy local "models" stand in for the providers (the cheap one can add but not
multiply; the strong one can do both), so the run is free and deterministic. ``--live`` calls
gpt-4o-mini, then gpt-4o when the cheap answer fails validation (needs OPENAI_API_KEY).
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

import dspy

from cascadeflow_core import Draft, ModelSpec, Request
from cascadeflow_dspy import CascadeLM

LIVE = "--live" in sys.argv
if LIVE and not os.environ.get("OPENAI_API_KEY"):
    print("--live calls OpenAI: set OPENAI_API_KEY, or run without --live (offline).", file=sys.stderr)
    sys.exit(2)


class ToyArithmetic:
    """An offline ``ModelBackend``: answers "a + b" / "a * b" questions in DSPy's chat format.

    ``can_multiply=False`` makes it say "I don't know" to products, as a weak model would.
    """

    def __init__(self, can_multiply: bool) -> None:
        self.can_multiply = can_multiply

    def complete(self, spec: ModelSpec, request: Request) -> Draft:
        m = re.search(r"(\d+)\s*([+*x])\s*(\d+)", request.last_user_text)
        if m is None or (m.group(2) != "+" and not self.can_multiply):
            answer = "I don't know."
        else:
            a, b = int(m.group(1)), int(m.group(3))
            answer = str(a + b if m.group(2) == "+" else a * b)
        text = f"[[ ## reasoning ## ]]\nCompute it.\n\n[[ ## answer ## ]]\n{answer}\n\n[[ ## completed ## ]]"
        tokens_in, tokens_out = len(request.last_user_text) // 4, len(text) // 4
        return Draft(
            model=spec.label,
            text=text,
            finish_reason="stop",
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost=tokens_in * (spec.input_cost_per_token or 0)
            + tokens_out * (spec.output_cost_per_token or 0),
        )

    async def acomplete(self, spec: ModelSpec, request: Request) -> Draft:
        return self.complete(spec, request)

    def stream(self, spec: ModelSpec, request: Request) -> Any:
        yield self.complete(spec, request)

    async def astream(self, spec: ModelSpec, request: Request) -> Any:
        yield self.complete(spec, request)


def tiers() -> list[Any]:
    if LIVE:
        return ["openai/gpt-4o-mini", "openai/gpt-4o"]
    return [  # list prices of the real models, so the offline figures are in the right proportion
        ModelSpec(
            "openai/gpt-4o-mini",
            input_cost_per_token=0.15e-6,
            output_cost_per_token=0.6e-6,
            backend=ToyArithmetic(can_multiply=False),
        ),
        ModelSpec(
            "openai/gpt-4o",
            input_cost_per_token=2.5e-6,
            output_cost_per_token=10e-6,
            backend=ToyArithmetic(can_multiply=True),
        ),
    ]


def has_number(example: Any, pred: Any, trace: Any = None) -> bool:
    return str(example.answer) == str(pred.answer).strip()


def main() -> None:
    devset = [
        dspy.Example(question=q, answer=a).with_inputs("question")
        for q, a in [
            ("What is 12 + 30?", "42"),
            ("What is 6 * 7?", "42"),
            ("What is 100 + 23?", "123"),
            ("What is 9 * 9?", "81"),
            ("What is 250 + 250?", "500"),
        ]
    ]
    # Before: dspy.configure(lm=dspy.LM("openai/gpt-4o"))
    dspy.configure(lm=CascadeLM(tiers(), cache=False), track_usage=True)  # <- the one line that changes

    program = dspy.ChainOfThought("question -> answer")
    result = dspy.Evaluate(devset=devset, metric=has_number, num_threads=1)(program)
    lm = dspy.settings.lm
    spent = sum(e["cost"] for e in lm.history)
    alone_each = [e["cascade"]["verifier_cost"] for e in lm.history]
    alone = "unknown" if None in alone_each else f"${sum(alone_each):.6f}"
    escalated = sum(e["cascade"]["escalated"] for e in lm.history)
    print(
        f"score {result.score:.0f}% on {len(devset)} questions; cost ${spent:.6f} "
        f"(verifier alone {alone}); escalated {escalated}/{len(lm.history)}"
    )

    pred = program(question="What is 8 * 8?")
    trace = lm.history[-1]["cascade"]
    print(f"\n8 * 8 = {pred.answer}; usage {pred.get_lm_usage()}")
    for attempt in trace["attempts"]:
        print(f"  {attempt['tier']}/{attempt['model']}: {attempt['status']} {'; '.join(attempt['reasons'])}")


if __name__ == "__main__":
    main()
