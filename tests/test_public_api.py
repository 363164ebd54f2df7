"""The public surface: one sorted, complete ``__all__``; no LiteLLM or framework import at import time."""

from __future__ import annotations

import subprocess
import sys
import types

import cascadeflow_core


def test_all_is_sorted_and_complete():
    names = cascadeflow_core.__all__
    assert names == sorted(names, key=str.lower) or names == sorted(names)
    public = {
        n
        for n, v in vars(cascadeflow_core).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType)
    }
    missing = public - set(names)
    assert not missing, f"public names not in __all__: {sorted(missing)}"
    for n in names:
        assert hasattr(cascadeflow_core, n), n


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_importing_the_core_imports_no_litellm_and_no_framework():
    mods = _modules_after("import cascadeflow_core")
    for heavy in ("litellm", "langchain_core", "llama_index", "dspy", "openai", "redis", "opentelemetry"):
        assert heavy not in mods, f"import cascadeflow_core imported {heavy}"


def test_adapters_do_not_import_each_other():
    pairs = {
        "cascadeflow_langchain": ("llama_index", "dspy"),
        "cascadeflow_llamaindex": ("langchain_core", "dspy"),
        "cascadeflow_dspy": ("langchain_core", "llama_index.core"),
    }
    for adapter, forbidden in pairs.items():
        mods = _modules_after(f"import {adapter}")
        others = {"cascadeflow_langchain", "cascadeflow_llamaindex", "cascadeflow_dspy"} - {adapter}
        assert not (others & mods), f"{adapter} imports {others & mods}"
        for f in forbidden:
            assert f not in mods, f"{adapter} imported {f}"
