"""Configuration entry points: a YAML file, a mapping, a preset or the environment, checked into a
``CascadeConfig`` and built into a ``Cascade``.

The schema, in short (every field: ``_schema.py``, ``docs/configuration.md``, ``cascadeflow schema``)::

    tiers:                         # cheapest first; the last tier is the verifier
      - name: coder                # a tier: name, models (or model), validator, fallbacks, domains
        models: [openai/gpt-4o-mini]
        domains: [code]
        validator: {type: rules}   # rules | agreement | logprob | schema | callable | {any: [...]} | {all: [...]}
      - openai/gpt-4o              # a bare model string is a one-model tier
    router: {domains: {code: [coder, tier2]}, skip_drafters_at: expert, degrade: cheapest_only}
    cache: {type: memory, max_entries: 1024, ttl_s: 3600}      # or type: redis, url: redis://...
    options: {stream_mode: buffered, max_concurrency: 8, retry: {max_retries: 1}}
    tracker: {store: memory, budgets: [...], rate_limits: [...], policy: {...}}
    guardrails: {...}              # handed to the guardrails' own config loader

Every bad value fails here, at construction, with a ``ConfigError`` naming the field
(``tiers[1].validator.threshold``), the YAML line when there is one, and the fix. The module layout:
``_yaml`` reads YAML with lines and holds the presets, ``_schema`` is the pydantic schema, ``_issues``
words its errors, ``_build`` makes the objects.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .._errors import ConfigError
from ._build import build_validator
from ._issues import config_error
from ._schema import CacheConfig, CascadeConfig, ModelConfig, TierConfig, json_schema
from ._yaml import PRESETS, preset_config, read_yaml

__all__ = [
    "ENV_VARS",
    "PRESETS",
    "CacheConfig",
    "CascadeConfig",
    "ModelConfig",
    "TierConfig",
    "build_validator",
    "cascade_from_config",
    "cascade_from_env",
    "cascade_from_preset",
    "config_from_env",
    "json_schema",
    "load_config",
    "parse_config",
    "preset_config",
]

_SECTIONS = tuple(CascadeConfig.model_fields)


def parse_config(data: Any, source: str = "config") -> CascadeConfig:
    """Check a configuration mapping and return the typed ``CascadeConfig`` (``ConfigError`` if bad)."""
    if data is None:
        raise ConfigError(source, "the configuration is empty", "give at least `tiers:` with one model")
    if isinstance(data, CascadeConfig):
        return data
    try:
        return CascadeConfig.model_validate(data)
    except ValidationError as e:
        raise config_error(e, data, source) from e


def load_config(source: str | os.PathLike[str] | Mapping[str, Any]) -> CascadeConfig:
    """Read a YAML file (or take a mapping) and check it into a ``CascadeConfig``."""
    if isinstance(source, Mapping):
        return parse_config(source)
    return parse_config(read_yaml(source), str(source))


def _apply_overrides(
    data: Mapping[str, Any], overrides: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split overrides into config sections (mappings / tier lists) and ``Cascade`` keyword objects."""
    merged = dict(data)
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


def cascade_from_preset(cls: Any, name: str, **overrides: Any) -> Any:
    """``Cascade.from_preset``: a named preset, with the same ``overrides`` as ``from_config``."""
    merged, ctor = _apply_overrides(preset_config(name), overrides)
    return parse_config(merged, f"preset {name}").build(cls, **ctor)


# --- environment variables ---------------------------------------------------------------------------
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
    _env_section(data, "router", skip_drafters_at=env.get("CASCADEFLOW_SKIP_DRAFTERS_AT"))
    _env_section(data, "router", degrade=env.get("CASCADEFLOW_DEGRADE"))
    _env_cache(env, data)
    _env_section(data, "options", stream_mode=env.get("CASCADEFLOW_STREAM_MODE"))
    if env.get("CASCADEFLOW_MAX_CONCURRENCY"):
        _env_section(data, "options", max_concurrency=_env_int(env, "CASCADEFLOW_MAX_CONCURRENCY"))
    return data


def _env_section(data: dict[str, Any], section: str, **values: Any) -> None:
    """Set the given (non-empty) values in ``data[section]``."""
    values = {k: v for k, v in values.items() if v}
    if values:
        data[section] = {**(data.get(section) or {}), **values}


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
