"""``with_structured_output`` for ``ChatCascade``: function calling, JSON schema or JSON mode, plus a parser.

Structured output is requested the standard OpenAI way (a forced tool, or ``response_format``), so the
core's validators judge it on every tier: a drafter whose tool arguments or JSON do not fit the schema is
escalated instead of reaching the parser.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import (
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    PydanticOutputParser,
    PydanticToolsParser,
)
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

from cascadeflow_core import ConfigError

__all__ = ["Method", "structured_runnable"]

Method = Literal["function_calling", "json_schema", "json_mode"]


def _json_schema_format(schema: Any, strict: bool | None) -> tuple[dict[str, Any], dict[str, Any]]:
    if isinstance(schema, type) and is_basemodel_subclass(schema):
        js = convert_to_openai_tool(schema)["function"]
        body = {"title": js["name"], "description": js.get("description", ""), **js["parameters"]}
    else:
        body = convert_to_json_schema(schema)
    name = str(body.get("title") or "output")
    fmt: dict[str, Any] = {"name": name, "schema": body}
    if strict is not None:
        fmt["strict"] = strict
    return {"type": "json_schema", "json_schema": fmt}, body


def structured_runnable(
    model: BaseChatModel,
    schema: Any,
    *,
    method: Method,
    include_raw: bool,
    strict: bool | None,
    kwargs: dict[str, Any],
) -> Runnable:
    """``model`` bound to produce ``schema``, piped into the matching parser (see ``with_structured_output``)."""
    if schema is None:
        raise ConfigError(
            "schema",
            "with_structured_output needs a schema",
            "give a Pydantic class, a TypedDict or a JSON schema dict",
        )
    is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
    if method == "function_calling":
        tool = convert_to_openai_tool(schema, strict=strict)
        name = tool["function"]["name"]
        ls = {"kwargs": {"method": method, "strict": strict}, "schema": tool}
        llm = model.bind_tools(
            [schema], tool_choice=name, strict=strict, ls_structured_output_format=ls, **kwargs
        )
        parser: Runnable = (
            PydanticToolsParser(tools=[schema], first_tool_only=True)
            if is_pydantic
            else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
        )
    elif method == "json_schema":
        response_format, body = _json_schema_format(schema, strict)
        ls = {"kwargs": {"method": method, "strict": strict}, "schema": body}
        llm = model.bind(response_format=response_format, ls_structured_output_format=ls, **kwargs)
        parser = PydanticOutputParser(pydantic_object=schema) if is_pydantic else JsonOutputParser()
    elif method == "json_mode":
        ls = {"kwargs": {"method": method}, "schema": schema}
        llm = model.bind(response_format={"type": "json_object"}, ls_structured_output_format=ls, **kwargs)
        parser = PydanticOutputParser(pydantic_object=schema) if is_pydantic else JsonOutputParser()
    else:
        raise ConfigError(
            "method",
            f"unknown structured output method {method!r}",
            'use "function_calling", "json_schema" or "json_mode"',
        )
    if not include_raw:
        return llm | parser
    parsed = RunnablePassthrough.assign(parsed=itemgetter("raw") | parser, parsing_error=lambda _: None)
    no_parse = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=llm) | parsed.with_fallbacks([no_parse], exception_key="parsing_error")
