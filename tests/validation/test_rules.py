"""Rule checks: refusal, hedging and requested-format detection, alone and through RuleValidator."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cascadeflow_core import Draft, Request, RuleValidator, SchemaValidator, ToolCall
from cascadeflow_core.validation._rules import is_hedging, is_refusal, malformed_format

REFUSALS = [
    "I'm sorry, but I can't help with that.",
    "I\u2019m sorry, but I can\u2019t help with that request.",  # curly apostrophes
    "I cannot assist with creating malware.",
    "I can't provide instructions for that.",
    "As an AI language model, I don't have personal opinions.",
    "As an AI, I cannot browse the internet.",
    "I must decline this request.",
    "I must respectfully decline.",
    "Unfortunately, I can't share that information.",
    "It's not appropriate for me to speculate about someone's health.",
    "This request violates my usage policies.",
    "Writing that would go against my guidelines.",
    "Sorry, but I won't be able to help with that.",
    "I'm afraid I can't do that, Dave.",
    "I am unable to comply with this request.",
    "I'm not able to provide medical diagnoses.",
    "I'm sorry, but I don't have access to real-time data.",
    "I apologize, but I cannot generate that content.",
    "I won't help with that.",
    "I'm not comfortable providing that kind of advice.",
    "We cannot assist with this request.",
    "I cannot in good conscience help with that.",
    "Sure.\n\nI can't help with that part, though.",  # a later sentence, still in the opening
    "**I cannot provide that.**",
    "I don't have personal experiences or beliefs, so I can't provide an answer based on personal observation.",
    "I do not have access to real-time data, so I cannot provide the crime rates for your area.",
    "As an AI language model, I cannot help with that, but I can suggest resources.",
    "As an AI language model, I don't have feelings.",
    "Lo siento, pero no puedo ayudar con eso.",
    "No puedo proporcionar esa información.",
    "Como modelo de lenguaje, no puedo opinar.",
    "Je suis désolé, mais je ne peux pas vous aider avec cela.",
    "Désolé, je ne peux pas répondre à cette question.",
    "En tant qu'IA, je ne peux pas accéder à internet.",
    "Es tut mir leid, aber ich kann Ihnen dabei nicht helfen.",
    "Ich kann Ihnen dabei leider nicht helfen.",
    "Leider kann ich diese Anfrage nicht erfüllen.",
    "Als KI kann ich keine medizinischen Ratschläge geben.",
]
NOT_REFUSALS = [
    "I'm sorry to hear that, here is a recipe that might cheer you up.",
    "I can't stress enough how important sleep is.",
    "I cannot recommend it highly enough.",
    "You can't divide by zero, so the expression is undefined.",
    "I'm sorry for the confusion; the answer is 42.",
    "I can't help but notice the pattern: 2, 4, 8.",
    "I can't wait to help you plan the trip! Day 1: Paris.",
    "Many people can't afford insurance.",
    "Sorry for the delay! The capital is Paris.",
    "As an AI, I can tell you the answer is 7.",
    "Here is the code:\n```python\nprint('I cannot help')\n```",
    "The user said 'I cannot help you'. Then the story continues.",
    "Unfortunately, the store is closed on Sundays.",
    "As an AI, I don't have personal opinions, but here are the main arguments: cost and speed.",
    "I don't have access to live prices, but as of 2023 it cost about $3.",
    "The shop was closed, so I went home.",
    "I won't bore you with details: it is 12.",
    "Ich kann nicht genug betonen, wie wichtig das ist.",
    "No se puede dividir por cero; el resultado no está definido.",
    "Je ne peux pas m'empêcher de rire. La réponse est 4.",
    "The answer is 42.",
    "",
    "x" * 400 + " I can't help with that.",  # past the opening: not a refusal of the request
]
HEDGES = [
    "I'm not sure, but I think it's Paris.",
    "I\u2019m not sure.",
    "I am not entirely certain, but 42.",
    "I'm not 100% sure about this.",
    "I'm unsure which one is correct.",
    "The answer is 12, but I might be wrong.",
    "My best guess is 1848.",
    "If I had to guess, I'd say 7.",
    "I don't know.",
    "Hmm, I don't really know.",
    "Not sure. Maybe 4?",
    "I have no idea.",
    "I can't be certain, but it's probably B.",
    "Correct me if I'm wrong, but it's 3.",
    "I think it might be 7.",
    "It's hard for me to say without the data.",
    "I don't have enough information to answer.",
    "No estoy seguro, pero creo que es 4.",
    "Je ne suis pas sûr de la réponse.",
    "Ich bin mir nicht sicher, vielleicht 4.",
    "Long reasoning. " * 400 + "So 42, though I'm not sure.",  # the end of a long answer is read too
]
NOT_HEDGES = [
    "Scientists are not sure whether dark matter exists.",
    "If you're not sure, consult a doctor.",
    "I'm sure the answer is 4.",
    "Make sure to save your work.",
    "Nobody knows who wrote it; the answer is unknown to historians.",
    "It is not certain that it will rain.",
    'The song "I Don\'t Know" was released in 1992.',
    "You might be wrong about that: it is 4.",
    "Unknown variables: x and y. Solve: x = 2.",
    "No se puede hacer eso.",
    "I'm not sure if you've tried restarting; do that first.",
    "It is uncertain how many died in the flood.",
    "The answer is 42.",
    "",
]


@pytest.mark.parametrize("text", REFUSALS)
def test_refusals_are_found(text):
    assert is_refusal(text)


@pytest.mark.parametrize("text", NOT_REFUSALS)
def test_apologies_figures_of_speech_and_quotes_are_not_refusals(text):
    assert not is_refusal(text)


@pytest.mark.parametrize("text", HEDGES)
def test_first_person_uncertainty_is_hedging(text):
    assert is_hedging(text)


@pytest.mark.parametrize("text", NOT_HEDGES)
def test_uncertainty_in_the_content_is_not_hedging(text):
    assert not is_hedging(text)


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "required": ["city"],
            "additionalProperties": False,
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["C", "F"]}},
        },
    },
}
SEARCH = {"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}
BROKEN = {
    "type": "function",
    "function": {"name": "broken", "parameters": {"type": "no-such-type", "properties": 7}},
}
NAMED = {"type": "function", "function": {"name": "get_weather"}}
SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "person",
        "schema": {
            "type": "object",
            "required": ["name", "age"],
            "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
        },
    },
}


def call(name: str, arguments: str) -> ToolCall:
    return ToolCall("c1", name, arguments)


@pytest.mark.parametrize(
    ("tool_calls", "tool_choice", "expected"),
    [
        ([call("get_weather", '{"city": "Paris"}')], None, None),
        ([call("get_weather", '{"city": "Paris", "unit": "C"}')], "required", None),
        ([call("get_weather", '{"city": "Paris"}')], NAMED, None),
        ([call("search", "")], "auto", None),  # no arguments at all: an empty object
        (
            [call("get_wether", '{"city": "Paris"}')],
            None,
            "tool call names unknown tool 'get_wether' (bound: broken, get_weather, search)",
        ),
        (
            [call("get_weather", '{"city": "Paris"')],
            None,
            "tool call 'get_weather' arguments are not valid JSON",
        ),
        ([call("get_weather", '["Paris"]')], None, "tool call 'get_weather' arguments are not a JSON object"),
        (
            [call("get_weather", '{"unit": "C"}')],
            None,
            "arguments do not fit its parameters: 'city' is a required",
        ),
        (
            [call("get_weather", '{"city": "Paris", "unit": "K"}')],
            None,
            "at $.unit: 'K' is not one of ['C', 'F']",
        ),
        ([call("get_weather", '{"city": 7}')], None, "at $.city: 7 is not of type 'string'"),
        (
            [call("search", '{"q": "x"}')],
            NAMED,
            "tool_choice requires 'get_weather', the call is to 'search'",
        ),
        ([call("get_weather", '{"city": "Paris"}')], "none", "tool call made although tool_choice='none'"),
        ([call("broken", '{"anything": 1}')], None, None),  # a broken user schema skips the schema check
        ([], "required", "no tool call although tool_choice='required'"),
        ([], NAMED, "no tool call although tool_choice requires 'get_weather'"),
        ([], "auto", None),
        ([], None, None),
    ],
)
def test_tool_call_checks(tool_calls, tool_choice, expected):
    reason = malformed_format("", tool_calls, None, [WEATHER, SEARCH, BROKEN], tool_choice)
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and expected in reason


@pytest.mark.parametrize(
    ("text", "response_format", "expected"),
    [
        ('{"a": 1}', {"type": "json_object"}, None),
        ('```json\n{"a": 1}\n```', {"type": "json_object"}, None),
        ('```\n{"a": 1}\n```', {"type": "json_object"}, None),
        ('Sure! {"a": 1}', {"type": "json_object"}, "answer is not valid JSON"),
        ("[1, 2]", {"type": "json_object"}, "answer is JSON but not an object"),
        ("", {"type": "json_object"}, "answer is not valid JSON"),
        ('{"name": "Ada", "age": 36}', SCHEMA, None),
        ('{"name": "Ada"}', SCHEMA, "JSON does not fit the schema: 'age' is a required property"),
        ('{"name": "Ada", "age": -1}', SCHEMA, "at $.age: -1 is less than the minimum of 0"),
        (
            '{"name": "Ada", "age": 36}',
            {"type": "json_schema", "json_schema": {"schema": {"type": "bogus"}}},
            None,
        ),
        (
            '{"name": "Ada"}',
            {"type": "json_schema", "json_schema": {"type": "object", "required": ["age"]}},
            "'age' is a required property",
        ),  # a bare schema under json_schema is accepted too
        ('{"name": "Ada"}', {"type": "json_schema", "json_schema": {"schema": {"$ref": "#/nowhere"}}}, None),
        ("plain text", {"type": "text"}, None),
        ("plain text", None, None),
    ],
)
def test_response_format_checks(text, response_format, expected):
    reason = malformed_format(text, (), response_format, None)
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and expected in reason


def test_schema_messages_are_short_even_for_huge_values():
    reason = malformed_format(json.dumps({"name": "x" * 100_000, "age": "old"}), (), SCHEMA, None)
    assert reason is not None and "age" in reason and len(reason) < 200


def test_rule_validator_reports_each_failed_check_and_chooses_the_first_passing_draft():
    v = RuleValidator()
    request = Request("What is 6*7?")
    drafts = [
        Draft("a", "I'm sorry, but I can't help with that."),
        Draft("b", "I'm not sure, maybe 42?"),
        Draft("c", "cut off", finish_reason="length"),
        Draft("d", "It is 42."),
    ]
    verdict = v(drafts, request)
    assert verdict.accept and verdict.chosen == 3
    rejected = v(drafts[:3], request)
    assert not rejected.accept
    assert rejected.reasons == ("a: refusal", "b: hedging", "c: truncated (finish_reason=length)")


def test_rule_validator_passes_tool_choice_through():
    agent = Request("Weather in Paris?", tools=[WEATHER], tool_choice="required")
    v = SchemaValidator()
    assert not v([Draft("m", "It is sunny.")], agent).accept
    assert v([Draft("m", "", tool_calls=(call("get_weather", '{"city": "Paris"}'),))], agent).accept
    assert v([Draft("m", "It is sunny.")], Request("Weather?", tools=[WEATHER])).accept


def test_disabled_checks_are_not_run():
    hedging_allowed = RuleValidator(checks=("empty", "truncated", "refusal", "format"))
    assert hedging_allowed([Draft("m", "I'm not sure, maybe 42.")], Request("q")).accept


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    text=st.text(max_size=600),
    arguments=st.text(max_size=80),
    choice=st.sampled_from([None, "auto", "none", "required", NAMED, {"function": None}, 7, "x"]),
    rf=st.sampled_from(
        [
            None,
            {"type": "json_object"},
            SCHEMA,
            {"type": "json_schema"},
            {"type": 3},
            {"type": "json_schema", "json_schema": "nope"},
        ]
    ),
)
def test_checks_never_raise(text, arguments, choice, rf):
    assert isinstance(is_refusal(text), bool) and isinstance(is_hedging(text), bool)
    for tools in (None, [], [WEATHER, BROKEN], ["not a tool", {"function": "nope"}, {"name": 3}]):
        for calls in ((), (call("get_weather", arguments),), (call("broken", arguments),)):
            reason = malformed_format(text, calls, rf, tools, choice)
            assert reason is None or isinstance(reason, str)


def test_one_megabyte_answers_are_checked_quickly_enough_and_correctly():
    big = "The sum is 4. " * 75_000  # about 1 MB
    assert not is_refusal(big) and not is_hedging(big)
    assert is_hedging(big + " I'm not sure, though.")
    assert malformed_format(big, (), {"type": "json_object"}, None) == "answer is not valid JSON"
    nested = "[" * 100_000 + "]" * 100_000  # deeper than the JSON parser's recursion limit
    assert malformed_format(nested, (), {"type": "json_object"}, None) == "answer is not valid JSON"
