"""The package structure of ``cascadeflow_core`` follows ../shared/DESIGN.md (docs/architecture.md).

Read from the source with ``ast`` (nothing is imported): which unit imports which, at run time. A unit is
a station package (``providers``, ``engine``, ``validation``, ``routing``, ``tracking``, ``guardrails``,
``caching``), the vocabulary every station shares (``_errors``, ``_types``, ``_protocols``, ``_display``),
the composing ``_cascade``, the packages above it (``config``, ``replay``) and the public surface
(``__init__``, ``__main__``, ``testing``). Imports under ``if TYPE_CHECKING:`` are annotations, not
dependencies, and are not counted.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "cascadeflow_core"

VOCABULARY = {"_errors", "_types", "_protocols", "_display"}
STATIONS = {"providers", "engine", "validation", "routing", "tracking", "guardrails", "caching"}
SURFACE = {"__init__", "__main__", "testing"}

# What each unit may import at run time (besides itself). Stations sit below the cascade: they import
# the vocabulary and the providers, never the cascade, configuration, replay or another station.
ALLOWED: dict[str, set[str]] = {
    "vocabulary": {"vocabulary"},
    "providers": {"vocabulary"},
    "validation": {"vocabulary", "providers"},
    "routing": {"vocabulary", "providers"},
    "tracking": {"vocabulary", "providers"},
    "guardrails": {"vocabulary", "providers"},
    "caching": {"vocabulary", "providers"},
    "engine": {"vocabulary", "validation"},
    "cascade": {"vocabulary", *STATIONS},
    "config": {"vocabulary", "cascade", *STATIONS},
    "replay": {"vocabulary", "cascade", *STATIONS},
    "surface": {"vocabulary", "cascade", "config", "replay", *STATIONS},
}

# The only upward imports, each lazy (inside the one function that needs it) and kept on purpose.
UPWARD = {
    # Cascade.from_config / from_env / from_preset are constructors over the configuration package.
    ("_cascade", "config._config"),
    # CostTracker.track(model) is a convenience: a one-tier Cascade booking into this tracker.
    ("tracking._tracker", "_cascade"),
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(CORE).with_suffix("")
    return ".".join(rel.parts)


def _unit(module: str) -> str:
    head = module.split(".")[0]
    if head in VOCABULARY:
        return "vocabulary"
    if head in STATIONS or head in {"config", "replay"}:
        return head
    if head == "_cascade":
        return "cascade"
    if head in SURFACE:
        return "surface"
    raise AssertionError(f"cascadeflow_core/{module}: a module outside the layout of docs/architecture.md")


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported cascadeflow_core module, eager?) for every run-time import of one file."""
    module = _module_name(path)
    package = module.split(".")[:-1] if path.name != "__init__.py" else module.split(".")[:-1]
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, eager: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other, eager)
                continue
            if isinstance(child, ast.ImportFrom):
                base = _resolve(package, child.level, child.module)
                if base is None:
                    continue
                if child.module is None or _is_package(base):
                    for alias in child.names:
                        target = f"{base}.{alias.name}" if base else alias.name
                        found.append((target if _exists(target) else base, eager))
                else:
                    found.append((base, eager))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("cascadeflow_core."):
                        found.append((alias.name.removeprefix("cascadeflow_core."), eager))
            nested = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, eager and not nested)

    visit(ast.parse(path.read_text(encoding="utf-8")), True)
    return [(m, e) for m, e in found if m]


def _resolve(package: list[str], level: int, module: str | None) -> str | None:
    if level == 0:
        if module and module.startswith("cascadeflow_core"):
            return module.removeprefix("cascadeflow_core").lstrip(".")
        return None
    base = package[: len(package) - (level - 1)] if level > 1 else package
    parts = [*base, *(module.split(".") if module else [])]
    return ".".join(parts)


def _is_package(module: str) -> bool:
    return module == "" or (CORE / module.replace(".", "/") / "__init__.py").exists()


def _exists(module: str) -> bool:
    p = CORE / module.replace(".", "/")
    return p.with_suffix(".py").exists() or (p / "__init__.py").exists()


def _graph() -> dict[str, list[tuple[str, bool]]]:
    return {
        _module_name(p): _imports(p)
        for p in sorted(CORE.rglob("*.py"))
        if "data" not in p.relative_to(CORE).parts
    }


def test_every_unit_imports_only_what_the_design_allows():
    wrong = []
    for module, imports in _graph().items():
        unit = _unit(module)
        for target, _ in imports:
            if target == "" or (module, target) in UPWARD:
                continue
            other = _unit(target)
            if other != unit and other not in ALLOWED[unit]:
                wrong.append(f"{module} -> {target} ({unit} may not import {other})")
    assert not wrong, "\n".join(wrong)


def test_the_sanctioned_upward_imports_are_lazy():
    graph = _graph()
    for module, target in UPWARD:
        eager = [t for t, e in graph.get(module, []) if t == target and e]
        assert not eager, f"{module} imports {target} at module level; it must stay inside the function"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(edges):
        if v not in index:
            strong(v)
    return out


def test_no_import_cycles_between_units():
    edges: dict[str, set[str]] = defaultdict(set)
    for module, imports in _graph().items():
        for target, _ in imports:
            if target and (module, target) not in UPWARD and not module.endswith("__init__"):
                a, b = _unit(module), _unit(target)
                if a != b and a != "surface":
                    edges[a].add(b)
    assert not _cycles(edges), _cycles(edges)


def test_no_module_level_import_cycles():
    edges: dict[str, set[str]] = defaultdict(set)
    for module, imports in _graph().items():
        for target, eager in imports:
            if eager and target and target != module:
                edges[module].add(target)
    assert not _cycles(edges), _cycles(edges)


def test_litellm_is_imported_by_one_module():
    importers = sorted(
        _module_name(p)
        for p in CORE.rglob("*.py")
        if any(
            (isinstance(n, ast.Import) and any(a.name.split(".")[0] == "litellm" for a in n.names))
            or (
                isinstance(n, ast.ImportFrom) and n.level == 0 and (n.module or "").split(".")[0] == "litellm"
            )
            for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        )
    )
    assert importers == ["providers._litellm"], importers


def _is_data_module(tree: ast.Module) -> bool:
    """Literals only (word lists, patterns), with at most tiny helpers to spell them: no logic to read."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            return False
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and len(node.body) > 3:
            return False
    return True


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE)))
def test_modules_stay_under_800_lines(path: Path):
    text = path.read_text(encoding="utf-8")
    lines = text.count("\n")
    if lines > 800:
        assert _is_data_module(ast.parse(text)), (
            f"{path.relative_to(CORE)} has {lines} lines of logic: split it (data apart from logic)"
        )


def test_every_package_says_what_it_owns_and_may_import():
    for init in sorted(CORE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert len(doc) > 80, (
            f"{init.parent.name}/__init__.py needs a docstring: what it owns, what it may import"
        )
