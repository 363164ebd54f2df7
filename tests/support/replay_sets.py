"""Tiny replay folders written on the fly (the format of docs/replay-and-benchmarks.md), for tests."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).resolve().parents[2] / "cascadeflow_core" / "replay" / "data" / "gsm8k_sample"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "replay"


def write_replay(
    folder: Path,
    queries: Sequence[Mapping[str, Any]],
    answers: Sequence[Mapping[str, Any]],
    models: Mapping[str, Mapping[str, float]] | None = None,
    gz: bool = True,
) -> Path:
    """Write queries.jsonl, responses.jsonl(.gz) and models.json; answers need id, model, text, correct."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps(dict(q)) + "\n" for q in queries), encoding="utf-8"
    )
    rows = []
    for a in answers:
        row = {"input_tokens": 10, "output_tokens": 2, "cost_usd": 0.001, "logprob": None, **a}
        rows.append(json.dumps(row) + "\n")
    if gz:
        with gzip.open(folder / "responses.jsonl.gz", "wt", encoding="utf-8") as f:
            f.writelines(rows)
    else:
        (folder / "responses.jsonl").write_text("".join(rows), encoding="utf-8")
    names = models or {a["model"]: {} for a in answers}
    (folder / "models.json").write_text(
        json.dumps({"note": "test set", "models": dict(names)}), encoding="utf-8"
    )
    return folder


def query(qid: str, text: str, reference: Any = None, task: str = "test") -> dict[str, Any]:
    return {"id": qid, "messages": [{"role": "user", "content": text}], "reference": reference, "task": task}


def mcq_set(folder: Path) -> Path:
    """A short-answer (letter) set: two cheap models with logprobs, a strong one; made-up but consistent.

    Cheap models are right when confident (p >= 0.9) and often wrong otherwise; they disagree often, so
    agreement alone cannot approach the strong model cheaply while a logprob threshold can.
    """
    queries, answers = [], []
    for i in range(40):
        qid = f"q{i}"
        truth = "ABCD"[i % 4]
        queries.append(query(qid, f"Question {i}: pick a letter.", {"answer_letter": truth}, "mcq"))
        confident = i % 5 != 0  # 80% confident
        small_ok = confident or i % 10 == 5  # right when confident, else right half the time
        small = truth if small_ok else "ABCD"[(i + 1) % 4]
        other = truth if i % 3 else "ABCD"[(i + 2) % 4]  # the second cheap model errs differently
        answers += [
            {
                "id": qid,
                "model": "small",
                "text": small,
                "correct": int(small_ok),
                "cost_usd": 0.0001,
                "logprob": -0.01 if confident else -1.2,
            },
            {
                "id": qid,
                "model": "other/model@host",
                "text": other,
                "correct": int(other == truth),
                "cost_usd": 0.0002,
                "logprob": -0.05 if i % 3 else -0.9,
            },
            {"id": qid, "model": "big", "text": truth, "correct": 1, "cost_usd": 0.01, "logprob": -0.001},
        ]
    return write_replay(folder, queries, answers)
