"""The configuration schema on pydantic: the exported JSON Schema (``cascadeflow schema``) accepts what the
loader accepts and rejects what it rejects; errors carry the field path and the YAML line; deep nesting
is a ``ConfigError``; pydantic stays out of ``import cascadeflow_core``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from cascadeflow_core import Cascade, ConfigError
from cascadeflow_core.__main__ import main
from cascadeflow_core.config._config import PRESETS, json_schema, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _doc_yaml() -> str:
    """The annotated example of docs/configuration.md, "The YAML file"."""
    return re.search(r"## The YAML file\n\n```yaml\n(.*?)```", DOC.read_text(), re.S).group(1)


SHIPPED = [
    *(ROOT / "cascadeflow_core" / "config" / "presets").glob("*.yaml"),
    ROOT / "examples" / "routing.yaml",
]


@pytest.mark.parametrize("path", sorted(SHIPPED), ids=lambda p: p.name)
def test_schema_accepts_every_preset_and_example(validator, path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    assert [e.message for e in validator.iter_errors(data)] == []
    load_config(path)  # and the loader agrees


def test_schema_accepts_the_documented_example(validator) -> None:
    data = yaml.safe_load(_doc_yaml())
    assert [e.message for e in validator.iter_errors(data)] == []
    cfg = parse_config(data)
    assert [t.name for t in cfg.tiers] == ["coder", "agree", "tier3"]
    assert cfg.tracker is not None and cfg.tracker.budgets[0].degrade_at == 0.9


@pytest.mark.parametrize(
    "data",
    [
        {"tiers": [{"name": "cheap", "modles": ["openai/gpt-4o-mini"]}]},
        {"tiers": ["openai/gpt-4o"], "routr": {}},
        {"tiers": ["openai/gpt-4o"], "router": {"degrade": "panic"}},
        {"tiers": [{"models": ["openai/gpt-4o"], "validator": {"type": "logprob", "threshold": 1.5}}]},
        {"tiers": [{"models": ["openai/gpt-4o"], "validator": {"type": "vibes"}}]},
        {"tiers": [{"models": ["openai/gpt-4o"], "domains": ["astrology"]}]},
        {"tiers": ["openai/gpt-4o"], "cache": {"max_entries": 0}},
        {"tiers": ["openai/gpt-4o"], "tracker": {"budgets": [{"limit": 5, "perod": "daily"}]}},
        {"tiers": []},
        {},
    ],
)
def test_schema_and_loader_both_reject(validator, data: dict) -> None:
    assert list(validator.iter_errors(data)), "the JSON Schema let it through"
    with pytest.raises(ConfigError):
        parse_config(data)


def test_cli_prints_and_writes_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json_schema() and printed["$schema"].endswith("2020-12/schema")
    assert {"tiers", "router", "cache", "options", "tracker", "guardrails"} <= set(printed["properties"])
    out = tmp_path / "cascadeflow.schema.json"
    assert main(["schema", "--output", str(out)]) == 0
    assert json.loads(out.read_text()) == printed


def test_docs_explain_the_schema_for_editors() -> None:
    doc = DOC.read_text()
    assert "cascadeflow schema" in doc and "yaml-language-server: $schema=" in doc and "yaml.schemas" in doc


# --- errors: path and line --------------------------------------------------------------------------------
def _error(tmp_path: Path, text: str) -> ConfigError:
    path = tmp_path / "cascade.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(ConfigError) as e:
        load_config(path)
    return e.value


def test_nested_errors_name_the_path_and_the_line(tmp_path: Path) -> None:
    err = _error(
        tmp_path,
        """\
        tiers:
          - name: cheap
            models:
              - openai/gpt-4o-mini
              - {model: deepseek/deepseek-chat, context_window: big}
        """,
    )
    assert err.field == "tiers[0].models[1].context_window"
    assert err.problem == "must be int, got 'big' (line 5)"
    err = _error(
        tmp_path,
        """\
        tiers: [openai/gpt-4o]
        tracker:
          budgets:
            - {limit: 5.0, period: daily}
            - {limit: 5.0, period: hourly}
        """,
    )
    assert err.field == "tracker.budgets[1].period" and "(line 5)" in err.problem
    assert "daily" in err.fix
    err = _error(tmp_path, "tiers: [openai/gpt-4o]\nrouter:\n  domains:\n    astrology: [tier1]\n")
    assert err.field == "router.domains.astrology" and err.problem == "unknown domain 'astrology' (line 4)"


def test_strict_values_yaml_true_is_not_a_number(tmp_path: Path) -> None:
    err = _error(tmp_path, "tiers: [openai/gpt-4o]\noptions: {max_concurrency: yes}\n")
    assert err.field == "options.max_concurrency" and "must be int, got True" in err.problem
    err = _error(tmp_path, "tiers: [openai/gpt-4o]\ncache: {ttl_s: '60'}\n")
    assert err.field == "cache.ttl_s" and "must be a number" in err.problem


def test_a_station_rule_keeps_the_station_wording(tmp_path: Path) -> None:
    err = _error(tmp_path, "tiers: [openai/gpt-4o]\ntracker:\n  budgets: [{limit: 5, warn_at: 0.95}]\n")
    assert err.field == "tracker.budgets[0].warn_at/degrade_at/block_at"
    assert "must be increasing" in err.problem and "(line 3)" in err.problem


@pytest.mark.parametrize(
    "text",
    ["tiers: " + "[" * 5000 + "]" * 5000, "tiers:\n  - " + "{a: " * 5000 + "1" + "}" * 5000],
    ids=["lists", "mappings"],
)
def test_yaml_nested_5000_deep_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="nested too deeply"):
        Cascade.from_config(path)


def test_validators_nested_3000_deep_is_a_config_error() -> None:
    spec: dict = {"type": "rules"}
    for _ in range(3000):
        spec = {"any": [spec]}
    with pytest.raises(ConfigError, match="nested too deeply"):
        parse_config({"tiers": [{"models": ["openai/gpt-4o"], "validator": spec}]})


# --- round trips ------------------------------------------------------------------------------------------
def test_tracker_section_round_trips_and_an_empty_one_is_kept() -> None:
    data = {
        "tiers": ["openai/gpt-4o"],
        "tracker": {"store": "memory", "budgets": [{"limit": 5.0, "degrade_at": 0.85}]},
    }
    cfg = parse_config(data)
    assert cfg.to_dict()["tracker"] == {"budgets": [{"limit": 5.0, "degrade_at": 0.85}]}
    assert parse_config(yaml.safe_load(cfg.to_yaml())) == cfg
    assert parse_config({"tiers": ["openai/gpt-4o"], "tracker": {}}).to_dict()["tracker"] == {}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_equal_after_a_yaml_round_trip(name: str) -> None:
    cfg = parse_config(PRESETS[name])
    assert parse_config(yaml.safe_load(cfg.to_yaml())) == cfg


# --- import time --------------------------------------------------------------------------------------------
def test_import_does_not_import_pydantic_until_a_config_is_loaded() -> None:
    code = (
        "import sys, cascadeflow_core as c; before = 'pydantic' in sys.modules; "
        "cfg = c.load_config({'tiers': ['openai/gpt-4o']}); "
        "print(before, 'pydantic' in sys.modules, type(cfg) is c.CascadeConfig)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True", "True"]


def test_null_means_the_default_as_before() -> None:
    cfg = parse_config(
        {"tiers": [{"name": None, "models": ["openai/gpt-4o"], "fallbacks": None, "domains": None}]}
    )
    assert cfg.tiers[0].name == "tier1" and cfg.tiers[0].fallbacks == [] and cfg.tiers[0].domains == []
    with pytest.raises(ConfigError, match="a tier needs at least one model") as e:
        parse_config({"tiers": [{"name": "t", "models": None}]})
    assert e.value.field == "tiers[0].models"


def test_pii_allowed_tiers_and_models_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "cascade.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            tiers:
              - name: local
                models: [{model: ollama/llama3, pii_allowed: true}]
              - name: strong
                models: [openai/gpt-4o]
                pii_allowed: true
            guardrails: {pii: route}
            """
        )
    )
    cascade = Cascade.from_config(path)
    assert cascade.tiers[0].models[0].pii_allowed and cascade.tiers[1].pii_allowed
    assert load_config(path).to_dict()["tiers"][1]["pii_allowed"] is True
    with pytest.raises(ConfigError) as e:
        Cascade.from_config({"tiers": ["openai/gpt-4o"], "guardrails": {"pii": "route"}})
    assert e.value.field == "guardrails.pii"
