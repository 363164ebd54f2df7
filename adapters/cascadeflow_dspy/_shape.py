"""The answer shape of a DSPy call: the signature's output fields, read from the prompt DSPy wrote.

DSPy does not hand an LM its signature, but both of its text adapters state it in the system message
(``Your output fields are:`` followed by ``1. `reasoning` (str): ...``). The cascade's agreement
validator then compares the fields that carry the answer: every output field except the free-text
reasoning (``reasoning``, ``rationale``, ReAct's ``next_thought``), so ChainOfThought compares
``answer``, ReAct compares ``next_tool_name`` + ``next_tool_args`` and a multi-output Predict every
field. Answers are parsed from ChatAdapter's ``[[ ## field ## ]]`` sections, JSONAdapter's (and
BAMLAdapter's) object, or XMLAdapter's ``<field>...</field>`` elements.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from cascadeflow_core import AnswerShape

__all__ = ["REASONING_FIELDS", "answer_shape", "output_fields", "parse_fields"]

#: Output fields holding the model's reasoning, not its answer: never compared.
REASONING_FIELDS = frozenset({"reasoning", "rationale", "next_thought"})

_OUTPUTS_HEADER = "Your output fields are:"
_FIELD_LINE = re.compile(r"^\d+\.\s+`(\w+)`", re.M)
_OUTPUTS_END = re.compile(r"^(?:All interactions will be structured|Your objective|In adhering)", re.M)
_SECTION = re.compile(r"\[\[ ## (\w+) ## \]\]")


def _system_text(messages: Sequence[Mapping[str, Any]]) -> str:
    for m in messages:
        if m.get("role") == "system":
            content = m.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def output_fields(messages: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """The signature's output fields a DSPy ChatAdapter / JSONAdapter prompt declares, in order."""
    system = _system_text(messages)
    start = system.find(_OUTPUTS_HEADER)
    if start < 0:
        return ()
    block = system[start + len(_OUTPUTS_HEADER) :]
    end = _OUTPUTS_END.search(block)
    return tuple(_FIELD_LINE.findall(block[: end.start()] if end else block))


def _value(raw: str) -> Any:
    text = raw.strip()
    if text[:1] in "{[":
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def parse_fields(text: str, fields: Sequence[str] = ()) -> dict[str, Any] | None:
    """Field values of a DSPy answer: ``[[ ## field ## ]]`` sections, a JSON object, or ``<field>``
    elements of the named ``fields``; None if none of them."""
    if not isinstance(text, str):
        return None
    xml = _xml_fields(text, fields) if fields and "[[ ## " not in text else None
    if xml:
        return xml
    marks = list(_SECTION.finditer(text))
    if marks:
        out: dict[str, Any] = {}
        for i, m in enumerate(marks):
            end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
            if m.group(1) != "completed" and m.group(1) not in out:
                out[m.group(1)] = _value(text[m.end() : end])
        return out or None
    first, last = text.find("{"), text.rfind("}")
    if first < 0 or last < first:
        return None
    try:
        obj = json.loads(text[first : last + 1])
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _xml_fields(text: str, fields: Sequence[str]) -> dict[str, Any] | None:
    out = {}
    for f in fields:
        m = re.search(rf"<{f}>(.*?)</{f}>", text, re.S)
        if m:
            out[f] = _value(m.group(1))
    return out or None


def answer_shape(messages: Sequence[Mapping[str, Any]]) -> AnswerShape | None:
    """The ``AnswerShape`` of a DSPy prompt (None when the prompt declares no output fields)."""
    fields = output_fields(messages)
    compared = tuple(f for f in fields if f not in REASONING_FIELDS) or fields
    if not compared:
        return None
    parse = functools.partial(parse_fields, fields=fields)
    return AnswerShape(parse, fields=compared, default_rule="answer", name="dspy:" + ",".join(compared))
