"""What the built-in validators cost per draft: median microseconds per call.

* ``RuleValidator()`` (all five checks) on a 2 KB prose answer, a 2 KB JSON answer checked against a
  ``json_schema`` response format, and a tool-call answer checked against the tool's parameters.
* ``is_refusal`` / ``is_hedging`` alone on the 2 KB prose answer, and on a 20 KB one.
* ``AgreementValidator()`` (``extract="auto"``) on two 2 KB reasoning drafts that end in a number.

The texts are built from ordinary sentences (no refusal, no hedging: the checks scan the whole window).
For scale: one cheap-model call is hundreds of milliseconds, i.e. 10^5 times these figures.

Run from the repository root: ``python bench/bench_validators_text.py [--quick]``. Last line: ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from cascadeflow_core import AgreementValidator, Draft, Request, RuleValidator, ToolCall  # noqa: E402
from cascadeflow_core.validation._rules import is_hedging, is_refusal  # noqa: E402

SENTENCES = [
    "First we count the apples in each basket, which gives 12 and 17 respectively.",
    "Adding them, the farmer has 12 + 17 = 29 apples before the market opens.",
    "She sells a third of them in the morning, so about 10 are gone by noon.",
    "The train leaves at 9:40 and the journey takes two hours and fifteen minutes.",
    "Because the discount applies only to the second item, the saving is $4.50.",
    "We can check the result by working backwards from the final amount.",
    "Each worker paints 3 rooms a day, and there are 4 workers on the team.",
]
SCHEMA = {
    "type": "object",
    "required": ["name", "items", "total"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "total": {"type": "number", "minimum": 0},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sku", "qty"],
                "properties": {
                    "sku": {"type": "string", "pattern": "^[A-Z]{3}-\\d+$"},
                    "qty": {"type": "integer", "minimum": 1},
                },
            },
        },
    },
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "required": ["city"],
                "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["C", "F"]}},
            },
        },
    }
]


def prose(n_bytes: int, rng: random.Random, ending: str) -> str:
    out: list[str] = []
    while sum(len(s) + 1 for s in out) < n_bytes - len(ending):
        out.append(rng.choice(SENTENCES))
    return " ".join(out)[: n_bytes - len(ending) - 1] + " " + ending


def json_answer(n_bytes: int, rng: random.Random) -> str:
    items = []
    while len(json.dumps(items)) < n_bytes - 60:
        items.append({"sku": f"ABC-{rng.randint(1, 9999)}", "qty": rng.randint(1, 9)})
    return json.dumps({"name": "order 17", "items": items, "total": 129.5})


def median_us(fn: Callable[[], object], n: int) -> float:
    for _ in range(min(50, n)):
        fn()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n = 500 if args.quick else 3000
    rng = random.Random(11)
    rules = RuleValidator()
    text2k = prose(2048, rng, "So the answer is 29.")
    text20k = prose(20480, rng, "So the answer is 29.")
    plain = Request("How many apples?")
    structured = Request(
        "Order as JSON",
        response_format={"type": "json_schema", "json_schema": {"name": "order", "schema": SCHEMA}},
    )
    agent = Request("Weather in Paris?", tools=TOOLS, tool_choice="required")
    prose_draft = [Draft("m", text2k, finish_reason="stop")]
    json_draft = [Draft("m", json_answer(2048, rng), finish_reason="stop")]
    tool_draft = [
        Draft(
            "m",
            "",
            tool_calls=(ToolCall("c1", "get_weather", '{"city": "Paris", "unit": "C"}'),),
            finish_reason="tool_calls",
        )
    ]
    assert rules(prose_draft, plain).accept and rules(json_draft, structured).accept
    assert rules(tool_draft, agent).accept
    pair = [Draft("a", text2k), Draft("b", prose(2048, rng, "The farmer ends with 29 apples."))]
    agreement = AgreementValidator()
    assert agreement(pair, plain).accept
    result = {
        "rules_prose_2kb_us": median_us(lambda: rules(prose_draft, plain), n),
        "rules_json_schema_2kb_us": median_us(lambda: rules(json_draft, structured), n),
        "rules_tool_call_us": median_us(lambda: rules(tool_draft, agent), n),
        "is_refusal_2kb_us": median_us(lambda: is_refusal(text2k), n),
        "is_hedging_2kb_us": median_us(lambda: is_hedging(text2k), n),
        "is_hedging_20kb_us": median_us(lambda: is_hedging(text20k), n),
        "agreement_two_2kb_us": median_us(lambda: agreement(pair, plain), n),
    }
    result = {k: round(v, 1) for k, v in result.items()}
    width = max(map(len, result))
    print(f"median microseconds per call, {n} calls each:")
    for k, v in result.items():
        print(f"  {k:<{width}} {v:9.1f}")
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
