"""Observe-mode records as a replay set: what ``CascadeOptions(mode="observe")`` recorded, benchmarked and
calibrated like recorded outputs, without labels.

Each observe record (``tracking._audit.AuditRecord`` with ``kind == "observe"``) holds, for one real
request, the verifier's extracted answer and every draft the cascade made off the response path (model,
extracted answer, logprob, cost). ``observed_replay_set`` writes them in the replay format
(``shared/data/replay/README.md``): a query per request (its id; no prompt is kept), a response per
(draft model, request) and the verifier's, with ``correct`` = agrees with the verifier (label-free: the
verifier is the reference, so the verifier scores 1.0 and a configuration's quality is its agreement).
``cascadeflow bench --data audit.jsonl`` (an ``audit_export``) reads it through this module.

Only the drafts the cascade made are known: in a two-tier cascade every drafter answers every request;
later drafter tiers answer only what the first escalated, and the bench skips requests a configured
model did not answer.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .._errors import InputError
from ..tracking._audit import AuditRecord, load_audit_records
from ._provider import ReplaySet

__all__ = ["observed_replay_set"]


def _rows(records: Iterable[AuditRecord]) -> tuple[list[dict], list[dict], set[str]]:
    queries, responses, models = [], [], set()
    for r in records:
        if r.kind != "observe" or not r.drafts:
            continue
        qid = r.request_id
        queries.append(
            {"id": qid, "messages": [{"role": "user", "content": qid}], "reference": None, "task": "observed"}
        )
        v_cost = r.verifier_cost if r.verifier_cost is not None else 0.0
        verifier = _name(r.verifier)
        responses.append(_response(qid, verifier, r.verifier_answer, True, v_cost, None))
        models.add(verifier)
        seen = {verifier}
        for d in r.drafts:
            model = _name(d.get("model"))
            if model in seen:  # one answer per (model, query): the first draft of a model counts
                continue
            seen.add(model)
            models.add(model)
            responses.append(
                _response(
                    qid, model, d.get("answer"), bool(d.get("agreed")), d.get("cost") or 0.0, d.get("logprob")
                )
            )
    return queries, responses, models


def _name(model: object) -> str:
    """The model's name in the set: a model that was itself replayed keeps its recorded name."""
    name = str(model)
    return name.split("/", 1)[1] if name.startswith("replay/") else name


def _response(qid: str, model: str, answer: object, agreed: bool, cost: float, logprob: object) -> dict:
    return {
        "id": qid,
        "model": model,
        "text": "" if answer is None else str(answer),
        "correct": int(agreed),
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": float(cost),
        "logprob": logprob,
    }


def observed_replay_set(
    source: str | os.PathLike[str] | Iterable[AuditRecord], folder: str | os.PathLike[str] | None = None
) -> ReplaySet:
    """A ``ReplaySet`` of the observe records in ``source`` (an ``audit_export`` JSONL path or records).

    Written to ``folder`` (default: a new temporary folder). Model names are kept as the cascade labelled them
    (``"openai/gpt-4o-mini"``), except that a replayed ``"replay/<name>"`` becomes ``<name>``. Raises ``InputError`` when there is no
    observe record with drafts.
    """
    records = load_audit_records(str(source)) if isinstance(source, (str, os.PathLike)) else list(source)
    queries, responses, models = _rows(records)
    if not queries:
        raise InputError(
            "no observe-mode record with drafts: run the cascade with CascadeOptions(mode='observe') "
            "and export with tracker.audit_export(path)"
        )
    out = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="cascadeflow-observed-"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries), encoding="utf-8")
    (out / "responses.jsonl").write_text("".join(json.dumps(r) + "\n" for r in responses), encoding="utf-8")
    note = "observe-mode records of a CascadeFlow cascade; correct = agrees with the verifier (label-free)"
    (out / "models.json").write_text(
        json.dumps({"note": note, "models": {m: {} for m in sorted(models)}}), encoding="utf-8"
    )
    return ReplaySet.load(out)
