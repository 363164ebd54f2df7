"""Configuration: the typed schema (YAML files, environment variables, named presets) and how it builds a
``Cascade``. It sits above the cascade and every station; nothing below imports it.

``_yaml`` (YAML with line numbers, presets) needs only PyYAML and is imported with the package; the
pydantic schema (``_schema``, ``_issues``, ``_build``, ``_config``) is imported on first use of
``CascadeConfig`` or ``load_config``, so ``import cascadeflow_core`` does not import pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._yaml import PRESETS, preset_config

if TYPE_CHECKING:
    from ._config import CascadeConfig, load_config

__all__ = ["PRESETS", "CascadeConfig", "load_config", "preset_config"]

_LAZY = ("CascadeConfig", "load_config")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import _config

        return getattr(_config, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
