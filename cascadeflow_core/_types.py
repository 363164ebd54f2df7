"""Values that flow through the cascade: configuration, requests, drafts, verdicts and the result trace.

All are frozen dataclasses. Configuration values validate themselves at construction and raise
``ConfigError`` naming the field and the fix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from ._errors import ConfigError, InputError

if TYPE_CHECKING:
    from ._protocols import ModelBackend, Validator

__all__ = [
    "AnswerShape",
    "Attempt",
    "CascadeResult",
    "Draft",
    "InvalidToolCall",
    "ModelSpec",
    "Request",
    "StreamEvent",
    "Tier",
    "ToolCall",
    "Verdict",
    "sum_costs",
]

Message = dict[str, Any]
# ``Request.private`` key the guardrails set with ``pii="route"``: the PII entity types found; the
# engine then keeps only tiers that may see personal data (``Tier.sees_pii``).
PII_ROUTE_KEY = "pii_route"
_MODEL_RE = re.compile(r"^[A-Za-z0-9][\w.\-:@/+]*$")
_ROLES = frozenset({"system", "user", "assistant", "tool", "developer", "function"})


def _check_price(name: str, value: float | None) -> None:
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ConfigError(
            name,
            f"must be a non-negative number of dollars per token, got {value!r}",
            "give e.g. 0.15e-6 for $0.15 per million tokens",
        )


def check_endpoint(api_base: Any, api_key: Any) -> None:
    """``api_base`` must be a URL string and ``api_key`` a string (raise ``ConfigError`` naming the field)."""
    if api_base is not None and (not isinstance(api_base, str) or not api_base.strip()):
        raise ConfigError(
            "api_base",
            f"must be a URL string, got {api_base!r:.80}",
            'give e.g. api_base="http://127.0.0.1:8000/v1"',
        )
    if api_key is not None and not isinstance(api_key, str):
        raise ConfigError("api_key", f"must be a string, got {type(api_key).__name__}")


@dataclass(frozen=True)
class ModelSpec:
    """One model a tier can call.

    Args:
        model: LiteLLM model string, e.g. ``"openai/gpt-4o-mini"`` or ``"gpt-4o"``.
        input_cost_per_token: dollars per input token, overriding LiteLLM's price map.
        output_cost_per_token: dollars per output token, overriding LiteLLM's price map.
        api_base: endpoint URL for OpenAI-compatible or self-hosted servers.
        api_key: key for this model only (never shown in reprs, logs or exports).
        params: extra provider kwargs sent with every call (e.g. ``{"top_p": 0.9}``).
        context_window: tokens the model accepts; used by the router to skip models a prompt cannot fit.
        quality: rank of the model, higher is stronger; used by the router and degrade decisions.
        domains: domains the model is good at (``"code"``, ``"math"`` ...), for routing.
        name: display name in traces (defaults to ``model``).
        backend: a ``ModelBackend`` to call instead of LiteLLM (e.g. a wrapped LangChain chat model).
        pii_allowed: this model may see personal data (a local or in-VPC model); with
            ``Guardrails(pii="route")`` a request holding PII goes only to tiers whose models all are.

    Example:
        >>> ModelSpec("openai/gpt-4o-mini").label
        'openai/gpt-4o-mini'
    """

    model: str
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False, compare=False)
    params: Mapping[str, Any] = field(default_factory=dict)
    context_window: int | None = None
    quality: int = 0
    domains: tuple[str, ...] = ()
    name: str | None = None
    backend: ModelBackend | None = field(default=None, repr=False, compare=False)
    pii_allowed: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip():
            raise ConfigError(
                "model",
                f"must be a non-empty LiteLLM model string, got {self.model!r}",
                'use e.g. "openai/gpt-4o-mini"',
            )
        if not _MODEL_RE.match(self.model):
            raise ConfigError(
                "model",
                f"{self.model!r} is not a LiteLLM model string",
                'use "provider/model-name", e.g. "anthropic/claude-3-5-haiku-latest"',
            )
        _check_price("input_cost_per_token", self.input_cost_per_token)
        _check_price("output_cost_per_token", self.output_cost_per_token)
        check_endpoint(self.api_base, self.api_key)
        if (self.input_cost_per_token is None) != (self.output_cost_per_token is None):
            raise ConfigError(
                "input_cost_per_token/output_cost_per_token",
                "give both prices or neither",
                "set the missing one (0 is allowed)",
            )
        if self.context_window is not None and (
            isinstance(self.context_window, bool)
            or not isinstance(self.context_window, int)
            or self.context_window <= 0
        ):
            raise ConfigError("context_window", f"must be a positive int, got {self.context_window!r}")
        if not isinstance(self.params, Mapping):
            raise ConfigError(
                "params", f"must be a mapping of provider kwargs, got {type(self.params).__name__}"
            )
        object.__setattr__(self, "params", dict(self.params))
        object.__setattr__(self, "domains", tuple(self.domains))
        from ._secrets import register, register_params

        if self.api_key:
            register(self.api_key)
        register_params(self.params)

    def __repr__(self) -> str:
        from ._secrets import mask_params

        shown = [f"model={self.model!r}"]
        for name in ("input_cost_per_token", "output_cost_per_token", "api_base", "context_window", "name"):
            value = getattr(self, name)
            if value is not None:
                shown.append(f"{name}={value!r}")
        if self.params:
            shown.append(f"params={mask_params(self.params)!r}")
        if self.quality:
            shown.append(f"quality={self.quality!r}")
        if self.domains:
            shown.append(f"domains={self.domains!r}")
        return f"ModelSpec({', '.join(shown)})"

    def with_endpoint(self, api_base: str | None = None, api_key: str | None = None) -> ModelSpec:
        """This spec with ``api_base`` / ``api_key`` filled in where it names none (its own values win).

        A spec with a ``backend`` (e.g. a wrapped framework model) is returned as it is: its endpoint
        belongs to that backend.

        Example:
            >>> ModelSpec("openai/m").with_endpoint("http://127.0.0.1:8000/v1").api_base
            'http://127.0.0.1:8000/v1'
        """
        if self.backend is not None or (api_base is None and api_key is None):
            return self
        base = self.api_base or api_base
        key = self.api_key or api_key
        if base == self.api_base and key == self.api_key:
            return self
        return replace(self, api_base=base, api_key=key)

    @property
    def label(self) -> str:
        """The name shown in traces and the ledger."""
        return self.name or self.model

    @property
    def has_prices(self) -> bool:
        return self.input_cost_per_token is not None

    @classmethod
    def coerce(cls, value: ModelSpec | str | Mapping[str, Any], field_name: str = "model") -> ModelSpec:
        """Accept a ``ModelSpec``, a model string or a mapping of ``ModelSpec`` fields."""
        if isinstance(value, ModelSpec):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, Mapping):
            try:
                return cls(**value)
            except TypeError as e:
                raise ConfigError(field_name, str(e), "use the fields of ModelSpec") from e
        # Anything else may be a backend object (e.g. a framework chat model wrapped by an adapter).
        raise ConfigError(
            field_name,
            f"cannot make a model from {type(value).__name__}",
            "give a model string, a ModelSpec or a mapping",
        )


@dataclass(frozen=True)
class Tier:
    """A step of the cascade: one or more models (run concurrently) and the validator that judges them.

    Args:
        models: the tier's models; two or more run concurrently (needed for agreement).
        validator: judges the drafts; ``None`` accepts any non-empty, well-formed answer.
        name: label in traces (defaults to ``tier<N>`` when used in a cascade).
        fallbacks: models tried in order, replacing a model of this tier whose call failed.
        domains: domains this tier is meant for; the router can prefer or skip it by domain.
        pii_allowed: the tier (its models and fallbacks) may see personal data; with
            ``Guardrails(pii="route")`` a request holding PII goes only to such tiers.
        api_base, api_key: endpoint and key for the tier's models and fallbacks that name none (a
            ``ModelSpec``'s own ``api_base`` / ``api_key`` win); the key is never shown in reprs.

    Example:
        >>> Tier(["openai/gpt-4o-mini"]).models[0].model
        'openai/gpt-4o-mini'
    """

    models: Sequence[ModelSpec | str] = ()
    validator: Validator | None = None
    name: str | None = None
    fallbacks: Sequence[ModelSpec | str] = ()
    domains: tuple[str, ...] = ()
    pii_allowed: bool = False
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        models = self.models
        if isinstance(models, (str, ModelSpec)):
            models = [models]
        if not models:
            raise ConfigError(
                f"tier {self.name or ''}".strip() + ".models",
                "a tier needs at least one model",
                'list one or more model strings, e.g. models=["openai/gpt-4o-mini"]',
            )
        check_endpoint(self.api_base, self.api_key)
        base, key = self.api_base, self.api_key
        object.__setattr__(
            self,
            "models",
            tuple(ModelSpec.coerce(m, "tier.models").with_endpoint(base, key) for m in models),
        )
        object.__setattr__(
            self,
            "fallbacks",
            tuple(ModelSpec.coerce(m, "tier.fallbacks").with_endpoint(base, key) for m in self.fallbacks),
        )
        object.__setattr__(self, "domains", tuple(self.domains))
        if self.validator is not None and not callable(self.validator):
            raise ConfigError(
                "tier.validator",
                f"{self.validator!r} is not callable",
                "give a Validator or a function (drafts, request) -> Verdict | bool | float",
            )

    def with_endpoint(self, api_base: str | None, api_key: str | None) -> Tier:
        """This tier with ``api_base`` / ``api_key`` filled into its models and fallbacks that name none."""
        check_endpoint(api_base, api_key)
        if api_base is None and api_key is None:
            return self
        return replace(
            self,
            models=[m.with_endpoint(api_base, api_key) for m in self.specs],
            fallbacks=[m.with_endpoint(api_base, api_key) for m in self.fallback_specs],
        )

    @property
    def specs(self) -> tuple[ModelSpec, ...]:
        """The tier's models as ``ModelSpec``s (``models`` after coercion at construction)."""
        return self.models  # type: ignore[return-value]

    @property
    def fallback_specs(self) -> tuple[ModelSpec, ...]:
        return self.fallbacks  # type: ignore[return-value]

    @property
    def quality(self) -> int:
        return max(m.quality for m in self.specs)

    @property
    def sees_pii(self) -> bool:
        """May see personal data: marked ``pii_allowed``, or every model and fallback of it is."""
        return self.pii_allowed or all(m.pii_allowed for m in (*self.specs, *self.fallback_specs))


FieldRule = str | Callable[[Any], "str | None"]


@dataclass(frozen=True)
class AnswerShape:
    """What an answer is made of, so agreement compares the fields that matter (framework-free).

    An adapter that knows the shape of the answer (DSPy's signature output fields, a structured-output
    schema) attaches one to the request; ``AgreementValidator`` then parses each draft with ``parse``
    and compares ``fields`` one by one instead of guessing a final answer from the text.

    Args:
        parse: ``text -> {field: value}``, or None when the text does not have the shape.
        fields: the fields compared (``()``: every field ``parse`` returns).
        rules: per-field comparison rule: ``"value"`` (numbers canonical, text normalised, objects
            canonical JSON), ``"exact"``, an extraction kind of ``extract_answer`` (``"auto"``,
            ``"number"``, ``"choice"``, ``"text"``, ``"json:<field>"`` ...) or a function
            ``value -> key | None``.
        default_rule: the rule of fields ``rules`` does not name.
        name: a label for the trace (e.g. ``"dspy:answer"``).

    Example:
        >>> import json
        >>> AnswerShape(json.loads, fields=("answer",), default_rule="number").fields
        ('answer',)
    """

    parse: Callable[[str], Mapping[str, Any] | None]
    fields: tuple[str, ...] = ()
    rules: Mapping[str, FieldRule] = field(default_factory=dict)
    default_rule: FieldRule = "value"
    name: str = ""

    def __post_init__(self) -> None:
        if not callable(self.parse):
            raise ConfigError("AnswerShape.parse", f"{self.parse!r} is not callable", "pass text -> dict")
        if isinstance(self.fields, str):
            object.__setattr__(self, "fields", (self.fields,))
        object.__setattr__(self, "fields", tuple(self.fields))


@dataclass(frozen=True)
class Request:
    """One chat request in OpenAI format, plus who it is for.

    Args:
        messages: OpenAI-format chat messages.
        tools: OpenAI-format tool definitions.
        tool_choice: ``"auto"``, ``"required"``, ``"none"`` or a named tool.
        response_format: ``{"type": "json_object"}`` or ``{"type": "json_schema", "json_schema": {...}}``.
        temperature, max_tokens, stop: usual sampling parameters.
        params: any other provider kwargs, passed through.
        user: user id for the tracker (budgets, rate limits, ledger).
        tags: free labels for the ledger and budgets.
        metadata: free data carried to the result trace.
        private: in-process state one station hands to another (the guardrails' PII placeholder
            mapping). Never sent to a provider, cached, logged or exported; not part of equality.
        answer_shape: the answer's fields and how to parse them (an ``AnswerShape``), for validators
            that compare answers field by field. Never sent to a provider; not part of equality.
    """

    messages: Sequence[Message]
    tools: Sequence[Mapping[str, Any]] | None = None
    tool_choice: Any = None
    response_format: Mapping[str, Any] | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stop: Sequence[str] | str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    user: str | None = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    private: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    answer_shape: AnswerShape | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "messages", tuple(validate_messages(self.messages)))
        if self.answer_shape is not None and not isinstance(self.answer_shape, AnswerShape):
            raise InputError(f"answer_shape must be an AnswerShape, got {type(self.answer_shape).__name__}")
        object.__setattr__(self, "tags", tuple(self.tags))
        if self.user is not None:
            _check_id("user", self.user)
        for i, tag in enumerate(self.tags):
            _check_id(f"tags[{i}]", tag)
        if self.tools is not None:
            if not isinstance(self.tools, Sequence) or isinstance(self.tools, (str, bytes)):
                raise InputError("tools must be a list of OpenAI tool definitions")
            object.__setattr__(self, "tools", tuple(self.tools) or None)
        if self.response_format is not None and not isinstance(self.response_format, Mapping):
            raise InputError(
                f"response_format must be a mapping such as {{'type': 'json_object'}}, "
                f"got {type(self.response_format).__name__}"
            )
        if self.max_tokens is not None and (
            isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int) or self.max_tokens <= 0
        ):
            raise InputError(f"max_tokens must be a positive int, got {self.max_tokens!r}")
        if self.temperature is not None and (
            isinstance(self.temperature, bool) or not isinstance(self.temperature, (int, float))
        ):
            raise InputError(f"temperature must be a number, got {self.temperature!r}")

    @property
    def last_user_text(self) -> str:
        """Text of the latest user turn (what routing and guardrails mostly look at)."""
        for m in reversed(self.messages):
            if m.get("role") == "user":
                return content_text(m.get("content"))
        return ""

    @property
    def wants_json(self) -> bool:
        rf = self.response_format
        return rf is not None and rf.get("type") in ("json_object", "json_schema")

    @property
    def json_schema(self) -> Mapping[str, Any] | None:
        rf = self.response_format or {}
        if rf.get("type") == "json_schema":
            js = rf.get("json_schema") or {}
            return js.get("schema", js) if isinstance(js, Mapping) else None
        return None

    @property
    def tool_names(self) -> frozenset[str]:
        names = set()
        for t in self.tools or ():
            fn = t.get("function", t) if isinstance(t, Mapping) else {}
            if isinstance(fn, Mapping) and fn.get("name"):
                names.add(fn["name"])
        return frozenset(names)

    def provider_kwargs(self) -> dict[str, Any]:
        """The kwargs sent to the provider (not user/tags/metadata, which stay ours)."""
        kw: dict[str, Any] = {"messages": list(self.messages)}
        for name in ("tools", "tool_choice", "response_format", "temperature", "max_tokens", "stop"):
            value = getattr(self, name)
            if value is not None:
                kw[name] = list(value) if name == "tools" else value
        kw.update(self.params)
        return kw


def _check_id(name: str, value: Any) -> None:
    """A user id or tag goes into ledgers, keys and exports: a string that encodes as UTF-8."""
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string, got {type(value).__name__}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InputError(
                f"{name} {value!r:.60} holds a lone surrogate at position {e.start}, which no ledger "
                "can store (fix: send valid Unicode, e.g. decode the id with errors='replace')"
            ) from None


def sum_costs(costs: Any) -> float | None:
    """The sum of dollar amounts, or ``None`` when any is unknown ("unknown" is never counted as zero).

    Example:
        >>> sum_costs([0.001, 0.002]), sum_costs([0.001, None])
        (0.003, None)
    """
    total = 0.0
    for c in costs:
        if c is None:
            return None
        total += c
    return total


def content_text(content: Any) -> str:
    """Plain text of an OpenAI message content (a string or a list of content parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = []
        for p in content:
            if isinstance(p, str):
                parts.append(p)
            elif isinstance(p, Mapping) and p.get("type") == "text":
                parts.append(str(p.get("text", "")))
        return "\n".join(parts)
    return str(content)


def validate_messages(messages: Any) -> list[Message]:
    """Check OpenAI-format messages; raise ``InputError`` naming the message and the problem."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if not isinstance(messages, (list, tuple)) and (
        not isinstance(messages, Sequence) or isinstance(messages, bytes)
    ):
        raise InputError(
            f"messages must be a list of {{'role', 'content'}} dicts, got {type(messages).__name__}"
        )
    if not messages:
        raise InputError(
            "messages is empty: give at least one message, e.g. [{'role': 'user', 'content': 'hi'}]"
        )
    out = []
    for i, m in enumerate(messages):
        if type(m) is not dict and not isinstance(m, Mapping):
            raise InputError(
                f"messages[{i}] must be a dict with 'role' and 'content', got {type(m).__name__}"
            )
        role = m.get("role")
        if not isinstance(role, str) or role not in _ROLES:
            raise InputError(f"messages[{i}].role is {role!r}; use one of {sorted(_ROLES)}")
        content = m.get("content")
        if content is not None and not isinstance(content, (str, list, tuple)):
            raise InputError(
                f"messages[{i}].content must be a string or a list of content parts, "
                f"got {type(content).__name__}"
            )
        if content is None and role in ("user", "system"):
            raise InputError(f"messages[{i}] ({role}) has no content")
        out.append(dict(m))
    return out


@dataclass(frozen=True)
class ToolCall:
    """A tool call proposed by a model; ``arguments`` is the raw JSON string the model produced."""

    id: str
    name: str
    arguments: str

    def to_openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True)
class InvalidToolCall:
    """A tool call the answering model made that failed validation: never to be executed as valid.

    ``error`` says why (unknown tool, arguments not JSON or not fitting the tool's parameters, or the
    last tier's validator rejected it). Mirrors LangChain's ``InvalidToolCall``.
    """

    id: str
    name: str
    arguments: str
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments, "error": self.error}


@dataclass(frozen=True)
class Draft:
    """One model's answer to a request, with what it cost.

    ``logprob`` is the sequence log-probability (sum over output tokens) when the provider returned
    logprobs, else ``None``; ``mean_logprob`` is its per-token mean. ``cost`` is ``None`` when the model
    has no known price (neither configured nor in LiteLLM's price map).
    """

    model: str
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = 0.0
    latency_s: float = 0.0
    logprob: float | None = None
    mean_logprob: float | None = None
    cached: bool = False
    raw: Any = field(default=None, repr=False, compare=False)
    first_chunk_s: float | None = None
    """Seconds from the call to its first streamed chunk (streamed calls only)."""

    @property
    def confidence(self) -> float | None:
        """exp(logprob): the probability the model gave its own answer, when known."""
        return None if self.logprob is None else math.exp(min(self.logprob, 0.0))

    def message(self) -> Message:
        """The answer as an OpenAI assistant message."""
        msg: Message = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            msg["tool_calls"] = [tc.to_openai() for tc in self.tool_calls]
        return msg

    def with_first_chunk(self, seconds: float | None) -> Draft:
        """This draft with its time to first chunk (kept when already set, or when ``seconds`` is None)."""
        if seconds is None or self.first_chunk_s is not None:
            return self
        return replace(self, first_chunk_s=seconds)


@dataclass(frozen=True)
class Verdict:
    """A validator's judgement of a tier's drafts.

    Args:
        accept: whether the answer is good enough to return.
        score: confidence in [0, 1] that the answer is good.
        reasons: human-readable reasons, e.g. ``("2/2 drafters agree on '18'",)``.
        validator: name of the validator that decided.
        chosen: index of the draft to return among the tier's drafts.
        charges: model calls the validator itself made and paid for (a judge's grading calls); the
            engine books each as a ``judge`` attempt, so trace, cost and ledger include them.
    """

    accept: bool
    score: float
    reasons: tuple[str, ...] = ()
    validator: str = ""
    chosen: int = 0
    charges: tuple[Draft, ...] = ()

    def __post_init__(self) -> None:
        s = float(self.score)
        if math.isnan(s):
            s = 0.0
        object.__setattr__(self, "score", min(1.0, max(0.0, s)))
        if isinstance(self.reasons, str):
            object.__setattr__(self, "reasons", (self.reasons,))
        else:
            object.__setattr__(self, "reasons", tuple(self.reasons))


AttemptStatus = Literal["accepted", "rejected", "error", "superseded", "judge"]


@dataclass(frozen=True)
class Attempt:
    """One model call made while answering a request, with its outcome.

    ``status`` is ``accepted`` (this draft answered), ``rejected`` (validator or guardrail said no),
    ``error`` (the call failed; ``error`` holds its kind and message), ``superseded`` (another drafter
    of the same tier was chosen) or ``judge`` (a validator's own model call grading a draft: billed).
    ``cost`` is ``None`` when the model's price is unknown. ``first_chunk_s``: seconds to the first
    streamed chunk, for calls that streamed live.
    """

    tier: str
    model: str
    status: AttemptStatus
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = 0.0
    latency_s: float = 0.0
    score: float | None = None
    reasons: tuple[str, ...] = ()
    error: str | None = None
    error_kind: str | None = None
    cached: bool = False
    first_chunk_s: float | None = None

    def describe(self) -> str:
        if self.status == "error":
            return f"{self.tier}/{self.model}: {self.error_kind or 'error'} ({self.error})"
        why = "; ".join(self.reasons) if self.reasons else ""
        return f"{self.tier}/{self.model}: {self.status}" + (f" ({why})" if why else "")


@dataclass(frozen=True)
class CascadeResult:
    """The answer and the trace of how it was reached.

    Attributes:
        text: the answer text (``""`` for a pure tool-call answer).
        tool_calls: tool calls of the answer.
        model: the model that answered; ``tier``: its tier.
        attempts: every model call, in order, accepted, rejected or failed.
        cost: total dollars spent on this request (rejected drafts included); ``None`` when a model
            that was called has no known price (see ``ModelSpec.input_cost_per_token``).
        verifier_cost: what the strongest tier of the plan alone would have cost for the same tokens.
        escalated: whether a tier after the first answered.
        latency_s: wall time of the request.
        route: the router's decisions and reasons; ``guardrails``: guardrail decisions (types, never values).
        admission: the tracker's decision (allow / warn / degrade) and its message.
        request_id: id shared by the ledger entries of this request.
        invalid_tool_calls: tool calls of the answer that failed validation (the last tier answered
            anyway); they are *not* in ``tool_calls``, so an agent never executes them as valid.
    """

    text: str
    model: str
    tier: str
    attempts: tuple[Attempt, ...]
    cost: float | None
    verifier_cost: float | None
    escalated: bool
    latency_s: float
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached: bool = False
    route: tuple[str, ...] = ()
    guardrails: tuple[Mapping[str, Any], ...] = ()
    admission: Mapping[str, Any] | None = None
    request_id: str = ""
    user: str | None = None
    tags: tuple[str, ...] = ()
    draft: Draft | None = field(default=None, repr=False, compare=False)
    invalid_tool_calls: tuple[InvalidToolCall, ...] = ()

    @property
    def savings(self) -> float | None:
        """Dollars saved against calling the verifier alone (negative when the cascade cost more);
        ``None`` when either cost is unknown."""
        if self.verifier_cost is None or self.cost is None:
            return None
        return self.verifier_cost - self.cost

    @property
    def accepted_attempt(self) -> Attempt | None:
        return next((a for a in self.attempts if a.status == "accepted"), None)

    def message(self) -> Message:
        """The answer as an OpenAI assistant message."""
        msg: Message = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            msg["tool_calls"] = [tc.to_openai() for tc in self.tool_calls]
        return msg

    def explain(self) -> str:
        """Multi-line, human-readable account of the decisions and costs."""
        from ._display import explain

        return explain(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready trace (no raw provider objects, no keys)."""
        from ._display import result_to_dict

        return result_to_dict(self)

    def __repr__(self) -> str:
        from ._display import short_repr

        return short_repr(self)

    def _repr_html_(self) -> str:
        from ._display import result_html

        return result_html(self)


EventType = Literal["delta", "tool_call", "escalation", "final"]


@dataclass(frozen=True)
class StreamEvent:
    """One item of a streamed cascade.

    ``delta``: ``text`` is the next piece of the answer (``model`` says whose).
    ``tool_call``: ``tool_calls`` holds the answer's complete tool calls (emitted once, validated).
    ``escalation``: in optimistic mode (or after a mid-stream failure) the text emitted so far is withdrawn
    and the next tier's answer follows; ``reason`` says why.
    ``final``: the last event; ``result`` holds the ``CascadeResult`` with usage and cost.
    """

    type: EventType
    text: str = ""
    model: str = ""
    reason: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    result: CascadeResult | None = None
