"""Two-drafter tiers under real DSPy modules compare the signature's answer fields, not the raw text."""

from __future__ import annotations

import json
from typing import Any

import pytest

dspy = pytest.importorskip("dspy")

from cascadeflow_core import Cascade, ModelSpec, Request, Tier  # noqa: E402
from cascadeflow_dspy import CascadeLM  # noqa: E402
from cascadeflow_dspy._shape import answer_shape, output_fields, parse_fields  # noqa: E402
from tests.support.li_dspy import STRONG, FnBackend, dspy_reply, requested_fields  # noqa: E402

A, B = "openai/draft-a", "openai/draft-b"


def _lm(reply: Any) -> tuple[CascadeLM, FnBackend]:
    backend = FnBackend(reply)

    def spec(model: str, price: float) -> ModelSpec:
        return ModelSpec(model, input_cost_per_token=price, output_cost_per_token=price, backend=backend)

    cascade = Cascade([Tier([spec(A, 1e-7), spec(B, 1e-7)]), Tier([spec(STRONG, 1e-5)])])
    return CascadeLM(cascade, cache=False), backend


def _strong_calls(backend: FnBackend) -> int:
    return sum(1 for label, _ in backend.calls if label == STRONG)


def _fields_reply(per_model: dict[str, dict[str, Any]]) -> Any:
    def reply(label: str, request: Request) -> str:
        values = per_model.get(label) or per_model["*"]
        if request.response_format is not None:  # JSONAdapter
            return json.dumps({f: values[f] for f in requested_fields(request) or values})
        return dspy_reply({f: values[f] for f in requested_fields(request)})

    return reply


def test_chain_of_thought_with_identical_drafts_is_accepted_by_the_drafters() -> None:
    lm, backend = _lm(_fields_reply({"*": {"reasoning": "17*23 = 391.", "answer": "391"}}))
    with dspy.context(lm=lm):
        pred = dspy.ChainOfThought("question -> answer")(question="17*23?")
    assert pred.answer == "391"
    assert _strong_calls(backend) == 0
    assert lm.history[-1]["cascade"]["tier"] == "tier1"


def test_chain_of_thought_ignores_reasoning_and_compares_the_answer() -> None:
    lm, backend = _lm(
        _fields_reply(
            {
                A: {"reasoning": "Multiply.", "answer": "391"},
                B: {"reasoning": "20*17 + 3*17 = 340 + 51.", "answer": "The answer is 391."},
                STRONG: {"reasoning": "x", "answer": "391"},
            }
        )
    )
    with dspy.context(lm=lm):
        dspy.ChainOfThought("question -> answer")(question="17*23?")
    assert _strong_calls(backend) == 0


def test_chain_of_thought_with_different_answers_escalates() -> None:
    lm, backend = _lm(
        _fields_reply(
            {
                A: {"reasoning": "Same.", "answer": "391"},
                B: {"reasoning": "Same.", "answer": "392"},
                STRONG: {"reasoning": "x", "answer": "391"},
            }
        )
    )
    with dspy.context(lm=lm):
        pred = dspy.ChainOfThought("question -> answer")(question="17*23?")
    assert pred.answer == "391" and _strong_calls(backend) == 1


def test_multi_output_predict_compares_every_output_field() -> None:
    same = {"city": "Paris", "country": "France"}
    lm, backend = _lm(_fields_reply({"*": same}))
    with dspy.context(lm=lm):
        dspy.Predict("question -> city, country")(question="Where is the Louvre?")
    assert _strong_calls(backend) == 0
    lm, backend = _lm(_fields_reply({A: same, B: {"city": "Paris", "country": "Texas"}, STRONG: same}))
    with dspy.context(lm=lm):
        dspy.Predict("question -> city, country")(question="Where is the Louvre?")
    assert _strong_calls(backend) == 1


def test_json_adapter_output_is_compared_by_field() -> None:
    lm, backend = _lm(
        _fields_reply(
            {
                A: {"reasoning": "a", "answer": "391"},
                B: {"reasoning": "b", "answer": "391"},
                STRONG: {"reasoning": "s", "answer": "391"},
            }
        )
    )
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        pred = dspy.ChainOfThought("question -> answer")(question="17*23?")
    assert pred.answer == "391" and _strong_calls(backend) == 0


def test_xml_adapter_output_is_compared_by_field() -> None:
    def reply(label: str, request: Request) -> str:
        answer = "392" if label == B else "391"
        return f"<reasoning>\n{label} thinks\n</reasoning>\n<answer>\n{answer}\n</answer>"

    lm, backend = _lm(reply)
    with dspy.context(lm=lm, adapter=dspy.XMLAdapter()):
        pred = dspy.ChainOfThought("question -> answer")(question="17*23?")
    assert pred.answer == "391" and _strong_calls(backend) == 1  # B disagreed
    lm, backend = _lm(lambda label, request: "<reasoning>\nx\n</reasoning>\n<answer>\n391\n</answer>")
    with dspy.context(lm=lm, adapter=dspy.XMLAdapter()):
        dspy.ChainOfThought("question -> answer")(question="17*23?")
    assert _strong_calls(backend) == 0


def _react_reply(args_b: dict[str, int]) -> Any:
    def reply(label: str, request: Request) -> str:
        fields = requested_fields(request)
        if "next_tool_name" in fields:
            if "observation_0" in request.last_user_text:
                return dspy_reply(
                    {"next_thought": f"{label} done", "next_tool_name": "finish", "next_tool_args": {}}
                )
            args = args_b if label == B else {"a": 6, "b": 7}
            return dspy_reply(
                {"next_thought": f"{label} thinks", "next_tool_name": "multiply", "next_tool_args": args}
            )
        return dspy_reply({"reasoning": f"{label} reasons", "answer": "42"})

    return reply


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def test_react_compares_tool_name_and_args_not_thoughts() -> None:
    lm, backend = _lm(_react_reply({"b": 7, "a": 6}))  # same args, other key order, other thoughts
    with dspy.context(lm=lm):
        pred = dspy.ReAct("question -> answer", tools=[multiply])(question="6 times 7?")
    assert pred.answer == "42" and _strong_calls(backend) == 0
    lm, backend = _lm(_react_reply({"a": 6, "b": 8}))
    with dspy.context(lm=lm):
        dspy.ReAct("question -> answer", tools=[multiply])(question="6 times 7?")
    assert _strong_calls(backend) == 1  # only the step where the args differ escalated


def test_shape_is_read_from_the_prompt_dspy_wrote() -> None:
    system = (
        "Your input fields are:\n1. `question` (str):\nYour output fields are:\n1. `reasoning` (str): \n"
        "2. `answer` (str): the final\n   answer\n3. `confidence` (float):\nAll interactions will be "
        "structured in the following way\n1. `not_a_field` (str)"
    )
    messages = [{"role": "system", "content": system}, {"role": "user", "content": "q"}]
    assert output_fields(messages) == ("reasoning", "answer", "confidence")
    shape = answer_shape(messages)
    assert shape is not None and shape.fields == ("answer", "confidence")
    assert answer_shape([{"role": "user", "content": "plain chat"}]) is None
    text = '[[ ## reasoning ## ]]\nr\n\n[[ ## next_tool_args ## ]]\n{"a": 1}\n\n[[ ## completed ## ]]'
    assert parse_fields(text) == {"reasoning": "r", "next_tool_args": {"a": 1}}
    assert parse_fields('Sure: {"answer": "4"}') == {"answer": "4"}
    assert parse_fields("no fields") is None
