"""Answer extraction: the final answer of a draft, however it is written (unit and property tests)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cascadeflow_core import AgreementValidator, ConfigError, Draft, Request, extract_answer
from cascadeflow_core.validation._extract import EXTRACT_KINDS, check_kind, normalize_number, normalize_text

SAME_NUMBER = [  # every text, one answer: 1248
    "#### 1,248",
    "#### $1248",
    "The answer is $1248.",
    "The final answer is: 1248",
    "Final answer:\n1248",
    r"So the total is \boxed{1248}.",
    r"\boxed{1,248}",
    '{"reasoning": "4 * 312", "answer": "1248"}',
    '```json\n{"reasoning": "4 * 312", "answer": 1248}\n```',
    "**Answer:** 1248",
    "1248",
    "1248.",
    "$1,248.00",
    "1248 dollars",
    "Answer: 1 248",
    "He earns 4 * 312 = 1248 dollars.\n\nSo he earns $1,248 in total.",
]


@pytest.mark.parametrize("text", SAME_NUMBER)
def test_one_number_however_written(text):
    assert extract_answer(text) == "1248"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("3/4", "0.75"),
        (r"\frac{3}{4}", "0.75"),
        (r"\dfrac{3}{4}", "0.75"),
        ("0.75", "0.75"),
        (".75", "0.75"),
        ("1/3", "1/3"),
        ("2/6", "1/3"),
        ("1 1/2", "1.5"),
        ("-2.50", "-2.5"),
        ("−3", "-3"),
        ("1e3", "1000"),
        ("18.0", "18"),
        ("12%", "12"),
        ("48g", "48"),
        ("55 meters per second", "55"),
        ("$30 per hour", "30"),
        ("4 (3 onions and 1 potato)", "4"),
        ("90 000", "90000"),
        ("-$110", "-110"),
    ],
)
def test_numbers_are_exact_and_canonical(text, key):
    assert extract_answer(text) == key


@pytest.mark.parametrize(
    "text",
    [
        "C",
        "(C)",
        "(c)",
        "C.",
        "C)",
        "**C**",
        "The answer is (C).",
        "The answer is C.",
        "Answer: C",
        "The correct option is C",
        "Final answer: (C) Paris",
        "**C)** Paris",
        "After weighing the options, the answer is C.",
    ],
)
def test_choice_letters(text):
    assert extract_answer(text) == "C"
    assert extract_answer(text, "choice") == "C"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("The answer is A dog.", "dog"),  # "A" is an article here, not a choice
        ("I think so", "i think so"),
        ("Australia", "australia"),
        ("The Eiffel Tower", "eiffel tower"),
        ("the eiffel tower!", "eiffel tower"),
        ("Zürich", "zurich"),
        ("April 12, 1992", "april 12 1992"),
    ],
)
def test_short_text_is_normalised_not_mistaken_for_a_choice(text, key):
    assert extract_answer(text) == key


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\n\t",
        "Let me think about this for a while, in words only, "
        "with nothing that could be a final answer in any of these many words.",
    ],
)
def test_no_final_answer_is_none(text):
    assert extract_answer(text) is None


def test_kinds_select_one_reading():
    text = '{"reasoning": "3 + 4", "answer": "7", "meta": {"choice": "B"}} The answer is (B)'
    assert extract_answer(text, "json") == "7"
    assert extract_answer(text, "json:reasoning") == "3 4"
    assert extract_answer(text, "json:meta.choice") == "B"
    assert extract_answer(text, "json:missing") is None
    assert extract_answer(text, "choice") == "B"
    assert extract_answer(text, "number") == "7"
    assert extract_answer(r"x \boxed{\text{Paris}} y", "boxed") == "paris"
    assert extract_answer("no box here", "boxed") is None
    assert extract_answer("The answer is: The Nile.", "text") == "nile"
    assert extract_answer("It is 5 then 6", "number") == "6"


def test_boxed_wins_over_earlier_numbers_and_balances_braces():
    assert extract_answer(r"First 3, then \boxed{\frac{1}{2}} and more 9 text") == "0.5"
    assert extract_answer(r"\boxed{x^{2}+1}") == normalize_text("x^{2}+1")
    assert extract_answer(r"\boxed{unclosed") == "boxed unclosed"  # no closed box: read as short text


def test_truncated_json_still_names_the_answer():
    assert extract_answer('{"reasoning": "long...", "answer": "42"') == "42"
    assert extract_answer('{"answer": 42, "reasoning": "cut off mid') == "42"


def test_long_reasoning_uses_the_final_sentence_only():
    text = (
        "There are 3 boxes with 4 apples each, so 3 * 4 = 12 apples.\n\n"
        "Then 2 are eaten, leaving 12 - 2 = 10 apples."
    )
    assert extract_answer(text) == "10"
    essay = (
        "In 1850 the town had 3 mills and 12 bakeries, and people worked hard. " * 3
        + "\n\nToday the town is known for its bread, its river and its friendly people."
    )
    assert extract_answer(essay) is None  # the final paragraph holds no number: nothing to compare


def test_check_kind_and_validator_reject_unknown_kinds():
    assert all(check_kind(k) is None for k in EXTRACT_KINDS)
    assert check_kind("json:answer") is None
    assert "unknown extract kind" in (check_kind("numbr") or "")
    assert check_kind("number:x") is not None
    with pytest.raises(ValueError, match="unknown extract kind"):
        extract_answer("1", "numbr")
    with pytest.raises(ConfigError, match="extract"):
        AgreementValidator(extract="numbr")


def test_agreement_uses_extraction():
    v = AgreementValidator()
    drafts = [Draft("a", "He earns 4 * 312 = 1248.\n#### 1,248"), Draft("b", r"so \boxed{1248}")]
    verdict = v(drafts, Request("q"))
    assert verdict.accept and "'1248'" in verdict.reasons[0]
    verdict = v([Draft("a", "The answer is (C)."), Draft("b", "The answer is (D).")], Request("q"))
    assert not verdict.accept and "'C'" in verdict.reasons[0] and "'D'" in verdict.reasons[0]
    assert not v([Draft("a", "hmm"), Draft("b", "")], Request("q")).accept


def test_normalize_number_and_text():
    assert normalize_number("costs $1,248.50 today") == "1248.5"
    assert normalize_number("no digits") is None
    assert normalize_text("  The  Café,  au LAIT! ") == "cafe au lait"


# ---- properties ----------------------------------------------------------------------------------

fractions = st.fractions(min_value=-(10**9), max_value=10**9, max_denominator=1000)
ints = st.integers(min_value=-(10**12), max_value=10**12)


def _key(v: Fraction) -> str:
    return (
        extract_answer(str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}", "number")
        or ""
    )


@given(
    ints,
    st.sampled_from(
        [
            "{}",
            "#### {}",
            "The answer is {}.",
            "Final answer: {}",
            r"\boxed{{{}}}",
            '{{"answer": "{}"}}',
            '{{"answer": {}}}',
            "**{}**",
            "So the result is {}.",
            "Answer: {} units",
        ]
    ),
)
def test_property_an_integer_survives_any_wrapper(n, wrapper):
    assert extract_answer(wrapper.format(n)) == str(n)


@given(st.integers(min_value=1000, max_value=10**12))
def test_property_thousands_commas_and_currency_do_not_change_the_number(n):
    assert extract_answer(f"#### ${n:,}") == extract_answer(str(n)) == str(n)


@given(fractions)
def test_property_equal_values_give_equal_keys(v):
    scaled = f"{v.numerator * 3}/{v.denominator * 3}"
    assert extract_answer(scaled, "number") == _key(v)
    assert Fraction(_key(v)) == v


@given(st.decimals(min_value=-(10**6), max_value=10**6, places=3, allow_nan=False, allow_infinity=False))
def test_property_decimals_round_trip_exactly(d):
    key = extract_answer(f"The answer is {d}.")
    assert key is not None and Fraction(key) == Fraction(d)


@given(
    st.sampled_from("ABCDEFGHIJ"),
    st.sampled_from(
        [
            "{}",
            "({})",
            "The answer is ({}).",
            "Answer: {}",
            "The answer is {}.",
            "({}) some option text",
            "Final answer: {}",
        ]
    ),
)
def test_property_choice_letters_survive_any_wrapper(letter, wrapper):
    assert extract_answer(wrapper.format(letter), "choice") == letter


@given(st.text(max_size=60))
def test_property_normalize_text_is_idempotent(s):
    once = normalize_text(s)
    assert normalize_text(once) == once


@given(
    st.text(alphabet=st.characters(categories=["Ll", "Lu"], max_codepoint=0xFF), min_size=1, max_size=20),
    st.booleans(),
)
def test_property_case_and_punctuation_do_not_matter_for_text(word, shout):
    text = f"{word.upper() if shout else word}!"
    assert extract_answer(text, "text") == extract_answer(word.lower(), "text")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400), st.sampled_from(list(EXTRACT_KINDS) + ["json:a.b"]))
def test_property_never_raises_and_is_deterministic(text, kind):
    key = extract_answer(text, kind)
    assert key is None or (isinstance(key, str) and key)
    assert extract_answer(text, kind) == key


@settings(max_examples=100)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=10,
    )
)
def test_property_any_json_answer_field_is_read(value):
    key = extract_answer(json.dumps({"answer": value}), "json")
    assert key is None or isinstance(key, str)
    if isinstance(value, int) and not isinstance(value, bool):
        assert key == str(value)


def test_adversarial_inputs_return_quickly():
    for text in [
        "9" * 1_000_000,
        "1," * 300_000,
        "{" * 200_000,
        r"\boxed{" * 100_000,
        "The answer is " * 50_000,
        "((((A" * 100_000,
        "\x00\ud800 1 \udfff",
        "¹²³ ٣ ൬",
    ]:
        for kind in ("auto", "number", "choice", "json", "boxed", "text"):
            key = extract_answer(text, kind)
            assert key is None or isinstance(key, str)
