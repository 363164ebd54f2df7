"""Field-by-field answer keys: structured answers agree when the fields that matter agree.

An answer with a known shape (``Request.answer_shape``: DSPy signature fields, a JSON schema) is parsed
into fields and each compared field is turned into a key by its rule; the answer's key is the canonical
JSON of those field keys, so two drafts agree exactly when every compared field agrees. A JSON answer
(``response_format`` json_object / json_schema) without a shape is compared as its parsed object.

Rules (``AnswerShape.rules`` / ``AgreementValidator(field_rules=...)``):

- ``"value"``: numbers canonical (``1,248.0`` -> ``1248``), text normalised (case, accents,
  punctuation, articles), objects and lists canonical JSON of their normalised leaves;
- ``"exact"``: the value's canonical JSON, text stripped only;
- ``"answer"``: a short text (up to 12 words) as its extracted final answer (``"The answer is 391."``
  and ``"391"`` agree), a longer one as ``"value"`` (whole normalised text: two different paragraphs
  that end on the same year do not agree);
- an extraction kind of ``extract_answer`` (``"auto"``, ``"number"``, ``"choice"``, ``"text"``,
  ``"boxed"``, ``"json:<field>"``): the final answer extracted from the field's text;
- a function ``value -> key | None``.

A field that is missing, or whose rule gives None, makes the whole key None (it cannot agree).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .._errors import ConfigError
from .._types import AnswerShape, FieldRule
from ._extract import _json_object, check_kind, extract_answer, normalize_number, normalize_text

__all__ = ["check_rule", "json_answer_key", "parse_json_object", "shape_key", "value_key"]

_RULE_WORDS = ("value", "exact", "answer")
_SHORT_WORDS = 12


def check_rule(where: str, rule: Any) -> None:
    """Raise ``ConfigError`` naming ``where`` when ``rule`` is not a field rule."""
    if callable(rule) or rule in _RULE_WORDS:
        return
    problem = check_kind(rule) if isinstance(rule, str) else f"a rule is a string or a function, got {rule!r}"
    if problem:
        raise ConfigError(where, problem, f"use one of {list(_RULE_WORDS)}, an extract kind or a function")


def value_key(value: Any, rule: FieldRule = "value") -> str | None:
    """The comparable key of one field value under ``rule`` (None: no comparable value)."""
    if value is None:
        return None
    if callable(rule):
        out = rule(value)
        return None if out is None else str(out)
    if rule == "exact":
        return value.strip() if isinstance(value, str) else _dumps(value)
    if rule == "value" or (rule == "answer" and not _is_short(value)):
        return _dumps(_normal(value))
    if rule == "answer":
        return extract_answer(value, "auto") or normalize_text(value) or None
    if not isinstance(value, str):  # an extract kind on a number, list or object: compare the value
        return _dumps(_normal(value))
    return extract_answer(value, rule)


def _is_short(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 200 and len(value.split()) <= _SHORT_WORDS


def _normal(value: Any) -> Any:
    """Numbers canonical, strings normalised (a string that is one number becomes that number)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return normalize_number(repr(value) if isinstance(value, float) else str(value)) or str(value)
    if isinstance(value, str):
        try:  # a string that is one number ("1,248", " 42 ") compares as that number
            float(value.replace(",", "").strip())
        except ValueError:
            return normalize_text(value)
        return normalize_number(value) or normalize_text(value)
    if isinstance(value, Mapping):
        return {str(k): _normal(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    return normalize_text(str(value))


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def shape_key(text: str, shape: AnswerShape, overrides: Mapping[str, FieldRule] | None = None) -> str | None:
    """The key of an answer of a known shape: its compared fields, each under its rule; None if any is missing."""
    try:
        parsed = shape.parse(text)
    except Exception:  # a parser that cannot read a draft means the draft has no comparable answer
        return None
    if not isinstance(parsed, Mapping) or not parsed:
        return None
    names = shape.fields or tuple(sorted(parsed))
    keys: dict[str, str] = {}
    for name in names:
        rule = (overrides or {}).get(name, shape.rules.get(name, shape.default_rule))
        key = value_key(parsed.get(name), rule)
        if key is None:
            return None
        keys[name] = key
    return "fields:" + _dumps(keys)


def json_answer_key(text: str, overrides: Mapping[str, FieldRule] | None = None) -> str | None:
    """The key of a JSON-object answer: every top-level field under its rule (default ``"value"``)."""
    obj = _json_object(text)
    if not isinstance(obj, dict):
        return None
    keys: dict[str, Any] = {}
    for name in sorted(obj):
        rule = (overrides or {}).get(name, "value")
        keys[name] = value_key(obj[name], rule)
    return "json:" + _dumps(keys)


def parse_json_object(text: str) -> Mapping[str, Any] | None:
    """The JSON object an answer holds (a ```json fence or surrounding prose allowed), or None."""
    obj = _json_object(text)
    return obj if isinstance(obj, dict) else None
