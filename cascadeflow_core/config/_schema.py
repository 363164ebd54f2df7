"""The configuration schema: what a YAML file, a mapping, a preset or the environment may say.

pydantic models, ``extra="forbid"``, strict scalars (YAML ``true`` is not a number, ``"8"`` is not an
int). Shorthands are expanded by before-validators and stay in the JSON Schema (``json_schema()``) so an
editor accepts what the loader accepts: a bare model string is a model, a bare string or list a tier, a
validator name a validator, ``cache: redis`` a cache type. Domain rules live here as field validators
(names from the stations' own constants: ``DOMAINS``, ``LEVELS``, ``RuleValidator.CHECKS``). A rule a
station already enforces in its constructor (model strings and prices in ``ModelSpec``, budget thresholds
in ``Budget``) is checked by calling that constructor (``_station``), so the rule is written once.

Errors raised here are ``ConfigError`` with a field *relative* to where they were raised (``"url"``,
``""``); ``_issues.config_error`` turns pydantic's error list into one ``ConfigError`` with the full field
path and the YAML line. To add a field: declare it on the model of its section (the JSON Schema and the
unknown-key hints follow) and use it in ``_build``.
"""

from __future__ import annotations

import dataclasses
import importlib
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    Strict,
    StrictBool,
    StrictInt,
    StrictStr,
    Tag,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .._errors import ConfigError
from .._types import ModelSpec
from ..engine._engine import RetryPolicy
from ..routing._complexity import LEVELS
from ..routing._domain import DOMAINS
from ..routing._router import DegradeMode, RouterConfig
from ..tracking._budget import Budget, RateLimit, TrackerPolicy
from ..validation._extract import check_kind
from ..validation._validators import RuleValidator

__all__ = [
    "CacheConfig",
    "CascadeConfig",
    "ModelConfig",
    "OptionsConfig",
    "RuleError",
    "RouterSection",
    "TierConfig",
    "TrackerSection",
    "ValidatorSpec",
    "json_schema",
    "rule",
]

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"


class RuleError(ConfigError):
    """A domain rule broken inside the schema: ``field`` is relative to the value being validated
    (``""``: the value itself); ``_issues.config_error`` prefixes the path. Never leaves the package."""


def rule(field: str, problem: str, fix: str = "") -> RuleError:
    """A ``RuleError`` to raise from a validator (pydantic records it, being a ``ValueError``)."""
    return RuleError(field, problem, fix)


def _station(make: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a station's constructor for the rules it checks itself; its error names the last field part
    (``RetryPolicy.max_retries`` -> ``max_retries``), to be prefixed with this value's path."""
    try:
        return make(*args, **kwargs)
    except ConfigError as e:
        raise rule(e.field.rsplit(".", 1)[-1], e.problem, e.fix) from e


# --- building blocks -------------------------------------------------------------------------------------
class _Base(BaseModel):
    """Frozen, closed (unknown keys fail with a suggestion), finite numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        # extra="forbid" would say only "Extra inputs are not permitted"; this names the valid keys.
        if isinstance(data, Mapping):
            for key in data:
                if key not in cls.model_fields:
                    raise PydanticCustomError(
                        "unknown_key", "unknown key", {"key": str(key), "allowed": list(cls.model_fields)}
                    )
        return data


Float = Annotated[float, Strict()]


def _unit_check(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise PydanticCustomError("unit_interval", "must be in [0, 1], got {value}", {"value": value})
    return value


Unit = Annotated[
    float, Strict(), AfterValidator(_unit_check), Field(json_schema_extra={"minimum": 0, "maximum": 1})
]
"""A probability-like threshold in [0, 1]."""


def _choice(noun: str, options: Sequence[str]) -> Any:
    """A string among ``options``: an ``enum`` in the JSON Schema; ``unknown <noun> 'x'`` otherwise."""
    allowed: list[JsonValue] = list(options)

    def check(value: str) -> str:
        if value not in allowed:
            raise PydanticCustomError(
                "unknown_choice",
                "unknown {noun} {value}",
                {"noun": noun, "value": repr(value), "options": allowed},
            )
        return value

    return Annotated[StrictStr, AfterValidator(check), Field(json_schema_extra={"enum": allowed})]


def _listify(value: Any) -> Any:
    """One item stands for a list of one; null for an empty list."""
    if value is None:
        return []
    return [value] if isinstance(value, (str, Mapping)) else value


Domain = _choice("domain", DOMAINS)
Domains = Annotated[
    list[Domain],  # type: ignore[valid-type]
    BeforeValidator(_listify, json_schema_input_type=Domain | list[Domain]),  # type: ignore[valid-type]
]
"""Domains a model or tier is a specialist for: one name or a list."""


# --- models and validators ---------------------------------------------------------------------------------
class ModelConfig(_Base):
    """One model of a tier. A bare string is the model alone (``openai/gpt-4o-mini``)."""

    model: StrictStr = Field(description="A LiteLLM model string, ``provider/name``.")
    name: StrictStr | None = Field(
        None, description="A label for traces and routes (default: the model string)."
    )
    input_cost_per_token: Float | None = Field(
        None, description="Dollars per input token; overrides LiteLLM's price map (give both prices)."
    )
    output_cost_per_token: Float | None = Field(
        None, description="Dollars per output token; overrides LiteLLM's price map (give both prices)."
    )
    api_base: StrictStr | None = Field(
        None, description="The provider endpoint, e.g. an OpenAI-compatible server."
    )
    api_key_env: StrictStr | None = Field(
        None, description="The environment variable holding the key (never write keys in the file)."
    )
    params: dict[str, Any] = Field(
        {}, description="Extra provider keyword arguments (``top_p``, ``mock_response`` ...)."
    )
    context_window: StrictInt | None = Field(
        None, description="Tokens the model accepts; used by the router's context check."
    )
    quality: StrictInt = Field(0, description="A rank used by ``degrade: max_quality``.")
    domains: Domains = []
    pii_allowed: StrictBool = Field(
        False,
        description="May see personal data (a local or in-VPC model), for ``guardrails: {pii: route}``.",
    )

    @model_validator(mode="after")
    def _spec_rules(self) -> ModelConfig:  # ModelSpec checks the model string, prices and window
        _station(
            ModelSpec,
            self.model,
            self.input_cost_per_token,
            self.output_cost_per_token,
            params=self.params,
            context_window=self.context_window,
        )
        return self


def _model_shorthand(value: Any) -> Any:
    return {"model": value} if isinstance(value, str) else value


ModelEntry = Annotated[
    ModelConfig, BeforeValidator(_model_shorthand, json_schema_input_type=StrictStr | ModelConfig)
]
Models = Annotated[
    list[ModelEntry], BeforeValidator(_listify, json_schema_input_type=ModelEntry | list[ModelEntry])
]


class _ValidatorBase(_Base):
    name: StrictStr | None = Field(None, description="The name shown in verdicts and traces.")


class RulesValidatorConfig(_ValidatorBase):
    """``RuleValidator``: cheap checks on each draft; accepts a draft that passes all enabled checks."""

    type: Literal["rules"]
    checks: list[_choice("checks", RuleValidator.CHECKS)] | None = Field(  # type: ignore[valid-type]
        None, description="The checks to run (default: all)."
    )


class AgreementValidatorConfig(_ValidatorBase):
    """``AgreementValidator``: accepts when ``min_agree`` drafters give the same final answer."""

    type: Literal["agreement"]
    min_agree: StrictInt = Field(2, ge=2, description="How many drafts must share the answer.")
    extract: StrictStr = Field(
        "auto", description="Extraction kind: auto, number, choice, boxed, json, text, or json:<field>."
    )

    @field_validator("extract")
    @classmethod
    def _kind(cls, value: str) -> str:
        problem = check_kind(value)
        if problem:
            raise rule("", problem, "e.g. extract: number, or json:answer")
        return value


class LogprobValidatorConfig(_ValidatorBase):
    """``LogprobValidator``: accepts a draft the model was confident in (exp(logprob) >= threshold)."""

    type: Literal["logprob"]
    threshold: Unit = 0.9
    mode: _choice("mode", ("sequence", "mean")) = Field(  # type: ignore[valid-type]
        "sequence",
        description="``sequence``: the answer's total probability (short answers); ``mean``: per token.",
    )


class SchemaValidatorConfig(_ValidatorBase):
    """``SchemaValidator``: the JSON parses and fits the requested schema; tool calls are valid."""

    type: Literal["schema"]


class CallableValidatorConfig(_ValidatorBase):
    """``CallableValidator`` of an importable function ``(drafts, request) -> Verdict | bool | float``."""

    type: Literal["callable"]
    function: StrictStr = Field(
        pattern=r"^[\w.]+:[\w.]+$", description="The function as ``package.module:function``."
    )

    @field_validator("function")
    @classmethod
    def _importable(cls, value: str) -> str:
        import_object(value)
        return value


class ScorerValidatorConfig(_ValidatorBase):
    """``ScorerValidator``: a learned acceptance scorer fitted and certified by ``calibrate --save``."""

    type: Literal["scorer"]
    model: dict[str, Any] = Field(description="The fitted scorer (``AcceptanceScorer.to_dict()``).")
    threshold: Unit = Field(description="The certified score threshold.")
    extract: StrictStr = Field("auto", description="Answer extraction for the agreement signals.")


class AnyOfConfig(_Base):
    """``AnyOf``: accepts when any of the validators accepts."""

    any: list[ValidatorEntry] = Field(min_length=1)


class AllOfConfig(_Base):
    """``AllOf``: accepts when all of the validators accept."""

    all: list[ValidatorEntry] = Field(min_length=1)


_VALIDATORS: dict[str, type[_Base]] = {
    "rules": RulesValidatorConfig,
    "agreement": AgreementValidatorConfig,
    "logprob": LogprobValidatorConfig,
    "schema": SchemaValidatorConfig,
    "callable": CallableValidatorConfig,
    "scorer": ScorerValidatorConfig,
    "any": AnyOfConfig,
    "all": AllOfConfig,
}
VALIDATOR_TYPES = tuple(t for t in _VALIDATORS if t not in ("any", "all"))


def _validator_tag(value: Any) -> str | None:
    """The union member of a validator's form; tags are ``<...>`` so the error path can drop them."""
    if isinstance(value, BaseModel):
        return next(f"<{k}>" for k, cls in _VALIDATORS.items() if isinstance(value, cls))
    if not isinstance(value, Mapping):
        return None
    if len(value) == 1 and next(iter(value)) in ("any", "all"):
        return f"<{next(iter(value))}>"
    kind = value.get("type")
    return f"<{kind}>" if isinstance(kind, str) else "<?>"


ValidatorSpec = Annotated[  # type: ignore[valid-type]
    Union[tuple(Annotated[cls, Tag(f"<{k}>")] for k, cls in _VALIDATORS.items())],  # noqa: UP007
    Discriminator(_validator_tag),
]
"""A validator: one of the typed forms, or ``any:`` / ``all:`` of validators (nestable)."""


def _validator_shorthand(value: Any) -> Any:
    return {"type": value} if isinstance(value, str) else value


ValidatorEntry = Annotated[
    ValidatorSpec,  # type: ignore[valid-type]
    BeforeValidator(
        _validator_shorthand,
        json_schema_input_type=Literal[VALIDATOR_TYPES] | ValidatorSpec,
    ),
]
AnyOfConfig.model_rebuild()
AllOfConfig.model_rebuild()


def import_object(spec: str) -> Any:
    """The object named ``package.module:attr`` (``ConfigError`` when it cannot be imported)."""
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise rule("", f"{spec!r} is not 'package.module:function'", 'e.g. "myapp.checks:is_valid"')
    try:
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise rule("", f"cannot import {spec!r}: {e}", "check the module path and function name") from e
    return obj


# --- tiers -------------------------------------------------------------------------------------------------
class TierConfig(_Base):
    """One tier: its models (run concurrently), their validator, fallbacks and specialist domains."""

    name: StrictStr = Field(
        description="Tier name used by routes and traces (default ``tier1``, ``tier2`` ... by position)."
    )
    models: Models = Field(
        [], json_schema_extra={"minItems": 1}, description="One model, or several drafters run concurrently."
    )
    model: ModelEntry | None = Field(
        None, exclude=True, repr=False, description="Shorthand for ``models: [model]``."
    )
    validator: ValidatorEntry | None = Field(
        None,
        description="How drafts of this tier are judged (default: rules, plus agreement with two or more models).",
    )
    fallbacks: Models = Field([], description="Models that replace a model of this tier whose call failed.")
    domains: Domains = []
    pii_allowed: StrictBool = Field(
        False, description="The tier (its models and fallbacks) may see personal data (``pii: route``)."
    )

    @model_validator(mode="before")
    @classmethod
    def _one_model_key(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "model" in data:
            if "models" in data:
                raise rule("", "give either `model` or `models`, not both", "use models: [...] for several")
            data = {("models" if k == "model" else k): v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _has_models(self) -> TierConfig:
        if not self.models:
            raise rule("models", "a tier needs at least one model", 'e.g. models: ["openai/gpt-4o-mini"]')
        return self


def _tier_shorthand(tiers: Any) -> Any:
    """Bare strings and lists become tiers; a tier without a name is named by its position."""
    if isinstance(tiers, (str, bytes, Mapping)) or not isinstance(tiers, Sequence):
        return tiers  # the list check reports it
    out = []
    for i, tier in enumerate(tiers):
        if isinstance(tier, (str, list, tuple)):
            tier = {"name": f"tier{i + 1}", "models": tier}
        elif isinstance(tier, Mapping) and tier.get("name") is None:
            tier = {**tier, "name": f"tier{i + 1}"}
        out.append(tier)
    return out


_TierInput = ModelEntry | list[ModelEntry] | TierConfig
Tiers = Annotated[
    list[TierConfig],
    BeforeValidator(_tier_shorthand, json_schema_input_type=list[_TierInput]),
    Field(min_length=1),
]


# --- sections ----------------------------------------------------------------------------------------------
Route = Annotated[
    list[Annotated[StrictStr, Field(min_length=1)]],
    BeforeValidator(_listify, json_schema_input_type=StrictStr | list[StrictStr]),
    Field(min_length=1),
]


class RouterSection(_Base):
    """Routing rules (``RouterConfig``): domain routes, complexity skip, what ``degrade`` does."""

    domains: dict[_choice("domain", (*DOMAINS, "default")), Route] = Field(  # type: ignore[valid-type]
        {},
        description="Domain -> tier names (or model strings), in order; ``default`` routes every other domain.",
    )
    skip_drafters_at: _choice("complexity level", LEVELS) | None = Field(  # type: ignore[valid-type]
        None, description="Complexity level from which the drafters are skipped and the last tier answers."
    )
    degrade: _choice("degrade policy", typing.get_args(DegradeMode)) = Field(  # type: ignore[valid-type]
        "drop_last", description="What a tracker ``degrade`` decision does to the plan."
    )
    degrade_max_quality: StrictInt | None = Field(
        None, description="The quality cap for ``degrade: max_quality``."
    )
    min_domain_confidence: Unit = Field(
        0.0, description="Domain routes apply only above this detector confidence."
    )
    check_capabilities: StrictBool = Field(
        True, description="Drop tiers whose models cannot take the request's tools, JSON schema or images."
    )
    check_context: StrictBool = Field(
        True, description="Drop tiers whose models' context window cannot fit the prompt."
    )

    @model_validator(mode="after")
    def _router_rules(self) -> RouterSection:
        self.to_router_config()  # RouterConfig checks the combinations (max_quality needs its cap)
        return self

    def to_router_config(self) -> RouterConfig:
        routes = {d: tuple(n) for d, n in self.domains.items()}
        fields = self.model_dump(exclude={"domains"})
        return _station(RouterConfig, domain_routes=routes, **fields)


class CacheConfig(_Base):
    """The response cache: ``memory`` (LRU + TTL), ``redis`` (needs ``url``) or ``semantic`` (near-duplicate
    questions, with the local all-MiniLM-L6-v2; ``threshold`` is the cosine similarity)."""

    type: _choice("cache type", ("memory", "redis", "semantic")) = "memory"  # type: ignore[valid-type]
    max_entries: StrictInt = Field(
        1024, ge=1, description="Entries kept (memory, semantic); the least recently used goes first."
    )
    ttl_s: Float | None = Field(3600.0, gt=0, description="Seconds an entry lives; null: no expiry.")
    url: StrictStr | None = Field(None, description="Redis URL (``redis://host:6379/0``).")
    prefix: StrictStr = "cascadeflow:cache:"
    namespace: StrictStr = ""
    fail_open: StrictBool = Field(
        False, description="Redis: answer without the cache when Redis is down (default: fail)."
    )
    threshold: Unit = Field(0.95, description="Semantic: cosine similarity above which a question is a hit.")
    model_dir: StrictStr | None = Field(
        None, description="Semantic: folder of the embedding model (default: the packaged one)."
    )

    @model_validator(mode="after")
    def _redis_url(self) -> CacheConfig:
        if self.type == "redis" and not self.url:
            raise rule("url", "a redis cache needs a url", 'e.g. url: "redis://localhost:6379/0"')
        return self


def _station_model(cls: type, doc: str) -> type[_StationModel]:
    """The schema of a station's plain dataclass (``Budget`` ...): same fields, types and defaults, so
    the dataclass stays the one definition; strict and closed; built to run its own checks."""
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        default = ... if f.default is dataclasses.MISSING else f.default
        fields[f.name] = (_strict(hints[f.name]), default)
    model = create_model(f"{cls.__name__}Config", __base__=_StationModel, __doc__=doc, **fields)
    model.station = cls
    return model


_STRICT: dict[Any, Any] = {float: Float, int: StrictInt, bool: StrictBool, str: StrictStr}


def _strict(hint: Any) -> Any:
    """``float`` -> strict float, ``str | None`` -> strict str or None; literals and others as they are."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        return Union[tuple(_strict(a) for a in typing.get_args(hint))]  # noqa: UP007
    return _STRICT.get(hint, hint)


class _StationModel(_Base):
    station: ClassVar[type]

    @model_validator(mode="after")
    def _station_rules(self) -> _StationModel:
        self.build()
        return self

    def build(self) -> Any:
        return _station(self.station, **self.model_dump())


RetryConfig = _station_model(RetryPolicy, "Retries of one model call (``RetryPolicy``).")
BudgetConfig = _station_model(Budget, "A spending cap for a scope over a period (``Budget``).")
RateLimitConfig = _station_model(RateLimit, "A cap on requests or tokens per window (``RateLimit``).")
PolicyConfig = _station_model(TrackerPolicy, "Tracker settings beyond budgets (``TrackerPolicy``).")


class AuditConfig(_StationModel):
    """Audit sampling and drift detection (``Audit``, docs/audit.md); ``on_drift`` is given in code."""

    rate: Float = Field(0.05, description="Share of drafter answers also sent to the verifier.")
    target: Float = Field(0.05, description="Loss rate (verifier disagrees) a tier may have.")
    confidence: Float = 0.95
    window: StrictInt = 200
    tighten: StrictBool = False
    queue_size: StrictInt = 256
    workers: StrictInt = 1
    extract: StrictStr = "auto"
    seed: StrictInt | None = None
    refresh_s: Float = 5.0

    def build(self) -> Any:
        from ..tracking._audit import Audit

        return _station(Audit, **self.model_dump())


class OptionsConfig(_Base):
    """``CascadeOptions``: streaming, batch concurrency, progress bar, retries, audit, mode."""

    stream_mode: _choice("mode", ("buffered", "optimistic", "strict")) = "buffered"  # type: ignore[valid-type]
    max_concurrency: StrictInt = Field(8, ge=1, description="Default concurrency of ``batch`` / ``abatch``.")
    progress: StrictBool | None = Field(
        None, description="Progress bar on batches; null: only on a terminal outside CI."
    )
    retry: RetryConfig | None = None  # type: ignore[valid-type]
    audit: AuditConfig | None = None
    mode: _choice("mode", ("cascade", "observe")) = "cascade"  # type: ignore[valid-type]


class TrackerSection(_Base):
    """The ``CostTracker``: ledger store, budgets, rate limits, policy."""

    store: StrictStr = Field(
        "memory",
        pattern=r"^(memory$|sqlite:///|rediss?(\+cluster|\+sentinel)?://|unix://|postgres(ql)?://)",
        description="``memory``, ``sqlite:///path/ledger.db``, a ``redis://``, ``redis+cluster://``, "
        "``redis+sentinel://`` or ``postgresql://`` URL.",
    )
    budgets: list[BudgetConfig] = []  # type: ignore[valid-type]
    rate_limits: list[RateLimitConfig] = []  # type: ignore[valid-type]
    policy: PolicyConfig | None = None  # type: ignore[valid-type]


def _none_if_false(value: Any) -> Any:
    return None if value is False else value


def _cache_shorthand(value: Any) -> Any:
    if value is True:
        return {"type": "memory"}
    return {"type": value} if isinstance(value, str) else _none_if_false(value)


# --- the whole ---------------------------------------------------------------------------------------------
class CascadeConfig(_Base):
    """A whole cascade configuration: tiers, router rules, cache, options, tracker and guardrails.

    Example:
        >>> cfg = CascadeConfig.model_validate({"tiers": ["openai/gpt-4o-mini", "openai/gpt-4o"]})
        >>> [t.name for t in cfg.tiers]
        ['tier1', 'tier2']
        >>> print(cfg.to_yaml().splitlines()[0])
        tiers:
    """

    model_config = ConfigDict(title="CascadeFlow configuration")

    tiers: Tiers = Field(description="Cheapest first; the last tier is the verifier.")
    router: RouterSection | None = None
    cache: Annotated[
        CacheConfig | None,
        BeforeValidator(_cache_shorthand, json_schema_input_type=bool | StrictStr | CacheConfig | None),
    ] = None
    options: OptionsConfig | None = None
    tracker: TrackerSection | None = None
    guardrails: dict[str, Any] | None = Field(
        None, description="Handed to the guardrails' own loader (pii, injection, moderation ...)."
    )
    calibration: dict[str, Any] | None = Field(
        None,
        description="Provenance written by ``calibrate --save`` (data, n, target, delta, figures); not built.",
    )

    @model_validator(mode="after")
    def _names_and_routes(self) -> CascadeConfig:
        names = [t.name for t in self.tiers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise rule("tiers", f"tier names must be unique, {dupes} repeat", "give each tier its own name")
        valid = set(names) | {m.model for t in self.tiers for m in t.models}
        for domain, route in (self.router.domains if self.router else {}).items():
            for name in route:
                if name not in valid:
                    from difflib import get_close_matches

                    close = get_close_matches(name, sorted(valid), n=1)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    raise rule(
                        f"router.domains.{domain}",
                        f"names tier {name!r}, which does not exist",
                        f"{hint}tier names: {names}",
                    )
        return self

    def to_dict(self) -> dict[str, Any]:
        """The configuration as a plain mapping without defaults (what ``parse_config`` reads back)."""
        out = self.model_dump(exclude_defaults=True)
        for tier in out["tiers"]:
            for key in ("models", "fallbacks"):
                if key in tier:  # a model with nothing but its string is written as the string
                    tier[key] = [m["model"] if list(m) == ["model"] else m for m in tier[key]]
        if self.cache is not None:
            out["cache"] = out.get("cache") or {"type": "memory"}
        for section in ("router", "options"):
            if out.get(section) == {}:
                del out[section]
        return out

    def to_yaml(self) -> str:
        """The configuration as YAML, ready to save, edit and load with ``Cascade.from_config``."""
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None, width=100)

    def build(self, cls: Any = None, **overrides: Any) -> Any:
        """Construct the ``Cascade`` (or ``cls``); ``overrides`` are ``Cascade`` keyword arguments."""
        from ._build import build_cascade

        return build_cascade(self, cls, **overrides)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a configuration file, for editors (``cascadeflow schema``)."""
    return {"$schema": SCHEMA_URI, **CascadeConfig.model_json_schema()}
