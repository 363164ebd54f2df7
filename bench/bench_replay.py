"""Replay figures: default vs calibrated cascades against the strong model alone and the oracle.

Everything here runs the real engine over recorded outputs (``run_benchmark``); the calibrated
configurations are fitted on one half of a set and reported on the other half (held-out).

1. gsm8k-zeroeval, cheap/strong pairs: for each pair
   - default: [cheap + gemma-2-9b-it] must agree, else strong (gemma alone as cheap: [gemma + gpt-4o-mini]);
   - calibrated: drafters from {cheap and every model cheaper than it}, rule and threshold searched on
     the fit half, target "quality >= strong - 0.5 points" with a 1-standard-error margin;
   - calibrated_with_cheap: the same, but every configuration must use the cheap model;
   - oracle: cheapest correct of {cheap, strong} per query.
   All figures relative to the strong model alone on the same queries.
2. zellinger-*-train (real costs and logprobs): default and calibrated, verifier gpt-4o.
3. Wall time of the 1,319-query replay run (default configuration).

Run: ``python bench/bench_replay.py [--data ../shared/data/replay]``; the last line is ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cascadeflow_core import ReplaySet, calibrate, run_benchmark  # noqa: E402
from cascadeflow_core.replay._bench import default_config, model_stats, oracle_stats  # noqa: E402

PAIRS = [
    ("gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06"),
    ("Meta-Llama-3.1-8B-Instruct", "Llama-3.1-405B-Instruct-Turbo"),
    ("claude-3-haiku-20240307", "claude-3-5-sonnet-20240620"),
    ("gemini-1.5-flash", "gemini-1.5-pro"),
]
ZELLINGER = ("mmlu", "medmcqa", "triviaqa", "truthfulqa", "gsm8k")


def _rel(report: Any) -> dict[str, float]:
    return {
        "quality": round(report.quality, 4),
        "strong_quality": round(report.verifier_quality, 4),
        "cost_ratio": round(report.cost_ratio, 4),
        "n": report.n,
    }


def pair_figures(rs: ReplaySet, cheap: str, strong: str) -> dict[str, Any]:
    second = "gemma-2-9b-it" if cheap != "gemma-2-9b-it" else "gpt-4o-mini-2024-07-18"
    fit, held = rs.split(0.5, seed=0)
    default = run_benchmark(default_config(rs, [cheap, second], strong), held, progress=False)
    ccost = model_stats(rs, [cheap])[0].cost
    pool = [m for m in rs.models if m == cheap or model_stats(rs, [m])[0].cost < ccost]
    cal = calibrate(rs, strong, target_drop=0.5, split=0.5, pool=pool, progress=False)
    kept = calibrate(rs, strong, target_drop=0.5, split=0.5, pool=pool, require=[cheap], progress=False)
    oracle = oracle_stats(held, [cheap, strong], held.ids)
    strong_cost = model_stats(held, [strong])[0].cost
    cheap_alone = model_stats(held, [cheap])[0]
    return {
        "pair": f"{cheap} -> {strong}",
        "split": "held-out half (659 queries)",
        "default": {"config": f"[{cheap} + {second}] agree, else {strong}", **_rel(default)},
        "calibrated": {
            "config": cal.candidate.label,
            **_rel(cal.heldout_report),
            "fit": _rel(cal.fit_report),
        },
        "calibrated_with_cheap": {
            "config": kept.candidate.label,
            **_rel(kept.heldout_report),
            "fit": _rel(kept.fit_report),
        },
        "oracle": {"quality": round(oracle.quality, 4), "cost_ratio": round(oracle.cost / strong_cost, 4)},
        "cheap_alone": {
            "quality": round(cheap_alone.quality, 4),
            "cost_ratio": round(cheap_alone.cost / strong_cost, 4),
        },
    }


def zellinger_figures(root: Path, name: str) -> dict[str, Any]:
    rs = ReplaySet.load(root / f"zellinger-{name}-train")
    _, held = rs.split(0.5, seed=0)
    default = run_benchmark(default_config(rs), held, progress=False)
    cal = calibrate(rs, "gpt-4o", target_drop=0.5, split=0.5, progress=False)
    o = oracle_stats(held, rs.models, held.ids)
    return {
        "set": rs.name,
        "default": {"config": default.config.split(" AllOf")[0], **_rel(default)},
        "calibrated": {
            "config": cal.candidate.label,
            **_rel(cal.heldout_report),
            "fit": _rel(cal.fit_report),
        },
        "oracle_all": {
            "quality": round(o.quality, 4),
            "cost_ratio": round(o.cost / default.verifier_cost, 4),
        },
    }


def wall_time(rs: ReplaySet) -> dict[str, Any]:
    t0 = time.perf_counter()
    report = run_benchmark(default_config(rs), rs, progress=False)
    total = time.perf_counter() - t0
    return {
        "queries": report.n,
        "engine_wall_s": round(report.wall_s, 2),
        "total_s": round(total, 2),
        "quality": round(report.quality, 4),
        "strong_quality": round(report.verifier_quality, 4),
        "cost_ratio": round(report.cost_ratio, 4),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "replay"))
    args = p.parse_args()
    root = Path(args.data)
    t0 = time.perf_counter()
    zero = ReplaySet.load(root / "gsm8k-zeroeval")
    load_s = time.perf_counter() - t0
    result: dict[str, Any] = {"load_s": round(load_s, 2), "wall_time_1319": wall_time(zero)}
    print("1,319-query run:", result["wall_time_1319"], flush=True)
    result["pairs"] = []
    for cheap, strong in PAIRS:
        fig = pair_figures(zero, cheap, strong)
        result["pairs"].append(fig)
        print(json.dumps(fig), flush=True)
    result["zellinger"] = []
    for name in ZELLINGER:
        if (root / f"zellinger-{name}-train").exists():
            fig = zellinger_figures(root, name)
            result["zellinger"].append(fig)
            print(json.dumps(fig), flush=True)
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
