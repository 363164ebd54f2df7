"""Field-by-field agreement: answer shapes, JSON answers, per-field rules."""

from __future__ import annotations

import json

import pytest

from cascadeflow_core import AgreementValidator, AnswerShape, ConfigError, Draft, InputError, Request
from cascadeflow_core.validation._shape import shape_key, value_key


def _json_shape(*fields: str, **rules: str) -> AnswerShape:
    return AnswerShape(json.loads, fields=fields, rules=rules)


def _agree(texts: list[str], request: Request, v: AgreementValidator | None = None) -> bool:
    return (v or AgreementValidator())([Draft(f"m{i}", t) for i, t in enumerate(texts)], request).accept


def test_shaped_answers_agree_on_compared_fields_only() -> None:
    req = Request("q", answer_shape=_json_shape("answer"))
    assert _agree(['{"why": "a", "answer": "Paris"}', '{"why": "b", "answer": "paris."}'], req)
    assert not _agree(['{"why": "a", "answer": "Paris"}', '{"why": "a", "answer": "Lyon"}'], req)


def test_a_draft_missing_a_field_never_agrees() -> None:
    req = Request("q", answer_shape=_json_shape("answer", "unit"))
    assert not _agree(['{"answer": "3"}', '{"answer": "3"}'], req)
    assert not _agree(["not json", "not json"], req)


def test_per_field_rules_from_the_shape_and_the_validator() -> None:
    req = Request("q", answer_shape=_json_shape("answer", answer="number"))
    assert _agree(['{"answer": "about 1,248 apples"}', '{"answer": "1248"}'], req)
    exact = AgreementValidator(field_rules={"answer": "exact"})
    assert not _agree(['{"answer": "Paris"}', '{"answer": "paris"}'], req, exact)
    with pytest.raises(ConfigError, match="field_rules"):
        AgreementValidator(field_rules={"answer": "nonsense"})


def test_json_answers_compare_the_parsed_object_canonically() -> None:
    req = Request("q", response_format={"type": "json_object"})
    a = '{"name": "Paris", "population": 2100000, "tags": ["Capital"]}'
    b = '```json\n{"tags": ["capital"], "population": 2.1e6, "name": "paris"}\n```'
    assert _agree([a, b], req)
    assert not _agree([a, '{"name": "Paris", "population": 2100001, "tags": ["capital"]}'], req)
    ignore_pop = AgreementValidator(field_rules={"population": lambda v: "any"})
    assert _agree([a, '{"name": "Paris", "population": 1, "tags": ["capital"]}'], req, ignore_pop)


def test_answer_rule_extracts_short_answers_and_compares_long_text_whole() -> None:
    assert value_key("The answer is 391.", "answer") == value_key("391", "answer")
    one = "The city grew quickly in the decades after the war and its population doubled by 2020."
    two = "Historians disagree about the causes, but the first census with reliable numbers was in 2020."
    assert value_key(one, "answer") != value_key(two, "answer")
    assert value_key({"b": 1, "a": "X"}, "answer") == value_key({"a": "x", "b": 1.0}, "answer")


def test_a_parser_that_raises_gives_no_key() -> None:
    def boom(text: str) -> dict[str, str]:
        raise RuntimeError(text)

    assert shape_key("x", AnswerShape(boom)) is None


def test_answer_shape_is_checked_and_not_sent_to_the_provider() -> None:
    with pytest.raises(ConfigError):
        AnswerShape("not callable")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        Request("q", answer_shape={"fields": ["answer"]})  # type: ignore[arg-type]
    req = Request("q", answer_shape=_json_shape("answer"))
    assert "answer_shape" not in req.provider_kwargs() and req == Request("q")
