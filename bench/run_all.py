"""Run every benchmark script and write one JSON summary.

Runs each ``bench/bench_*.py`` in a fresh subprocess (so import times and caches do not leak between
them), shows its human-readable lines as they come, reads its last ``RESULT {json}`` line, and writes
``bench/results/summary.json`` (per script: the result, exit code, seconds). Ends with a table of every
numeric figure. See ``bench/README.md`` for the convention a bench script follows.

Run from the repository root: ``python bench/run_all.py [--quick] [--only load,overhead] [--skip replay]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PREFIX = "RESULT "


def discover(only: set[str], skip: set[str]) -> list[Path]:
    """The bench scripts to run, by short name (``bench_load.py`` is ``load``)."""
    scripts = sorted(BENCH.glob("bench_*.py"))
    short = {p: p.stem[len("bench_") :] for p in scripts}
    return [p for p in scripts if (not only or short[p] in only) and short[p] not in skip]


def run_script(path: Path, quick: bool, timeout: float) -> dict[str, Any]:
    """Run one script, echo its output, and return its parsed ``RESULT`` (or why there is none)."""
    cmd = [sys.executable, str(path)]
    if quick and "--quick" in path.read_text(encoding="utf-8"):
        cmd.append("--quick")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    t0 = time.perf_counter()
    result: Any = None
    lines: list[str] = []
    try:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        watchdog = threading.Timer(timeout, proc.kill)  # a silent hang is stopped too
        watchdog.start()
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                line = line.rstrip("\n")
                lines.append(line)
                if line.startswith(PREFIX):
                    result = _parse(line)
                elif line.strip() and not _noise(line):
                    print(f"  {line}", flush=True)
            code = proc.wait()
        finally:
            watchdog.cancel()
        if code < 0:
            lines.append(f"stopped after {timeout:.0f} s")
    except OSError as e:
        code, lines = -1, [f"could not start: {e}"]
    out: dict[str, Any] = {
        "script": path.name,
        "command": " ".join(cmd[1:]),
        "exit_code": code,
        "seconds": round(time.perf_counter() - t0, 1),
        "result": result,
    }
    if result is None:
        out["note"] = "no RESULT line" if code == 0 else "failed: " + " | ".join(lines[-5:])
        # keep the human-readable figures, so the summary still holds them
        out["output"] = [ln for ln in lines if ln.strip() and not _noise(ln)][-200:]
    return out


def _parse(line: str) -> Any:
    try:
        return json.loads(line[len(PREFIX) :])
    except json.JSONDecodeError as e:
        return {"unparsable_result": str(e)}


def _noise(line: str) -> bool:
    # LiteLLM prints these two lines on every provider error, to stdout.
    return "Give Feedback / Get Help" in line or "LiteLLM.Info: If you need to debug" in line


def flatten(value: Any, prefix: str = "") -> list[tuple[str, float]]:
    """Every numeric leaf of a result as ``(dotted.path, number)``."""
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [(prefix, value)]
    if isinstance(value, dict):
        return [kv for k, v in value.items() for kv in flatten(v, f"{prefix}.{k}" if prefix else str(k))]
    if isinstance(value, list) and len(value) <= 12:
        return [kv for i, v in enumerate(value) for kv in flatten(v, f"{prefix}[{i}]")]
    return []


def table(summary: dict[str, Any], limit: int = 60) -> str:
    rows = []
    for name, run in summary["scripts"].items():
        status = "ok" if run["exit_code"] == 0 and run["result"] is not None else run.get("note", "failed")
        rows.append(f"== {name} ({run['seconds']} s): {status}")
        figures = flatten(run["result"])
        for path, v in figures[:limit]:
            rows.append(f"   {path:<58} {v:>14,.4g}")
        if len(figures) > limit:
            rows.append(f"   ... {len(figures) - limit} more figures in the JSON summary")
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="pass --quick to scripts that accept it")
    ap.add_argument("--only", default="", help="comma-separated short names, e.g. load,overhead")
    ap.add_argument("--skip", default="", help="comma-separated short names to leave out")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per script before it is stopped")
    ap.add_argument("--out", default=str(BENCH / "results" / "summary.json"))
    args = ap.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    scripts = discover(only, skip)
    if not scripts:
        print("no bench scripts matched", file=sys.stderr)
        return 2
    summary: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": args.quick,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "scripts": {},
    }
    for path in scripts:
        name = path.stem[len("bench_") :]
        print(f"-- {path.name}", flush=True)
        summary["scripts"][name] = run_script(path, args.quick, args.timeout)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    print()
    print(table(summary))
    print(f"\nsummary written to {out}")
    failed = [n for n, r in summary["scripts"].items() if r["exit_code"] != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
