"""Semantic agreement against exact agreement on recorded short-text answers (TriviaQA, TruthfulQA train).

``python scripts/bench_semantic_validator.py [replay_dir] [splits]``: drafters gpt-4o-mini + llama3.1-8b
(both answer; accept the first agreeing draft), else the verifier gpt-4o. For each set, ``splits`` random
50/50 splits (seeds 0..splits-1): the threshold is calibrated on one half (the cheapest threshold whose
one-sided loss, "accepted a wrong draft where the verifier was right", has a Wilson upper bound (z=1.645)
at most ``TARGET_LOSS`` and whose cost is below the verifier's; when none does, the verifier is kept
alone, as the library's calibration does) and reported on the other half. ``semantic@0.9`` is the
default threshold, uncalibrated. Costs are the recorded real costs of every call made. Prints mean held-out figures.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import statistics
import sys
from pathlib import Path

from cascadeflow_core import AgreementValidator, Draft, Request, SemanticAgreementValidator

DRAFTERS = ("gpt-4o-mini", "llama3.1-8b")
VERIFIER = "gpt-4o"
SETS = ("zellinger-triviaqa-train", "zellinger-truthfulqa-train")
TARGET_LOSS = 0.02
GRID = [round(0.01 * i, 2) for i in range(100)]


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


def _loss(ms: dict[str, dict], accept: bool) -> int:
    return int(accept and not ms[DRAFTERS[0]]["correct"] and ms[VERIFIER]["correct"])


def _wilson_upper(k: int, n: int, z: float = 1.645) -> float:
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre + spread) / (1 + z * z / n)


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
            k: [] for k in ("verifier", "drafter", "exact", "semantic@0.9", "semantic")
        }
        chosen_t = []
        for seed in range(splits):
            shuffled = ids[:]
            random.Random(seed).shuffle(shuffled)
            cal, test = shuffled[: len(ids) // 2], shuffled[len(ids) // 2 :]
            v_cost_cal = statistics.mean(data[q][VERIFIER]["cost_usd"] for q in cal)
            best = None
            for t in GRID:
                _, cost = _summary([_outcome(data[q], sim[q] >= t, 0) for q in cal])
                loss = sum(_loss(data[q], sim[q] >= t) for q in cal)
                ok = _wilson_upper(loss, len(cal)) <= TARGET_LOSS and cost < v_cost_cal
                if ok and (best is None or cost < best[1]):
                    best = (t, cost)
            verifier_rows = [(data[q][VERIFIER]["correct"], data[q][VERIFIER]["cost_usd"]) for q in test]
            if best is None:  # nothing meets the target for less: keep the verifier alone, and say so
                chosen_t.append(None)
                rows["semantic"].append(_summary(verifier_rows))
            else:
                chosen_t.append(best[0])
                rows["semantic"].append(_summary([_outcome(data[q], sim[q] >= best[0], 0) for q in test]))
            rows["semantic@0.9"].append(_summary([_outcome(data[q], sim[q] >= 0.9, 0) for q in test]))
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
        fitted = [t for t in chosen_t if t is not None]
        if fitted:
            t_mid = statistics.median(fitted)
            rate = statistics.mean(sim[q] >= t_mid for q in ids)
            print(f"  semantic accepts {rate:.0%} at the median threshold {t_mid}", end="; ")
        print(
            f"exact accepts {statistics.mean(exact_ok.values()):.0%}; verifier kept on "
            f"{chosen_t.count(None)}/{splits} splits"
        )


if __name__ == "__main__":
    args = sys.argv[1:]
    main(Path(args[0]) if args else Path("/work/shared/data/replay"), int(args[1]) if len(args) > 1 else 5)
