"""pydantic's ``ValidationError`` as our ``ConfigError``: the field path, the problem, the YAML line, a fix.

pydantic reports every problem with a location (``('tiers', 0, 'models', 1, 'model')``) and a type
(``int_type``, ``missing``, ...). ``config_error`` takes the first problem, writes the location the way
our messages and docs do (``tiers[0].models[1].model``), adds the line when the data came from YAML,
and words the problem and fix for a person editing a file (``must be int, got 'big' (line 7)``).
"""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from .._errors import ConfigError
from ._schema import RuleError
from ._yaml import line_of

__all__ = ["config_error", "field_path"]

# What a value must be, by pydantic error type (the wording of our older hand-written checks).
_WANT = {
    "int_type": "int",
    "int_parsing": "int",
    "int_from_float": "int",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "str",
    "bool_type": "bool",
    "bool_parsing": "bool",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
_BOUNDS = {
    "greater_than_equal": ">=",
    "greater_than": ">",
    "less_than_equal": "<=",
    "less_than": "<",
}
# Examples for the fix of a field, by its last name.
_EXAMPLES = {
    "tiers": 'e.g. tiers: ["openai/gpt-4o-mini", "openai/gpt-4o"]',
    "models": 'e.g. models: ["openai/gpt-4o-mini"]',
    "model": 'e.g. model: "openai/gpt-4o-mini"',
    "validator": "e.g. validator: {type: agreement, min_agree: 2}",
    "any": "e.g. any: [{type: agreement}, {type: logprob, threshold: 0.9}]",
    "all": "e.g. all: [{type: rules}, {type: logprob, threshold: 0.9}]",
    "store": 'use "memory", "sqlite:///path/ledger.db" or "redis://host:6379/0"',
    "function": 'name the function as "package.module:function"',
    "threshold": "give a probability-like threshold, e.g. 0.8",
    "min_domain_confidence": "give a confidence in [0, 1], e.g. 0.5",
    "min_agree": "agreement needs at least two drafters; e.g. min_agree: 2",
    "": "a configuration is a mapping: start it with `tiers:`",
}


def field_path(loc: Sequence[Any], prefix: str = "") -> str:
    """``('tiers', 0, 'validator', '<any>', 'any', 1)`` -> ``tiers[0].validator.any[1]``.

    Union tags (``<any>``) and pydantic's ``[key]`` marker for a bad mapping key are not fields.
    """
    out = prefix
    for step in loc:
        if isinstance(step, int):
            out += f"[{step}]"
        elif step == "[key]" or (isinstance(step, str) and step.startswith("<") and step.endswith(">")):
            continue
        else:
            out = f"{out}.{step}" if out else str(step)
    return out


def config_error(exc: ValidationError, data: Any, source: str, prefix: str = "") -> ConfigError:
    """The first problem of ``exc`` as a ``ConfigError``; ``data`` is what was validated (for lines)."""
    err = exc.errors(include_url=False)[0]
    loc = tuple(err["loc"])
    kind, ctx = err["type"], err.get("ctx") or {}
    inner = ctx.get("error")
    if isinstance(inner, ConfigError):  # a domain rule (relative field) or a station's own check
        sub = inner.field if isinstance(inner, RuleError) else inner.field.rsplit(".", 1)[-1]
        field = ".".join(p for p in (field_path(loc, prefix), sub) if p)
        return _with_line(field or source, inner.problem, inner.fix, data, loc + tuple(sub.split(".")))
    if kind == "unknown_key":
        allowed = [str(k) for k in ctx["allowed"]]
        close = difflib.get_close_matches(ctx["key"], allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        field = ".".join(p for p in (field_path(loc, prefix), ctx["key"]) if p)
        return _with_line(
            field, "unknown key", f"{hint}valid keys: {', '.join(allowed)}", data, (*loc, ctx["key"])
        )
    if kind == "union_tag_invalid":
        loc = (*loc, "type")  # the validator's type names the member; it is the field to fix
    field = field_path(loc, prefix)
    last = next((s for s in reversed(loc) if isinstance(s, str) and not s.startswith("<")), "")
    problem, fix = _words(kind, err, ctx, last)
    if isinstance(loc[-1:][0] if loc else None, int) and kind == "unknown_choice":
        field = field_path(loc[:-1], prefix)  # an unknown name in a list names the list
    return _with_line(field or source, problem, fix, data, loc)


def _words(kind: str, err: Any, ctx: dict[str, Any], last: str) -> tuple[str, str]:
    """(problem, fix) for one pydantic error."""
    got = _show(err.get("input"))
    example = _EXAMPLES.get(last, "")
    if kind == "missing":
        return "missing", example
    if kind in ("unknown_choice", "literal_error"):
        if kind == "unknown_choice":
            options, problem = list(ctx["options"]), err["msg"]
        else:  # a Literal of a station's dataclass (Budget.period ...)
            options, problem = re.findall(r"'([^']*)'", str(ctx["expected"])), f"unknown {last} {got}"
        close = difflib.get_close_matches(str(err.get("input")), options, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return problem, f"{hint}use one of {options}"
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()))
        return f"must be {_BOUNDS[kind]} {bound}, got {got}", example
    if kind == "too_short":
        return f"must be a non-empty list, got {got}", example
    if kind == "union_tag_invalid":
        value = err.get("input")
        kind_name = value.get("type") if isinstance(value, dict) else value
        types = [t.strip("'<> ") for t in str(ctx.get("expected_tags", "")).split(",")]
        listed = [t for t in types if t not in ("any", "all")]
        return f"unknown validator type {kind_name!r}", f"use one of {listed}, or any: [...] / all: [...]"
    if kind == "union_tag_not_found":
        return f"must be a validator name or mapping, got {got}", _EXAMPLES["validator"]
    if kind == "string_pattern_mismatch":
        return f"does not have the expected form, got {got}", example or f"match {ctx.get('pattern')}"
    if kind == "finite_number":
        return f"must be a finite number, got {got}", example
    if kind == "recursion_loop" or kind == "recursion_depth_exceeded":
        return "nested too deeply", "a configuration is a few levels deep"
    if kind in _WANT:
        return f"must be {_WANT[kind]}, got {got}", example
    return err["msg"], example


class _Short(reprlib.Repr):
    """``repr`` of a bad value, cut short: a few levels and items (a value may be nested 3,000 deep)."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxdict, self.maxlist, self.maxstring, self.maxother = 3, 4, 4, 60, 60

    def repr1(self, x: Any, level: int) -> str:
        if isinstance(x, dict) and type(x) is not dict:
            x = dict(x)  # YAML's line-keeping mappings print as the mappings they are
        return super().repr1(x, level)


_show = _Short().repr


def _with_line(field: str, problem: str, fix: str, data: Any, loc: Sequence[Any]) -> ConfigError:
    line = line_of(data, loc)
    return ConfigError(field, f"{problem} (line {line})" if line else problem, fix)
