"""Rule checks on one answer (placeholder until the full rule set lands).

Signatures: ``is_refusal(text) -> bool``, ``is_hedging(text) -> bool``,
``malformed_format(text, tool_calls, response_format, tools) -> str | None`` (the reason, or None).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

_REFUSAL = re.compile(r"^\s*(I'?m sorry,? but |I (?:can(?:no|')t|won'?t|am unable to) (?:help|assist|comply|provide))",
                      re.I)
_HEDGE = re.compile(r"\b(I'?m not (?:sure|certain)|I cannot be certain|I don'?t know)\b", re.I)


def is_refusal(text: str) -> bool:
    return bool(_REFUSAL.search(text[:300]))


def is_hedging(text: str) -> bool:
    return bool(_HEDGE.search(text[:2000]))


def _json_body(text: str) -> Any:
    t = text.strip()
    if t.startswith("```"):
        t = t.strip("`")
        t = t[4:] if t.startswith("json") else t
    return json.loads(t)


def malformed_format(text: str, tool_calls: Sequence[Any], response_format: Mapping[str, Any] | None,
                     tools: Sequence[Mapping[str, Any]] | None) -> str | None:
    import jsonschema

    if tool_calls:
        names = {(t.get("function") or t).get("name") for t in tools or ()}
        for c in tool_calls:
            if c.name not in names:
                return f"tool call names unknown tool {c.name!r}"
            try:
                json.loads(c.arguments or "{}")
            except ValueError:
                return f"tool call {c.name!r} arguments are not valid JSON"
        return None
    rf = response_format or {}
    if rf.get("type") not in ("json_object", "json_schema"):
        return None
    try:
        body = _json_body(text)
    except ValueError:
        return "answer is not valid JSON"
    schema = (rf.get("json_schema") or {}).get("schema") if rf.get("type") == "json_schema" else None
    if schema:
        try:
            jsonschema.validate(body, schema)
        except jsonschema.ValidationError as e:
            return f"JSON does not fit the schema: {e.message}"
    return None
