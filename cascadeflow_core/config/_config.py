"""Configuration: typed objects, YAML files, environment variables and named presets.

A configuration is a plain mapping (what a YAML file holds) checked into a typed ``CascadeConfig``;
``build`` turns it into a ``Cascade``. Every bad value fails here, at construction, with a
``ConfigError`` naming the field (``tiers[1].validator.threshold``), the YAML line when there is one,
and the fix. The schema, in short (see ``docs/configuration.md``)::

    tiers:                         # cheapest first; the last tier is the verifier
      - name: coder                # a tier: name, models (or model), validator, fallbacks, domains
        models: [openai/gpt-4o-mini]
        domains: [code]
        validator: {type: rules}   # rules | agreement | logprob | schema | callable | {any: [...]} | {all: [...]}
      - openai/gpt-4o              # a bare model string is a one-model tier
    router: {domains: {code: [coder, tier2]}, skip_drafters_at: expert, degrade: cheapest_only}
    cache: {type: memory, max_entries: 1024, ttl_s: 3600}      # or type: redis, url: redis://...
    options: {stream_mode: buffered, max_concurrency: 8, retry: {max_retries: 1}}
    tracker: {...}                 # handed to the tracker's own config loader
    guardrails: {...}              # handed to the guardrails' own config loader
"""

from __future__ import annotations

import copy
import difflib
import importlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .._errors import ConfigError
from .._types import ModelSpec, Tier
from ..caching._cache import RedisResponseCache, ResponseCache, SemanticCache
from ..routing._complexity import LEVELS
from ..routing._domain import DOMAINS
from ..routing._router import CascadeRouter, RouterConfig

__all__ = [
    "ENV_VARS",
    "PRESETS",
    "CacheConfig",
    "CascadeConfig",
    "ModelConfig",
    "TierConfig",
    "cascade_from_config",
    "cascade_from_env",
    "cascade_from_preset",
    "load_config",
    "parse_config",
    "preset_config",
]

_SECTIONS = ("tiers", "router", "cache", "options", "tracker", "guardrails")
_MODEL_KEYS = (
    "model",
    "name",
    "input_cost_per_token",
    "output_cost_per_token",
    "api_base",
    "api_key_env",
    "params",
    "context_window",
    "quality",
    "domains",
)
_TIER_KEYS = ("name", "models", "model", "validator", "fallbacks", "domains")
_ROUTER_KEYS = (
    "domains",
    "skip_drafters_at",
    "degrade",
    "degrade_max_quality",
    "min_domain_confidence",
    "check_capabilities",
    "check_context",
)
_CACHE_KEYS = (
    "type",
    "max_entries",
    "ttl_s",
    "url",
    "prefix",
    "namespace",
    "fail_open",
    "threshold",
    "model_dir",
)
_OPTION_KEYS = ("stream_mode", "max_concurrency", "progress", "retry", "audit", "mode")
_RETRY_KEYS = ("max_retries", "backoff", "max_backoff", "max_retry_after")
_VALIDATOR_TYPES = ("rules", "agreement", "logprob", "schema", "callable")
_VALIDATOR_KEYS = {
    "rules": ("type", "checks", "name"),
    "agreement": ("type", "min_agree", "extract", "name"),
    "logprob": ("type", "threshold", "mode", "name"),
    "schema": ("type", "name"),
    "callable": ("type", "function", "name"),
}


# --- YAML with line numbers ----------------------------------------------------------------------
class _Lines(dict[Any, Any]):
    """A mapping loaded from YAML that remembers the line of each key."""

    lines: dict[Any, int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Lines:
    loader.flatten_mapping(node)
    out = _Lines()
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if isinstance(key, (list, dict)):
            kind = "list" if isinstance(key, list) else "mapping"
            raise ConfigError(
                f"line {line}",
                f"a mapping key must be a plain name, got a {kind}",
                "write the key as text, e.g. 'name: value' (not '? [a]: value')",
            )
        if key in out:
            raise ConfigError(
                str(key), f"duplicate key (line {line}; first at line {out.lines[key]})", "keep one of them"
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = line
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _yaml_load(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise ConfigError(
            source,
            f"YAML syntax error at {where}: {e.problem or e.context}",
            "fix the YAML at that line (indentation, a missing ':' or an unclosed quote)",
        ) from e
    except yaml.YAMLError as e:
        raise ConfigError(source, f"invalid YAML: {e}", "check the file is valid YAML") from e


def _at(m: Any, key: Any) -> str:
    line = getattr(m, "lines", {}).get(key) if isinstance(m, _Lines) else None
    return f" (line {line})" if line else ""


def _check_keys(m: Any, allowed: Sequence[str], path: str) -> Mapping[str, Any]:
    if not isinstance(m, Mapping):
        raise ConfigError(
            path, f"must be a mapping, got {type(m).__name__} {m!r}", f"use keys among {list(allowed)}"
        )
    for key in m:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"{path}.{key}" if path else str(key),
                f"unknown key{_at(m, key)}",
                f"{hint}valid keys: {', '.join(allowed)}",
            )
    return m


def _typed(
    m: Mapping[str, Any], key: str, types: type | tuple[type, ...], path: str, default: Any = None
) -> Any:
    if key not in m or m[key] is None:
        return default
    value = m[key]
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        value = object()  # a YAML true/false where a number or string was meant
    if not isinstance(value, types):
        want = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise ConfigError(f"{path}.{key}", f"must be {want}, got {m[key]!r}{_at(m, key)}")
    return value


def _unit(m: Mapping[str, Any], key: str, path: str, default: float) -> float:
    value = _typed(m, key, (int, float), path, default)
    if not 0.0 <= float(value) <= 1.0:
        raise ConfigError(
            f"{path}.{key}",
            f"must be in [0, 1], got {value!r}{_at(m, key)}",
            "give a probability-like threshold, e.g. 0.8",
        )
    return float(value)


# --- typed configuration -----------------------------------------------------------------------
@dataclass(frozen=True)
class ModelConfig:
    """One model of a tier, as configured (``api_key_env`` names the variable holding the key)."""

    model: str
    name: str | None = None
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None
    api_base: str | None = None
    api_key_env: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    context_window: int | None = None
    quality: int = 0
    domains: tuple[str, ...] = ()

    def to_spec(self, path: str) -> ModelSpec:
        key = None
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if key is None:
                raise ConfigError(
                    f"{path}.api_key_env",
                    f"environment variable {self.api_key_env} is not set",
                    f"export {self.api_key_env}=... or remove api_key_env",
                )
        try:
            return ModelSpec(
                self.model,
                self.input_cost_per_token,
                self.output_cost_per_token,
                self.api_base,
                key,
                dict(self.params),
                self.context_window,
                self.quality,
                self.domains,
                self.name,
            )
        except ConfigError as e:
            raise ConfigError(f"{path}.{e.field}", e.problem, e.fix) from e

    def to_dict(self) -> Any:
        default = ModelConfig(self.model)
        d = {k: _plain(v) for k, v in _asdict(self).items() if k == "model" or v != getattr(default, k)}
        return d["model"] if list(d) == ["model"] else d


@dataclass(frozen=True)
class TierConfig:
    """One tier, as configured. ``validator`` keeps its YAML form (built by ``build_validator``)."""

    name: str
    models: tuple[ModelConfig, ...]
    validator: Any = None
    fallbacks: tuple[ModelConfig, ...] = ()
    domains: tuple[str, ...] = ()

    def to_tier(self, path: str) -> Tier:
        models = [m.to_spec(f"{path}.models[{i}]") for i, m in enumerate(self.models)]
        fallbacks = [m.to_spec(f"{path}.fallbacks[{i}]") for i, m in enumerate(self.fallbacks)]
        validator = None if self.validator is None else build_validator(self.validator, f"{path}.validator")
        return Tier(models, validator, self.name, fallbacks, self.domains)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "models": [m.to_dict() for m in self.models]}
        if self.validator is not None:
            d["validator"] = _plain(self.validator)
        if self.fallbacks:
            d["fallbacks"] = [m.to_dict() for m in self.fallbacks]
        if self.domains:
            d["domains"] = list(self.domains)
        return d


@dataclass(frozen=True)
class CacheConfig:
    """The response cache: ``memory`` (LRU + TTL), ``redis`` (needs ``url``) or ``semantic`` (near-duplicate
    questions, with the local all-MiniLM-L6-v2 of ``MiniLMEmbedder``; ``threshold`` is the cosine similarity)."""

    type: str = "memory"
    max_entries: int = 1024
    ttl_s: float | None = 3600.0
    url: str | None = None
    prefix: str = "cascadeflow:cache:"
    namespace: str = ""
    fail_open: bool = False
    threshold: float = 0.95
    model_dir: str | None = None

    def build(self) -> ResponseCache | RedisResponseCache | SemanticCache:
        if self.type == "semantic":
            from ..routing._domain import load_local_embedder

            return SemanticCache(
                load_local_embedder(self.model_dir),
                self.threshold,
                self.max_entries,
                self.ttl_s,
                self.namespace,
            )
        if self.type == "redis":
            return RedisResponseCache(
                url=self.url,
                ttl_s=self.ttl_s,
                prefix=self.prefix,
                namespace=self.namespace,
                fail_open=self.fail_open,
            )
        return ResponseCache(self.max_entries, self.ttl_s, self.namespace)


@dataclass(frozen=True)
class CascadeConfig:
    """A whole cascade configuration: tiers, router rules, cache, options and pass-through sections.

    Example:
        >>> cfg = parse_config({"tiers": ["openai/gpt-4o-mini", "openai/gpt-4o"]})
        >>> [t.name for t in cfg.tiers]
        ['tier1', 'tier2']
        >>> print(cfg.to_yaml().splitlines()[0])
        tiers:
    """

    tiers: tuple[TierConfig, ...]
    router: RouterConfig = field(default_factory=RouterConfig)
    cache: CacheConfig | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    tracker: Mapping[str, Any] | None = None
    guardrails: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The configuration as a plain mapping (what ``parse_config`` reads back)."""
        out: dict[str, Any] = {"tiers": [t.to_dict() for t in self.tiers]}
        r, default = self.router, RouterConfig()
        router: dict[str, Any] = {}
        if r.domain_routes:
            router["domains"] = {d: list(n) for d, n in r.domain_routes.items()}
        for key in _ROUTER_KEYS[1:]:
            if getattr(r, key) != getattr(default, key):
                router[key] = getattr(r, key)
        if router:
            out["router"] = router
        if self.cache is not None:
            out["cache"] = {
                k: v for k, v in _asdict(self.cache).items() if v != getattr(CacheConfig(), k)
            } or {"type": "memory"}
        for name in ("options", "tracker", "guardrails"):
            value = getattr(self, name)
            if value:
                out[name] = _plain(value)
        return out

    def to_yaml(self) -> str:
        """The configuration as YAML, ready to save, edit and load with ``Cascade.from_config``."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None, width=100)

    def build(self, cls: Any = None, **overrides: Any) -> Any:
        """Construct the ``Cascade`` (or ``cls``); ``overrides`` are ``Cascade`` keyword arguments."""
        if cls is None:
            from .._cascade import Cascade

            cls = Cascade
        tiers = [t.to_tier(f"tiers[{i}]") for i, t in enumerate(self.tiers)]
        self.router.check_tiers(tiers)
        kwargs: dict[str, Any] = {"router": CascadeRouter(self.router)}
        if self.cache is not None:
            kwargs["cache"] = self.cache.build()
        if self.options:
            kwargs["options"] = _build_options(self.options)
        if self.tracker is not None:
            kwargs["tracker"] = _hook("tracker", "tracking._tracker", self.tracker)
        if self.guardrails is not None:
            kwargs["guardrails"] = _hook("guardrails", "guardrails._pipeline", self.guardrails)
        kwargs.update(overrides)
        return cls(tiers, **kwargs)


def _asdict(obj: Any) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in obj.__dataclass_fields__}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# --- parsing -------------------------------------------------------------------------------------
def parse_config(data: Any, source: str = "config") -> CascadeConfig:
    """Check a configuration mapping and return the typed ``CascadeConfig`` (``ConfigError`` if bad)."""
    if data is None:
        raise ConfigError(source, "the configuration is empty", "give at least `tiers:` with one model")
    m = _check_keys(data, _SECTIONS, "")
    if "tiers" not in m:
        raise ConfigError(
            "tiers",
            "missing",
            'list the tiers cheapest first, e.g. tiers: ["openai/gpt-4o-mini", "openai/gpt-4o"]',
        )
    tiers = _parse_tiers(m["tiers"], m)
    router = _parse_router(m.get("router") or {})
    cache = _parse_cache(m["cache"]) if m.get("cache") not in (None, False) else None
    options = _check_keys(m.get("options") or {}, _OPTION_KEYS, "options")
    if "retry" in options:
        _check_keys(options["retry"], _RETRY_KEYS, "options.retry")
    _build_options(options)  # fail now, not at build time
    sections = {}
    for name in ("tracker", "guardrails"):
        value = m.get(name)
        if value is not None and not isinstance(value, Mapping):
            raise ConfigError(name, f"must be a mapping, got {value!r}{_at(m, name)}")
        sections[name] = None if value is None else dict(value)
    cfg = CascadeConfig(tiers, router, cache, dict(options), sections["tracker"], sections["guardrails"])
    _check_routes(cfg)
    return cfg


def _parse_tiers(raw: Any, parent: Any) -> tuple[TierConfig, ...]:
    if isinstance(raw, (str, Mapping)) or not isinstance(raw, Sequence) or not raw:
        raise ConfigError(
            "tiers",
            f"must be a non-empty list of tiers, got {raw!r}{_at(parent, 'tiers')}",
            'e.g. tiers: ["openai/gpt-4o-mini", "openai/gpt-4o"]',
        )
    tiers = [_parse_tier(t, i) for i, t in enumerate(raw)]
    names = [t.name for t in tiers]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(
            "tiers", f"tier names must be unique, {dupes} repeat", "give each tier its own name"
        )
    return tuple(tiers)


def _parse_tier(raw: Any, i: int) -> TierConfig:
    path = f"tiers[{i}]"
    if isinstance(raw, (str, list, tuple)):
        models = [raw] if isinstance(raw, str) else list(raw)
        return TierConfig(
            f"tier{i + 1}", tuple(_parse_model(x, f"{path}.models[{j}]") for j, x in enumerate(models))
        )
    m = _check_keys(raw, _TIER_KEYS, path)
    if "model" in m and "models" in m:
        raise ConfigError(path, "give either `model` or `models`, not both", "use models: [...] for several")
    models = m.get("models", m.get("model"))
    if isinstance(models, (str, Mapping)):
        models = [models]
    if not models:
        raise ConfigError(
            f"{path}.models", "a tier needs at least one model", 'e.g. models: ["openai/gpt-4o-mini"]'
        )
    if not isinstance(models, Sequence):
        raise ConfigError(f"{path}.models", f"must be a list of models, got {models!r}")
    name = _typed(m, "name", str, path, f"tier{i + 1}")
    fallbacks = m.get("fallbacks") or []
    fallbacks = [fallbacks] if isinstance(fallbacks, (str, Mapping)) else fallbacks
    validator = m.get("validator")
    if validator is not None:
        build_validator(validator, f"{path}.validator")  # fail now, with the path, not at build time
    return TierConfig(
        name=name,
        models=tuple(_parse_model(x, f"{path}.models[{j}]") for j, x in enumerate(models)),
        validator=validator,
        fallbacks=tuple(_parse_model(x, f"{path}.fallbacks[{j}]") for j, x in enumerate(fallbacks)),
        domains=_parse_domains(m, path),
    )


def _parse_domains(m: Mapping[str, Any], path: str) -> tuple[str, ...]:
    domains = m.get("domains") or ()
    domains = (domains,) if isinstance(domains, str) else tuple(domains)
    for d in domains:
        if d not in DOMAINS:
            raise ConfigError(
                f"{path}.domains", f"unknown domain {d!r}{_at(m, 'domains')}", f"use one of {list(DOMAINS)}"
            )
    return domains


def _parse_model(raw: Any, path: str) -> ModelConfig:
    if isinstance(raw, str):
        cfg = ModelConfig(raw)
    else:
        m = _check_keys(raw, _MODEL_KEYS, path)
        if "model" not in m:
            raise ConfigError(f"{path}.model", "missing", 'e.g. model: "openai/gpt-4o-mini"')
        params = _typed(m, "params", Mapping, path, {})
        cfg = ModelConfig(
            model=_typed(m, "model", str, path),
            name=_typed(m, "name", str, path),
            input_cost_per_token=_typed(m, "input_cost_per_token", (int, float), path),
            output_cost_per_token=_typed(m, "output_cost_per_token", (int, float), path),
            api_base=_typed(m, "api_base", str, path),
            api_key_env=_typed(m, "api_key_env", str, path),
            params=dict(params),
            context_window=_typed(m, "context_window", int, path),
            quality=_typed(m, "quality", int, path, 0),
            domains=_parse_domains(m, path),
        )
    # ModelSpec checks the model string and prices; re-raise with this path.
    try:
        ModelSpec(
            cfg.model,
            cfg.input_cost_per_token,
            cfg.output_cost_per_token,
            params=cfg.params,
            context_window=cfg.context_window,
        )
    except ConfigError as e:
        raise ConfigError(f"{path}.{e.field}", e.problem, e.fix) from e
    return cfg


def _check_validator(raw: Any, path: str) -> None:
    """Check a validator's YAML form without building it (so thresholds fail with their path)."""
    if isinstance(raw, str):
        raw = {"type": raw}
    if not isinstance(raw, Mapping):
        raise ConfigError(
            path,
            f"must be a validator name or mapping, got {raw!r}",
            f"e.g. {{type: agreement, min_agree: 2}}; types: {list(_VALIDATOR_TYPES)}",
        )
    if len(raw) == 1 and next(iter(raw)) in ("any", "all"):
        kind = next(iter(raw))
        items = raw[kind]
        if not isinstance(items, Sequence) or isinstance(items, str) or not items:
            raise ConfigError(
                f"{path}.{kind}",
                f"must be a non-empty list of validators{_at(raw, kind)}",
                "e.g. any: [{type: agreement}, {type: logprob, threshold: 0.9}]",
            )
        for j, item in enumerate(items):
            _check_validator(item, f"{path}.{kind}[{j}]")
        return
    kind = raw.get("type")
    if kind not in _VALIDATOR_TYPES:
        raise ConfigError(
            f"{path}.type",
            f"unknown validator type {kind!r}{_at(raw, 'type')}",
            f"use one of {list(_VALIDATOR_TYPES)}, or any: [...] / all: [...]",
        )
    _check_keys(raw, _VALIDATOR_KEYS[kind], path)
    if kind == "logprob":
        _unit(raw, "threshold", path, 0.9)
    if kind == "agreement":
        n = _typed(raw, "min_agree", int, path, 2)
        if n < 2:
            raise ConfigError(
                f"{path}.min_agree",
                f"must be >= 2, got {n}{_at(raw, 'min_agree')}",
                "agreement needs at least two drafters",
            )
    if kind == "callable" and not isinstance(raw.get("function"), str):
        raise ConfigError(f"{path}.function", "missing", 'name the function as "package.module:function"')


def build_validator(raw: Any, path: str = "validator") -> Any:
    """Build a validator object from its YAML form (``{type: agreement, min_agree: 2}``, ``{any: [...]}``)."""
    from ..validation import _validators as v

    _check_validator(raw, path)
    if isinstance(raw, str):
        raw = {"type": raw}
    if len(raw) == 1 and next(iter(raw)) in ("any", "all"):
        kind = next(iter(raw))
        parts = [build_validator(item, f"{path}.{kind}[{j}]") for j, item in enumerate(raw[kind])]
        return (v.AnyOf if kind == "any" else v.AllOf)(*parts)
    kw = {k: val for k, val in raw.items() if k != "type"}
    kind = raw["type"]
    try:
        if kind == "rules":
            if "checks" in kw:
                kw["checks"] = tuple(kw["checks"])
            return v.RuleValidator(**kw)
        if kind == "agreement":
            return v.AgreementValidator(**kw)
        if kind == "logprob":
            return v.LogprobValidator(**kw)
        if kind == "schema":
            return v.SchemaValidator(**kw)
        return v.CallableValidator(_import_object(kw.pop("function"), f"{path}.function"), **kw)
    except ConfigError as e:
        raise ConfigError(f"{path}.{e.field.split('.')[-1]}", e.problem, e.fix) from e


def _import_object(spec: str, path: str) -> Any:
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise ConfigError(path, f"{spec!r} is not 'package.module:function'", 'e.g. "myapp.checks:is_valid"')
    try:
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise ConfigError(
            path, f"cannot import {spec!r}: {e}", "check the module path and function name"
        ) from e
    return obj


def _parse_router(raw: Any) -> RouterConfig:
    m = _check_keys(raw, _ROUTER_KEYS, "router")
    routes = _typed(m, "domains", Mapping, "router", {})
    for domain in routes:
        if domain not in DOMAINS and domain != "default":
            raise ConfigError(
                f"router.domains.{domain}",
                f"unknown domain {domain!r}{_at(routes, domain)}",
                f"use one of {list(DOMAINS)}, or default",
            )
    level = _typed(m, "skip_drafters_at", str, "router")
    if level is not None and level not in LEVELS:
        raise ConfigError(
            "router.skip_drafters_at",
            f"unknown complexity level {level!r}{_at(m, 'skip_drafters_at')}",
            f"use one of {list(LEVELS)}",
        )
    return RouterConfig(
        domain_routes={d: tuple([n] if isinstance(n, str) else n or ()) for d, n in routes.items()},
        skip_drafters_at=level,
        degrade=_typed(m, "degrade", str, "router", "drop_last"),
        degrade_max_quality=_typed(m, "degrade_max_quality", int, "router"),
        min_domain_confidence=_unit(m, "min_domain_confidence", "router", 0.0),
        check_capabilities=_typed(m, "check_capabilities", bool, "router", True),
        check_context=_typed(m, "check_context", bool, "router", True),
    )


def _parse_cache(raw: Any) -> CacheConfig:
    if raw is True or isinstance(raw, str):
        raw = {"type": "memory" if raw is True else raw}
    m = _check_keys(raw, _CACHE_KEYS, "cache")
    kind = _typed(m, "type", str, "cache", "memory")
    if kind not in ("memory", "redis", "semantic"):
        raise ConfigError(
            "cache.type",
            f"unknown cache type {kind!r}{_at(m, 'type')}",
            'use "memory", "redis" or "semantic"',
        )
    if kind == "redis" and not m.get("url"):
        raise ConfigError("cache.url", "a redis cache needs a url", 'e.g. url: "redis://localhost:6379/0"')
    ttl = _typed(m, "ttl_s", (int, float), "cache", 3600.0) if m.get("ttl_s", 0) is not None else None
    cfg = CacheConfig(
        kind,
        _typed(m, "max_entries", int, "cache", 1024),
        ttl,
        _typed(m, "url", str, "cache"),
        _typed(m, "prefix", str, "cache", "cascadeflow:cache:"),
        _typed(m, "namespace", str, "cache", ""),
        _typed(m, "fail_open", bool, "cache", False),
        _unit(m, "threshold", "cache", 0.95),
        _typed(m, "model_dir", str, "cache"),
    )
    if kind == "memory":
        cfg.build()  # checks max_entries and ttl_s
    return cfg


def _check_routes(cfg: CascadeConfig) -> None:
    valid = {t.name for t in cfg.tiers} | {m.model for t in cfg.tiers for m in t.models}
    for domain, names in cfg.router.domain_routes.items():
        for name in names:
            if name not in valid:
                close = difflib.get_close_matches(name, sorted(valid), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ConfigError(
                    f"router.domains.{domain}",
                    f"names tier {name!r}, which does not exist",
                    f"{hint}tier names: {[t.name for t in cfg.tiers]}",
                )


def _build_options(options: Mapping[str, Any]) -> Any:
    from .._cascade import CascadeOptions
    from ..engine._engine import RetryPolicy

    kw = {k: v for k, v in options.items() if k != "retry"}
    try:
        if "retry" in options:
            kw["retry"] = RetryPolicy(**dict(options["retry"]))
        if isinstance(options.get("audit"), Mapping):  # audit: {rate: 0.05, target: 0.05, tighten: true}
            from ..tracking._audit import Audit

            kw["audit"] = Audit(**dict(options["audit"]))
        return CascadeOptions(**kw)
    except ConfigError as e:
        raise ConfigError(f"options.{e.field}", e.problem, e.fix) from e
    except TypeError as e:
        raise ConfigError("options", str(e), f"valid keys: {', '.join(_OPTION_KEYS)}") from e


def _hook(section: str, module: str, data: Mapping[str, Any]) -> Any:
    """Hand a pass-through section to its station's own loader (``from_config(mapping)``), else the
    built-in mapping for the tracker; a section nothing can read fails with a clear message."""
    try:
        mod = importlib.import_module(f"cascadeflow_core.{module}")
    except ImportError:
        mod = None
    loader = getattr(mod, "from_config", None) if mod is not None else None
    try:
        if loader is not None:
            return loader(dict(data))
        if section == "tracker" and mod is not None:
            return _build_tracker(data)
    except ConfigError as e:
        field_name = e.field if e.field.startswith(f"{section}.") else f"{section}.{e.field}"
        raise ConfigError(field_name, e.problem, e.fix) from e
    raise ConfigError(
        section,
        "this section is not supported by this version yet",
        f"remove `{section}:` from the file and pass {section}=... to Cascade.from_config",
    )


_TRACKER_KEYS = ("store", "budgets", "rate_limits", "policy")


def _build_tracker(data: Mapping[str, Any]) -> Any:
    """``tracker:`` -> ``CostTracker(store, budgets=[Budget], rate_limits=[RateLimit], policy)``.

    ``store``: ``memory`` (default), ``sqlite:///path/ledger.db`` or a ``redis://`` URL.
    """
    from ..tracking._budget import Budget, RateLimit, TrackerPolicy
    from ..tracking._tracker import CostTracker

    m = _check_keys(data, _TRACKER_KEYS, "tracker")
    budgets = [
        _dataclass_from(Budget, b, f"tracker.budgets[{i}]") for i, b in enumerate(m.get("budgets") or [])
    ]
    limits = [
        _dataclass_from(RateLimit, r, f"tracker.rate_limits[{i}]")
        for i, r in enumerate(m.get("rate_limits") or [])
    ]
    policy = _dataclass_from(TrackerPolicy, m["policy"], "tracker.policy") if m.get("policy") else None
    return CostTracker(_build_store(m.get("store") or "memory"), budgets, limits, policy)


def _dataclass_from(cls: Any, raw: Any, path: str) -> Any:
    fields = tuple(cls.__dataclass_fields__)
    _check_keys(raw, fields, path)
    try:
        return cls(**dict(raw))
    except ConfigError as e:
        raise ConfigError(f"{path}.{e.field.split('.')[-1]}", e.problem, e.fix) from e
    except TypeError as e:
        raise ConfigError(path, str(e), f"keys: {', '.join(fields)}") from e


def _build_store(spec: Any) -> Any:
    from ..tracking._stores import MemoryStore, SQLiteStore

    if not isinstance(spec, str):
        raise ConfigError(
            "tracker.store",
            f"must be a string, got {spec!r}",
            'use "memory", "sqlite:///path/ledger.db" or "redis://host:6379/0"',
        )
    if spec == "memory":
        return MemoryStore()
    if spec.startswith("sqlite:///"):
        return SQLiteStore(spec[len("sqlite:///") :])
    if spec.startswith(("redis://", "rediss://", "unix://")):
        from ..tracking._store_redis import RedisStore

        return RedisStore(spec)
    raise ConfigError(
        "tracker.store",
        f"unknown store {spec!r}",
        'use "memory", "sqlite:///path/ledger.db" or "redis://host:6379/0"',
    )


# --- entry points ------------------------------------------------------------------------------
def load_config(source: str | os.PathLike[str] | Mapping[str, Any]) -> CascadeConfig:
    """Read a YAML file (or take a mapping) and check it into a ``CascadeConfig``."""
    if isinstance(source, Mapping):
        return parse_config(source)
    path = Path(source)
    if not path.is_file():
        raise ConfigError(
            str(source),
            "no such configuration file",
            f"check the path (relative to the working directory {os.getcwd()})",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            str(source), f"is not UTF-8 text ({e.reason} at byte {e.start})", "save the YAML file as UTF-8"
        ) from e
    data = _yaml_load(text, str(path))
    return parse_config(data, str(path))


def _apply_overrides(
    data: Mapping[str, Any], overrides: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split overrides into config sections (mappings / tier lists) and ``Cascade`` keyword objects."""
    merged = copy.deepcopy(dict(data))
    ctor = {}
    for key, value in overrides.items():
        if key == "tiers" or (key in _SECTIONS and isinstance(value, Mapping)):
            merged[key] = value
        else:
            ctor[key] = value
    return merged, ctor


def cascade_from_config(cls: Any, source: Any, **overrides: Any) -> Any:
    """``Cascade.from_config``: build from a YAML path or a mapping; ``overrides`` replace sections
    (mappings, ``tiers``) or are passed to the constructor (``tracker=``, ``backend=`` ...)."""
    if isinstance(source, CascadeConfig):
        return source.build(cls, **overrides)
    if isinstance(source, Mapping):
        data = dict(source)
    else:
        cfg = load_config(source)
        if not overrides:
            return cfg.build(cls)
        data = cfg.to_dict()
    merged, ctor = _apply_overrides(data, overrides)
    return parse_config(merged).build(cls, **ctor)


def preset_config(name: str) -> dict[str, Any]:
    """A copy of a named preset's plain configuration (edit it, then ``Cascade.from_config(it)``)."""
    key = name.strip().lower().replace("_", "-").replace("optimized", "optimised")
    if key not in PRESETS:
        close = difflib.get_close_matches(key, list(PRESETS), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError("preset", f"unknown preset {name!r}", f"{hint}presets: {', '.join(PRESETS)}")
    return copy.deepcopy(PRESETS[key])


def cascade_from_preset(cls: Any, name: str, **overrides: Any) -> Any:
    """``Cascade.from_preset``: a named preset, with the same ``overrides`` as ``from_config``."""
    merged, ctor = _apply_overrides(preset_config(name), overrides)
    return parse_config(merged, f"preset {name}").build(cls, **ctor)


ENV_VARS: dict[str, str] = {
    "CASCADEFLOW_CONFIG": "path of a YAML configuration file",
    "CASCADEFLOW_PRESET": "a preset name (cost-optimised, balanced, quality-first, development)",
    "CASCADEFLOW_TIERS": "tiers, cheapest first: ',' separates tiers, '+' joins concurrent drafters",
    "CASCADEFLOW_SKIP_DRAFTERS_AT": "complexity level from which drafters are skipped (e.g. expert)",
    "CASCADEFLOW_DEGRADE": "degrade policy: drop_last, cheapest_only",
    "CASCADEFLOW_CACHE": "response cache: off, memory or redis",
    "CASCADEFLOW_CACHE_TTL": "cache entry lifetime in seconds",
    "CASCADEFLOW_REDIS_URL": "Redis URL for CASCADEFLOW_CACHE=redis",
    "CASCADEFLOW_STREAM_MODE": "buffered, optimistic or strict",
    "CASCADEFLOW_MAX_CONCURRENCY": "default batch concurrency",
}


def _env_int(env: Mapping[str, str], name: str) -> int:
    try:
        return int(env[name])
    except ValueError:
        raise ConfigError(name, f"must be an integer, got {env[name]!r}", f"e.g. {name}=8") from None


def config_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The plain configuration described by ``CASCADEFLOW_*`` variables (see ``ENV_VARS``)."""
    env = os.environ if environ is None else environ
    for name in env:
        if name.startswith("CASCADEFLOW_") and name not in ENV_VARS:
            close = difflib.get_close_matches(name, list(ENV_VARS), n=1, cutoff=0.85)
            if close:
                raise ConfigError(name, "unknown variable", f"did you mean {close[0]}?")
    if env.get("CASCADEFLOW_CONFIG"):
        data = load_config(env["CASCADEFLOW_CONFIG"]).to_dict()
    elif env.get("CASCADEFLOW_PRESET"):
        data = preset_config(env["CASCADEFLOW_PRESET"])
    elif env.get("CASCADEFLOW_TIERS"):
        data = {}
    else:
        raise ConfigError(
            "environment",
            "no CASCADEFLOW_CONFIG, CASCADEFLOW_PRESET or CASCADEFLOW_TIERS set",
            'e.g. export CASCADEFLOW_TIERS="openai/gpt-4o-mini,openai/gpt-4o"',
        )
    if env.get("CASCADEFLOW_TIERS"):
        data["tiers"] = _env_tiers(env["CASCADEFLOW_TIERS"])
    router = dict(data.get("router") or {})
    if env.get("CASCADEFLOW_SKIP_DRAFTERS_AT"):
        router["skip_drafters_at"] = env["CASCADEFLOW_SKIP_DRAFTERS_AT"]
    if env.get("CASCADEFLOW_DEGRADE"):
        router["degrade"] = env["CASCADEFLOW_DEGRADE"]
    if router:
        data["router"] = router
    _env_cache(env, data)
    options = dict(data.get("options") or {})
    if env.get("CASCADEFLOW_STREAM_MODE"):
        options["stream_mode"] = env["CASCADEFLOW_STREAM_MODE"]
    if env.get("CASCADEFLOW_MAX_CONCURRENCY"):
        options["max_concurrency"] = _env_int(env, "CASCADEFLOW_MAX_CONCURRENCY")
    if options:
        data["options"] = options
    return data


def _env_tiers(value: str) -> list[Any]:
    tiers: list[Any] = []
    for i, part in enumerate(value.split(",")):
        models = [m.strip() for m in part.split("+") if m.strip()]
        if not models:
            raise ConfigError(
                "CASCADEFLOW_TIERS",
                f"tier {i + 1} is empty in {value!r}",
                'e.g. "openai/gpt-4o-mini+deepseek/deepseek-chat,openai/gpt-4o"',
            )
        tiers.append(models[0] if len(models) == 1 else models)
    return tiers


def _env_cache(env: Mapping[str, str], data: dict[str, Any]) -> None:
    kind = env.get("CASCADEFLOW_CACHE", "").strip().lower()
    if kind in ("off", "none", "0", "false"):
        data.pop("cache", None)
        return
    if not kind and not env.get("CASCADEFLOW_CACHE_TTL") and not env.get("CASCADEFLOW_REDIS_URL"):
        return
    cache = dict(data.get("cache") or {})
    if kind:
        if kind not in ("memory", "redis"):
            raise ConfigError("CASCADEFLOW_CACHE", f"unknown cache {kind!r}", "use off, memory or redis")
        cache["type"] = kind
    if env.get("CASCADEFLOW_REDIS_URL"):
        cache["url"] = env["CASCADEFLOW_REDIS_URL"]
        cache.setdefault("type", "redis")
    if env.get("CASCADEFLOW_CACHE_TTL"):
        cache["ttl_s"] = _env_int(env, "CASCADEFLOW_CACHE_TTL")
    data["cache"] = cache


def cascade_from_env(cls: Any, environ: Mapping[str, str] | None = None, **overrides: Any) -> Any:
    """``Cascade.from_env``: build from ``CASCADEFLOW_*`` variables (``ENV_VARS`` lists them)."""
    merged, ctor = _apply_overrides(config_from_env(environ), overrides)
    return parse_config(merged, "environment").build(cls, **ctor)


def _load_presets() -> dict[str, dict[str, Any]]:
    folder = Path(__file__).with_name("presets")
    return {f.stem: yaml.safe_load(f.read_text(encoding="utf-8")) for f in sorted(folder.glob("*.yaml"))}


PRESETS: dict[str, dict[str, Any]] = _load_presets()
"""Named presets (``cascadeflow_core/config/presets/*.yaml``): plain configurations to print, copy and edit."""
