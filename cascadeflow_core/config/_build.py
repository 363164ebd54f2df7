"""From a validated configuration (``_schema``) to the objects it describes: tiers of ``ModelSpec`` with
their validators, the ``CascadeRouter``, the cache, ``CascadeOptions``, the ``CostTracker``, the
guardrails, and the ``Cascade`` composing them.

Everything here has passed the schema, so what can still fail is what depends on the world at build
time: an ``api_key_env`` variable that is not set, a guardrails section the guardrails' own loader
refuses. Errors name the field like the schema's do (``tiers[0].models[1].api_key_env``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from .._errors import ConfigError
from .._types import ModelSpec, Tier
from ..caching._cache import RedisResponseCache, ResponseCache, SemanticCache
from ..routing._router import CascadeRouter
from ._issues import config_error
from ._schema import (
    AllOfConfig,
    AnyOfConfig,
    CacheConfig,
    CallableValidatorConfig,
    CascadeConfig,
    LogprobValidatorConfig,
    ModelConfig,
    OptionsConfig,
    RouterSection,
    RulesValidatorConfig,
    SchemaValidatorConfig,
    ScorerValidatorConfig,
    TierConfig,
    TrackerSection,
    ValidatorEntry,
    import_object,
)

__all__ = ["build_cascade", "build_validator"]


def build_cascade(cfg: CascadeConfig, cls: Any = None, **overrides: Any) -> Any:
    """Construct the ``Cascade`` (or ``cls``); ``overrides`` are ``Cascade`` keyword arguments."""
    if cls is None:
        from .._cascade import Cascade

        cls = Cascade
    tiers = [build_tier(t, f"tiers[{i}]") for i, t in enumerate(cfg.tiers)]
    router = (cfg.router or RouterSection.model_validate({})).to_router_config()
    router.check_tiers(tiers)
    kwargs: dict[str, Any] = {"router": CascadeRouter(router)}
    if cfg.cache is not None:
        kwargs["cache"] = build_cache(cfg.cache)
    if cfg.options is not None:
        kwargs["options"] = build_options(cfg.options)
    if cfg.tracker is not None:
        kwargs["tracker"] = build_tracker(cfg.tracker)
    if cfg.guardrails is not None:
        kwargs["guardrails"] = build_guardrails(cfg.guardrails)
    kwargs.update(overrides)
    return cls(tiers, **kwargs)


def build_tier(tier: TierConfig, path: str) -> Tier:
    """One ``Tier`` of ``ModelSpec`` (keys read from the environment now, never stored in the config)."""
    models = [build_model(m, f"{path}.models[{i}]") for i, m in enumerate(tier.models)]
    fallbacks = [build_model(m, f"{path}.fallbacks[{i}]") for i, m in enumerate(tier.fallbacks)]
    validator = None if tier.validator is None else build_validator(tier.validator, f"{path}.validator")
    return Tier(models, validator, tier.name, fallbacks, tuple(tier.domains), tier.pii_allowed)


def build_model(m: ModelConfig, path: str) -> ModelSpec:
    key = None
    if m.api_key_env:
        key = os.environ.get(m.api_key_env)
        if key is None:
            raise ConfigError(
                f"{path}.api_key_env",
                f"environment variable {m.api_key_env} is not set",
                f"export {m.api_key_env}=... or remove api_key_env",
            )
    try:
        return ModelSpec(
            m.model,
            m.input_cost_per_token,
            m.output_cost_per_token,
            m.api_base,
            key,
            dict(m.params),
            m.context_window,
            m.quality,
            tuple(m.domains),
            m.name,
            pii_allowed=m.pii_allowed,
        )
    except ConfigError as e:
        raise ConfigError(f"{path}.{e.field}", e.problem, e.fix) from e


@functools.cache
def _validator_form() -> TypeAdapter[Any]:
    return TypeAdapter(ValidatorEntry)


def build_validator(spec: Any, path: str = "validator") -> Any:
    """A validator object from its configuration: a validated spec, or its YAML form
    (``"rules"``, ``{type: agreement, min_agree: 2}``, ``{any: [...]}``), checked first."""
    from ..validation import _validators as v

    if not isinstance(spec, BaseModel):
        try:
            spec = _validator_form().validate_python(spec)
        except ValidationError as e:
            raise config_error(e, spec, path, prefix=path) from e
    if isinstance(spec, (AnyOfConfig, AllOfConfig)):
        kind = "any" if isinstance(spec, AnyOfConfig) else "all"
        items = getattr(spec, kind)
        parts = [build_validator(item, f"{path}.{kind}[{j}]") for j, item in enumerate(items)]
        return (v.AnyOf if kind == "any" else v.AllOf)(*parts)
    kw = {k: val for k, val in spec.model_dump(exclude={"type"}).items() if val is not None}
    try:
        if isinstance(spec, RulesValidatorConfig):
            return v.RuleValidator(**{**kw, **({"checks": tuple(kw["checks"])} if "checks" in kw else {})})
        if isinstance(spec, SchemaValidatorConfig):
            return v.SchemaValidator(**kw)
        if isinstance(spec, LogprobValidatorConfig):
            return v.LogprobValidator(**kw)
        if isinstance(spec, CallableValidatorConfig):
            return v.CallableValidator(import_object(kw.pop("function")), **kw)
        if isinstance(spec, ScorerValidatorConfig):
            from ..validation._scored import ScorerValidator

            return ScorerValidator(**kw)
        return v.AgreementValidator(**kw)
    except ConfigError as e:
        sub = "function" if isinstance(spec, CallableValidatorConfig) else e.field.rsplit(".", 1)[-1]
        raise ConfigError(f"{path}.{sub}" if sub else path, e.problem, e.fix) from e


def build_cache(c: CacheConfig) -> ResponseCache | RedisResponseCache | SemanticCache:
    if c.type == "semantic":
        from ..routing._domain import load_local_embedder

        return SemanticCache(
            load_local_embedder(c.model_dir), c.threshold, c.max_entries, c.ttl_s, c.namespace
        )
    if c.type == "redis":
        return RedisResponseCache(
            url=c.url, ttl_s=c.ttl_s, prefix=c.prefix, namespace=c.namespace, fail_open=c.fail_open
        )
    return ResponseCache(c.max_entries, c.ttl_s, c.namespace)


def build_options(o: OptionsConfig) -> Any:
    from .._cascade import CascadeOptions

    kw = o.model_dump(exclude={"retry", "audit"})
    if o.retry is not None:
        kw["retry"] = o.retry.build()
    if o.audit is not None:
        kw["audit"] = o.audit.build()
    try:
        return CascadeOptions(**kw)
    except ConfigError as e:
        raise ConfigError(f"options.{e.field.rsplit('.', 1)[-1]}", e.problem, e.fix) from e


def build_tracker(t: TrackerSection) -> Any:
    """``tracker:`` -> ``CostTracker(store, budgets, rate_limits, policy)``."""
    from ..tracking._tracker import CostTracker

    budgets = [b.build() for b in t.budgets]  # type: ignore[attr-defined]
    limits = [r.build() for r in t.rate_limits]  # type: ignore[attr-defined]
    policy = t.policy.build() if t.policy is not None else None
    return CostTracker(_build_store(t.store), budgets, limits, policy)


def _build_store(spec: str) -> Any:
    from ..tracking._stores import MemoryStore, SQLiteStore

    if spec == "memory":
        return MemoryStore()
    if spec.startswith("sqlite:///"):
        return SQLiteStore(spec[len("sqlite:///") :])
    if spec.startswith(("postgresql://", "postgres://")):
        from ..tracking._store_postgres import PostgresStore

        return PostgresStore(spec)
    from ..tracking._store_redis import RedisStore

    # the schema let only redis[s]://, redis[s]+cluster://, redis[s]+sentinel:// and unix:// through
    return RedisStore(spec)


def build_guardrails(data: Mapping[str, Any]) -> Any:
    """``guardrails:`` is read by the guardrails' own loader; its errors get the section's prefix."""
    from ..guardrails._pipeline import from_config

    try:
        return from_config(dict(data))
    except ConfigError as e:
        field = e.field if e.field.startswith("guardrails") else f"guardrails.{e.field}"
        raise ConfigError(field, e.problem, e.fix) from e
