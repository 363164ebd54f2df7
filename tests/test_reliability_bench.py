"""The benchmark runner: discovers bench scripts, reads their ``RESULT {json}`` line, survives failures."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _run_all() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run_all", BENCH / "run_all.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_run_all"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_discovers_the_bench_scripts_by_short_name() -> None:
    ra = _run_all()
    names = {p.stem for p in ra.discover(set(), set())}
    assert {"bench_overhead", "bench_load"} <= names
    assert [p.stem for p in ra.discover({"load"}, set())] == ["bench_load"]
    assert "bench_load" not in {p.stem for p in ra.discover(set(), {"load"})}


def test_reads_the_last_result_line_and_reports_failures(tmp_path: Path) -> None:
    ra = _run_all()
    good = tmp_path / "bench_good.py"
    good.write_text(
        "import argparse\np = argparse.ArgumentParser(); p.add_argument('--quick', action='store_true')\n"
        "a = p.parse_args()\nprint('figure 1')\nprint('RESULT ' + '{\"x\": {\"rps\": 12.5}, \"quick\": %s}'"
        " % str(a.quick).lower())\n"
    )
    bad = tmp_path / "bench_bad.py"
    bad.write_text("print('starting')\nraise SystemExit('boom')\n")
    silent = tmp_path / "bench_silent.py"
    silent.write_text("print('no result here')\n")
    hang = tmp_path / "bench_hang.py"
    hang.write_text("import time\ntime.sleep(60)\n")
    ok = ra.run_script(good, quick=True, timeout=60)
    assert ok["exit_code"] == 0 and ok["result"] == {"x": {"rps": 12.5}, "quick": True}
    failed = ra.run_script(bad, quick=False, timeout=60)
    assert failed["exit_code"] != 0 and failed["result"] is None and "boom" in failed["note"]
    no_result = ra.run_script(silent, quick=False, timeout=60)
    assert no_result["note"] == "no RESULT line" and no_result["output"] == ["no result here"]
    stopped = ra.run_script(hang, quick=False, timeout=0.5)
    assert stopped["exit_code"] != 0 and stopped["result"] is None
    summary = {"scripts": {"good": ok, "bad": failed}}
    text = ra.table(summary)
    assert "x.rps" in text and "12.5" in text and "failed" in text
    json.dumps(summary)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": 1, "b": {"c": 2.5, "d": "text", "e": True}}, [("a", 1), ("b.c", 2.5)]),
        ({"l": [1, 2]}, [("l[0]", 1), ("l[1]", 2)]),
        (None, []),
    ],
)
def test_flatten_keeps_numeric_leaves(value: object, expected: list[tuple[str, float]]) -> None:
    assert _run_all().flatten(value) == expected
