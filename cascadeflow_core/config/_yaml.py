"""YAML with line numbers, and the named presets.

The loader keeps, for every mapping, the line of each key (``_Lines.lines``), so that an error found
later by the schema (``_schema``) can say where in the file the bad value is: ``line_of(data, loc)``
walks pydantic's error location through the loaded data. It refuses what the schema cannot point at:
duplicate keys (YAML would keep the last one silently), keys that are lists or mappings, and nesting
deeper than Python's stack (a ``RecursionError`` is a ``ConfigError`` here, not a crash).

This module imports only PyYAML, so ``PRESETS`` is ready at ``import cascadeflow_core`` without pydantic.
"""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from .._errors import ConfigError

__all__ = ["PRESETS", "line_of", "preset_config", "read_yaml", "yaml_load"]


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


def yaml_load(text: str, source: str) -> Any:
    """Parse YAML text; mappings come back as ``_Lines`` (a ``dict`` that knows its keys' lines)."""
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
    except RecursionError:
        # PyYAML composes and constructs recursively; thousands of nested [ or { exhaust the stack.
        raise ConfigError(
            source, "the YAML is nested too deeply to read", "a configuration is a few levels deep"
        ) from None


def read_yaml(source: str | os.PathLike[str]) -> Any:
    """Read a YAML configuration file: missing files, non-UTF-8 text and bad YAML are ``ConfigError``."""
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
    return yaml_load(text, str(path))


def line_of(data: Any, loc: Sequence[Any]) -> int | None:
    """The line of the deepest key of ``loc`` found in YAML-loaded ``data`` (None for plain mappings).

    ``loc`` is a pydantic error location (keys and list indexes); steps the data does not have (union
    tags, a shorthand the schema expanded) end the walk, so the line is that of the nearest key known.
    """
    line = None
    node = data
    for step in loc:
        if isinstance(node, _Lines) and isinstance(step, str) and step in node:
            line = node.lines.get(step, line)
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        elif isinstance(step, str) and step.startswith("<"):
            continue  # a union tag of the schema, not a key of the data
        else:
            break
    return line


# --- presets ---------------------------------------------------------------------------------------------
def _load_presets() -> dict[str, dict[str, Any]]:
    folder = Path(__file__).with_name("presets")
    return {f.stem: yaml.safe_load(f.read_text(encoding="utf-8")) for f in sorted(folder.glob("*.yaml"))}


PRESETS: dict[str, dict[str, Any]] = _load_presets()
"""Named presets (``cascadeflow_core/config/presets/*.yaml``): plain configurations to print, copy and edit."""


def preset_config(name: str) -> dict[str, Any]:
    """A copy of a named preset's plain configuration (edit it, then ``Cascade.from_config(it)``)."""
    key = name.strip().lower().replace("_", "-").replace("optimized", "optimised")
    if key not in PRESETS:
        close = difflib.get_close_matches(key, list(PRESETS), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError("preset", f"unknown preset {name!r}", f"{hint}presets: {', '.join(PRESETS)}")
    return copy.deepcopy(PRESETS[key])
