"""Exports of the ledger (JSON, CSV, SQLite) and the summary report (text, and HTML for notebooks).

Entries carry models, users, tags, tokens and dollars: never prompts, answers or API keys.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError, InputError, StorageError
from ._stores import LEDGER_COLUMNS, LedgerEntry, entry_row

if TYPE_CHECKING:
    from ._tracker import CostTracker

__all__ = ["html_report", "text_report", "to_csv", "to_json", "to_sqlite", "totals"]

_BY = ("user", "model", "tag", "plan", "tier", "day", "status", "source")


def _check_path(path: Any, what: str) -> str:
    """A file system path for an export, or an ``InputError`` naming the fix (never a raw TypeError).

    A file descriptor (an int) is refused: ``open(fd)`` would close a descriptor the caller owns.
    """
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str) or not path:
        raise InputError(
            f"{what}: path must be a file path (str or os.PathLike), got {type(path).__name__}",
        )
    if "\x00" in path:
        raise InputError(f"{what}: the path contains a NUL byte; give a plain file path")
    return path


def _write(text: str, path: Any, what: str) -> str:
    if path is None:
        return text
    if hasattr(path, "write") and not isinstance(path, (str, bytes, os.PathLike)):
        path.write(text)  # a file object the caller opened, and closes
        return text
    target = _check_path(path, what)
    try:
        with open(target, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    except OSError as e:
        raise StorageError(f"cannot write the export to {target!r}: {e}") from e
    return text


def to_json(entries: Sequence[LedgerEntry], path: Any = None) -> str:
    """The ledger as a JSON array (one object per entry); also written to ``path`` (a file path, or an open
    text file that stays open) when given."""
    return _write(json.dumps([e.to_dict() for e in entries], indent=1), path, "to_json")


def to_csv(entries: Sequence[LedgerEntry], path: Any = None) -> str:
    """The ledger as CSV with a header row (tags joined by ``;``, ``ts`` also as ISO time)."""
    buf = io.StringIO()
    cols = ["time", *LEDGER_COLUMNS, "accepted"]
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for e in entries:
        d = e.to_dict()
        d["tags"] = ";".join(e.tags)
        d["guardrails"] = ";".join(e.guardrails)
        d["time"] = datetime.fromtimestamp(e.ts, tz=timezone.utc).isoformat()
        w.writerow({c: d.get(c) for c in cols})
    return _write(buf.getvalue(), path, "to_csv")


def to_sqlite(entries: Sequence[LedgerEntry], path: str) -> int:
    """Append the ledger to table ``ledger`` of the SQLite file ``path``; returns rows written."""
    from ._stores import _SCHEMA, migrate_ledger

    path = _check_path(path, "to_sqlite")
    try:
        db = sqlite3.connect(path)
        try:
            db.executescript(_SCHEMA)
            migrate_ledger(db)
            cur = db.executemany(
                f"INSERT OR IGNORE INTO ledger VALUES ({', '.join('?' * len(LEDGER_COLUMNS))})",
                [entry_row(e) for e in entries],
            )
            db.commit()
            return cur.rowcount
        finally:
            db.close()
    except sqlite3.Error as e:
        raise StorageError(f"cannot export the ledger to SQLite file {path!r}: {e}") from e


def _group_keys(e: LedgerEntry, by: str) -> Sequence[str]:
    if by == "tag":
        return e.tags or ("(none)",)
    if by == "day":
        return (datetime.fromtimestamp(e.ts, tz=timezone.utc).strftime("%Y-%m-%d"),)
    value = getattr(e, by)
    return (str(value) if value is not None else "(none)",)


def totals(entries: Sequence[LedgerEntry], by: str = "user") -> dict[str, dict[str, float]]:
    """Cost, model calls, requests, tokens and rejected calls per group, most expensive first."""
    if by not in _BY:
        raise ConfigError("by", f"cannot group by {by!r}", f"use one of {', '.join(_BY)}")
    groups: dict[str, dict[str, Any]] = {}
    for e in entries:
        for k in _group_keys(e, by):
            g = groups.setdefault(
                k,
                {
                    "cost": 0.0,
                    "calls": 0,
                    "requests": set(),
                    "input_tokens": 0,
                    "output_tokens": 0,
                    "rejected": 0,
                    "errors": 0,
                },
            )
            g["cost"] += e.cost
            g["calls"] += 1
            g["requests"].add(e.request_id)
            g["input_tokens"] += e.input_tokens
            g["output_tokens"] += e.output_tokens
            g["rejected"] += e.status == "rejected"
            g["errors"] += e.status == "error"
    out = {k: {**g, "requests": len(g["requests"])} for k, g in groups.items()}
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["cost"]))


def _table(title: str, rows: dict[str, dict[str, float]], limit: int = 10) -> list[str]:
    lines = [title, f"  {'':24} {'cost $':>12} {'requests':>9} {'calls':>7} {'tokens in/out':>17}"]
    for k, g in list(rows.items())[:limit]:
        lines.append(
            f"  {k[:24]:24} {g['cost']:12.6f} {g['requests']:9d} {g['calls']:7d} "
            f"{g['input_tokens']:>8d}/{g['output_tokens']:<8d}"
        )
    if len(rows) > limit:
        lines.append(f"  ... and {len(rows) - limit} more")
    return lines


def text_report(tracker: CostTracker, period: str = "total") -> str:
    """Spend by user, model and tag, then each budget's forecast, then anomalies."""
    from ._budget import period_bounds

    _, start, _ = period_bounds(period, tracker.clock())
    entries = tracker.entries(None if period == "total" else start.timestamp())
    total = sum(e.cost for e in entries)
    reqs = len({e.request_id for e in entries})
    lines = [f"CascadeFlow ledger ({period}): ${total:.6f} over {reqs} requests, {len(entries)} model calls"]
    unpriced = getattr(tracker, "unpriced", None)
    if unpriced:
        calls = ", ".join(f"{m} ({n} calls)" for m, n in sorted(unpriced.items()))
        lines.append(f"  UNKNOWN cost, booked at $0 (no price known; the total is a lower bound): {calls}")
    for by in ("user", "model", "tag"):
        rows = totals(entries, by)
        if rows and not (by == "tag" and list(rows) == ["(none)"]):
            lines += _table(f"by {by}:", rows)
    fc = tracker.forecast() if tracker.budgets else []
    if fc:
        lines.append("budgets:")
        lines += [f"  {f.describe()}" for f in fc]
    anomalies = tracker.anomalies()
    if anomalies:
        lines.append("anomalies:")
        lines += [f"  {a.describe()}" for a in anomalies]
    audit = _audit_section(tracker)
    if audit is not None:
        lines.append(str(audit))
    return "\n".join(lines)


def _audit_section(tracker: CostTracker) -> Any:
    """The tracker's ``AuditReport`` when it holds audit records, else None."""
    from ._audit import AuditStore

    if getattr(tracker, "_audit_log", None) is None and not isinstance(tracker.store, AuditStore):
        return None  # a store without audit records, and no cascade audited through this tracker
    if not tracker.audit_log.records():
        return None
    return tracker.audit_report()


def html_report(tracker: CostTracker) -> str:
    """The report as an HTML table for notebooks."""
    entries = tracker.entries()
    total = sum(e.cost for e in entries)
    parts = [
        f"<div><b>CascadeFlow ledger</b>: ${total:.6f} over {len({e.request_id for e in entries})} "
        f"requests, {len(entries)} model calls"
    ]
    for by in ("user", "model"):
        rows = totals(entries, by)
        if not rows:
            continue
        parts.append(
            f"<table><thead><tr><th>{by}</th><th>cost $</th><th>requests</th><th>calls</th>"
            "<th>tokens in</th><th>tokens out</th></tr></thead><tbody>"
        )
        for k, g in list(rows.items())[:20]:
            parts.append(
                f"<tr><td>{html.escape(k)}</td><td>{g['cost']:.6f}</td><td>{g['requests']}</td>"
                f"<td>{g['calls']}</td><td>{g['input_tokens']}</td><td>{g['output_tokens']}</td></tr>"
            )
        parts.append("</tbody></table>")
    for f in tracker.forecast() if tracker.budgets else []:
        parts.append(f"<div>{html.escape(f.describe())}</div>")
    audit = _audit_section(tracker)
    if audit is not None:
        parts.append(audit._repr_html_())
    parts.append("</div>")
    return "".join(parts)
