"""Configuration: the typed schema (YAML files, environment variables, named presets) and how it builds a
``Cascade``. It sits above the cascade and every station; nothing below imports it.
"""

from ._config import PRESETS, CascadeConfig, load_config, preset_config

__all__ = ["PRESETS", "CascadeConfig", "load_config", "preset_config"]
