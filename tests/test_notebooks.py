"""The tutorial notebooks: committed with outputs, equal to ``notebooks/build.py``, and still executing cleanly.

Each notebook is executed again (a fresh copy in a temporary directory, a temporary kernelspec running this
interpreter, 120 s per cell) so the notebooks cannot rot. Everything they do is offline.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"


def _load_build() -> Any:
    spec = importlib.util.spec_from_file_location("cascadeflow_notebooks_build", NOTEBOOKS_DIR / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build()
NAMES = sorted(build.NOTEBOOKS)


def _committed(name: str) -> Any:
    return nbformat.read(NOTEBOOKS_DIR / name, as_version=4)


def _outputs(nb: Any) -> list[tuple[int, dict[str, Any]]]:
    return [(i, o) for i, c in enumerate(nb.cells) if c.cell_type == "code" for o in c.get("outputs", [])]


def _text(nb: Any) -> str:
    parts = []
    for _, o in _outputs(nb):
        if o.get("output_type") == "stream":
            parts.append(o.get("text", ""))
        for kind in ("text/plain", "text/html", "text/markdown"):
            parts.append(o.get("data", {}).get(kind, ""))
    return "\n".join(parts)


def test_every_built_notebook_is_committed_and_nothing_else():
    on_disk = sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb"))
    assert on_disk == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_committed_sources_equal_build_py(name):
    committed, built = _committed(name), build.build(name)
    assert [(c.cell_type, c.source) for c in committed.cells] == [
        (c.cell_type, c.source) for c in built.cells
    ], f"{name} differs from notebooks/build.py: edit build.py and run `python notebooks/build.py`"
    assert committed.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_has_outputs(name):
    nb = _committed(name)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert code_cells and all(c.get("execution_count") for c in code_cells), f"{name} was not executed"
    assert _outputs(nb), f"{name} has no outputs (stripped?): run `python notebooks/build.py`"
    assert not [o for _, o in _outputs(nb) if o.get("output_type") == "error"]


# What each notebook must still show when executed again.
EXPECTED: dict[str, tuple[tuple[str, ...], bool]] = {
    "01_tour.ipynb": (
        (
            "2/2 drafters agree on",
            "hedging",
            "unknown tool 'get_wether'",
            "final: openai/gpt-4o",
            "6 answers",
            "CascadeFlow ledger",
            "Answered by",
        ),
        False,
    ),
    "02_what_would_a_cascade_save_me.ipynb": (
        ("savings: ", "oracle (all 8 models)", "calibrated:", "held-out"),
        True,
    ),
    "03_budgets_for_a_saas_app.ipynb": (
        ("blocked", "first refusal", "projected over budget", "anomaly: user dara", "ledger rows"),
        True,
    ),
    "04_adapters_side_by_side.ipynb": (
        (
            "LangChain  answer=",
            "LlamaIndex answer=",
            "DSPy       answer=",
            "langchain-user",
            "llamaindex-user",
            "dspy-user",
        ),
        False,
    ),
}


@pytest.fixture(scope="module")
def kernels():
    with build.kernel_dir() as path:
        yield path


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes_cleanly(name, kernels, tmp_path):
    shutil.copy(NOTEBOOKS_DIR / name, tmp_path / name)
    nb = nbformat.read(tmp_path / name, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    build.execute(nb, tmp_path, kernels, timeout=120)  # raises CellExecutionError on any error

    errors = [o for _, o in _outputs(nb) if o.get("output_type") == "error"]
    assert not errors, errors
    stderr = "".join(o.get("text", "") for _, o in _outputs(nb) if o.get("name") == "stderr")
    assert "Traceback" not in stderr and "Warning" not in stderr, stderr
    text = _text(nb)
    needles, wants_png = EXPECTED[name]
    missing = [n for n in needles if n not in text]
    assert not missing, f"{name}: outputs lack {missing}"
    if wants_png:
        assert any("image/png" in o.get("data", {}) for _, o in _outputs(nb)), f"{name}: no PNG figure"
