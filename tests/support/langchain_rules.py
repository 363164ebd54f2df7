"""A deterministic "rule model" for the LangChain adapter tests, served two ways.

``rule_reply`` answers an OpenAI chat request by rules, not by understanding: after a tool result it
reports the result; with tools bound (and a tool named in the prompt, or a forced ``tool_choice``) it calls
that tool (or a tool whose name shares a word with the prompt: ``get_weather`` for "the weather"), filling integer/number arguments with the numbers of the prompt in order and string arguments
with the prompt's first quoted text (else the prompt); with a ``json_schema`` response format it answers
a JSON object fitting the schema; otherwise it greets. It is served by the real local HTTP server
(``OpenAICompatServer(replies=rule_reply)``) and wrapped as an in-process LangChain chat model
(``RuleChatModel``) for the ``LangChainBackend`` tiers. Passing tests over it prove the adapter's
plumbing (messages, tools, schemas, usage, streaming), never a model's judgement.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.utils import convert_to_openai_messages
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

from cascadeflow_core.testing import Reply

_NUM = re.compile(r"-?\d+(?:\.\d+)?")
_QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def _last_user(messages: Sequence[Mapping[str, Any]]) -> str:
    return next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")


def _value(schema: Mapping[str, Any], prompt: str, numbers: list[str], defs: Mapping[str, Any]) -> Any:
    if "$ref" in schema:
        return _value(defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), prompt, numbers, defs)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return _value(options[0], prompt, numbers, defs)
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind in ("integer", "number"):
        raw = numbers.pop(0) if numbers else "0"
        return int(float(raw)) if kind == "integer" else float(raw)
    if kind == "boolean":
        return True
    if kind == "array":
        return [_value(schema.get("items", {"type": "string"}), prompt, numbers, defs)]
    if kind == "object" or "properties" in schema:
        return _object(schema, prompt, numbers, defs)
    quoted = _QUOTED.search(prompt)
    return (quoted.group(1) or quoted.group(2)) if quoted else prompt or "ok"


def _object(
    schema: Mapping[str, Any], prompt: str, numbers: list[str], defs: Mapping[str, Any]
) -> dict[str, Any]:
    defs = {**defs, **schema.get("$defs", {}), **schema.get("definitions", {})}
    return {
        name: _value(sub, prompt, numbers, defs) for name, sub in (schema.get("properties") or {}).items()
    }


def schema_answer(schema: Mapping[str, Any], prompt: str) -> dict[str, Any]:
    """An object fitting ``schema``, its numbers taken from ``prompt`` in order."""
    return _object(schema, prompt, _NUM.findall(prompt), {})


def _chosen_tool(tools: Sequence[Mapping[str, Any]], choice: Any, prompt: str) -> Mapping[str, Any] | None:
    fns = [t.get("function", t) for t in tools]
    if isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name")
        return next((f for f in fns if f.get("name") == name), None)
    if choice == "none":
        return None
    named = next((f for f in fns if f.get("name") and f["name"] in prompt), None)
    words = set(re.findall(r"[a-z]{4,}", prompt.lower()))
    keyed = next(
        (f for f in fns if words & set(re.findall(r"[a-z]{4,}", str(f.get("name", "")).lower()))), None
    )
    if named or keyed:
        return named or keyed
    return fns[0] if choice in ("required", "any") and fns else None


def rule_reply(model: str, messages: list[dict[str, Any]], body: Mapping[str, Any]) -> Reply:
    """The rule model's answer to one OpenAI chat request (see the module docstring)."""
    if messages and messages[-1].get("role") == "tool":
        return Reply(f"The tool answered: {_text(messages[-1].get('content'))}")
    prompt = _last_user(messages)
    tool = (
        _chosen_tool(body.get("tools") or [], body.get("tool_choice"), prompt) if body.get("tools") else None
    )
    if tool is not None:
        args = schema_answer(tool.get("parameters") or {}, prompt)
        return Reply(
            "", tool_calls=({"name": tool["name"], "arguments": json.dumps(args, ensure_ascii=False)},)
        )
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema") or {}
        return Reply(json.dumps(schema_answer(schema, prompt), ensure_ascii=False))
    if fmt.get("type") == "json_object":
        return Reply(json.dumps({"answer": prompt}, ensure_ascii=False))
    return Reply(f"Hello! You said: {prompt}" if prompt else "Hello!")


class RuleChatModel(BaseChatModel):
    """``rule_reply`` as an in-process LangChain chat model (tools via ``bind_tools``, usage, streaming).

    Example:
        >>> RuleChatModel(model="rules-small").invoke("hi").text
        'Hello! You said: hi'
    """

    model: str = "rules"

    @property
    def _llm_type(self) -> str:
        return "rules"

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Any:
        formatted = [convert_to_openai_tool(t) for t in tools]
        if tool_choice in ("any", True):
            tool_choice = "required"
        elif isinstance(tool_choice, str) and tool_choice not in ("auto", "none", "required"):
            tool_choice = {"type": "function", "function": {"name": tool_choice}}
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _answer(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        oa = convert_to_openai_messages(messages)
        body = {k: kwargs.get(k) for k in ("tools", "tool_choice", "response_format")}
        reply = rule_reply(self.model, oa if isinstance(oa, list) else [oa], body)
        calls = [
            {"name": c["name"], "args": json.loads(c["arguments"]), "id": f"call_{i}", "type": "tool_call"}
            for i, c in enumerate(reply.tool_calls)
        ]
        in_tok = sum(len(_text(m.get("content"))) for m in (oa if isinstance(oa, list) else [oa])) // 4 + 1
        out_tok = max(1, len(reply.text.split()) + 8 * len(calls))
        usage = {"input_tokens": in_tok, "output_tokens": out_tok, "total_tokens": in_tok + out_tok}
        return AIMessage(
            reply.text,
            tool_calls=calls,
            usage_metadata=usage,  # type: ignore[arg-type]
            response_metadata={"finish_reason": "tool_calls" if calls else "stop", "model_name": self.model},
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._answer(messages, kwargs))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        msg = self._answer(messages, kwargs)
        for word in re.findall(r"\S+\s*", msg.text):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word))
        chunks = [
            {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
            for i, c in enumerate(msg.tool_calls)
        ]
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                tool_call_chunks=chunks,  # type: ignore[arg-type]
                usage_metadata=msg.usage_metadata,
                response_metadata=msg.response_metadata,
                chunk_position="last",
            )
        )
