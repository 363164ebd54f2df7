"""Semantic agreement against exact agreement on recorded short-text answers (TriviaQA, TruthfulQA train).

``python scripts/bench_semantic_validator.py [replay_dir] [splits]``: drafters gpt-4o-mini + llama3.1-8b
(both answer; accept the first agreeing draft), else the verifier gpt-4o. For each set, ``splits`` random
50/50 splits (seeds 0..splits-1): the threshold is calibrated on one half (the cheapest threshold whose
quality is within ``TARGET_DROP`` of the verifier alone, else the most conservative tried) and reported
on the other half. Costs are the recorded real costs of every call made. Prints mean held-out figures.
"""

from __future__ import annotations

import gzip
import json
import random
import statistics
import sys
from pathlib import Path

from cascadeflow_core import AgreementValidator, Draft, Request, SemanticAgreementValidator

DRAFTERS = ("gpt-4o-mini", "llama3.1-8b")
VERIFIER = "gpt-4o"
SETS = ("zellinger-triviaqa-train", "zellinger-truthfulqa-train")
TARGET_DROP = 0.02
GRID = [round(0.50 + 0.01 * i, 2) for i in range(50)]


def _load(folder: Path) -> dict[str, dict[str, dict]]:
    rows: dict[str, dict[str, dict]] = {}
    with gzip.open(folder / "responses.jsonl.gz", "rt") as f:
        for line in f:
            r = json.loads(line)
            rows.setdefault(r["id"], {})[r["model"]] = r
    need = (*DRAFTERS, VERIFIER)
    return {q: ms for q, ms in rows.items() if all(m in ms for m in need)}


def _outcome(ms: dict[str, dict], accept: bool, chosen: int) -> tuple[int, float]:
    cost = sum(ms[m]["cost_usd"] for m in DRAFTERS)
    if accept:
        return ms[DRAFTERS[chosen]]["correct"], cost
    return ms[VERIFIER]["correct"], cost + ms[VERIFIER]["cost_usd"]


def _summary(outs: list[tuple[int, float]]) -> tuple[float, float]:
    return statistics.mean(o[0] for o in outs), statistics.mean(o[1] for o in outs)


def main(root: Path, splits: int) -> None:
    semantic = SemanticAgreementValidator(0.9)
    exact = AgreementValidator()
    for name in SETS:
        data = _load(root / name)
        ids = sorted(data)
        texts = [data[q][m]["text"] for q in ids for m in DRAFTERS]
        vecs = semantic.vectors(texts)
        sim = {
            q: sum(a * b for a, b in zip(vecs[2 * i], vecs[2 * i + 1], strict=True))
            for i, q in enumerate(ids)
        }
        exact_ok = {
            q: exact([Draft(m, data[q][m]["text"]) for m in DRAFTERS], Request("q")).accept for q in ids
        }
        rows: dict[str, list[tuple[float, float]]] = {
            k: [] for k in ("verifier", "drafter", "exact", "semantic")
        }
        chosen_t = []
        for seed in range(splits):
            shuffled = ids[:]
            random.Random(seed).shuffle(shuffled)
            cal, test = shuffled[: len(ids) // 2], shuffled[len(ids) // 2 :]
            v_cal = statistics.mean(data[q][VERIFIER]["correct"] for q in cal)
            best = None
            for t in GRID:
                quality, cost = _summary([_outcome(data[q], sim[q] >= t, 0) for q in cal])
                if quality >= v_cal - TARGET_DROP and (best is None or cost < best[1]):
                    best = (t, cost)
            t = best[0] if best else 1.01
            chosen_t.append(t)
            rows["semantic"].append(_summary([_outcome(data[q], sim[q] >= t, 0) for q in test]))
            rows["exact"].append(_summary([_outcome(data[q], exact_ok[q], 0) for q in test]))
            rows["verifier"].append(
                _summary([(data[q][VERIFIER]["correct"], data[q][VERIFIER]["cost_usd"]) for q in test])
            )
            rows["drafter"].append(
                _summary([(data[q][DRAFTERS[0]]["correct"], data[q][DRAFTERS[0]]["cost_usd"]) for q in test])
            )
        print(f"{name}: {len(ids)} queries, {splits} splits 50/50, thresholds chosen {chosen_t}")
        v_cost = statistics.mean(c for _, c in rows["verifier"])
        for k, vals in rows.items():
            quality = statistics.mean(q for q, _ in vals)
            cost = statistics.mean(c for _, c in vals)
            print(
                f"  {k:9s} held-out accuracy {quality:.3f}  cost/query ${cost * 1e6:7.1f}e-6  ({cost / v_cost:.0%} of verifier)"
            )
        accept_rate = statistics.mean(sim[q] >= statistics.median(chosen_t) for q in ids)
        print(
            f"  semantic accepts {accept_rate:.0%} at t={statistics.median(chosen_t)}; exact accepts "
            f"{statistics.mean(exact_ok.values()):.0%}"
        )


if __name__ == "__main__":
    args = sys.argv[1:]
    main(Path(args[0]) if args else Path("/work/shared/data/replay"), int(args[1]) if len(args) > 1 else 5)
