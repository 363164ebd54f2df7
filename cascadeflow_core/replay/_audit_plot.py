"""The audit estimate over time with its band: ``audit_history`` (the points) and ``plot_audit`` (a figure).

For one tier, after each audit: the since-start estimate with its confidence sequence (valid at every
point at once, so the whole band may be read), the sliding-window estimate, and the drift events.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._errors import InputError
from ..tracking._audit import Audit, AuditRecord, _fold, confidence_sequence
from ._plot import pyplot_for

__all__ = ["audit_history", "plot_audit"]


def audit_history(
    records: Sequence[AuditRecord], tier: str, audit: Audit | None = None
) -> list[dict[str, Any]]:
    """One point per audit of ``tier``: ``n``, ``ts``, ``estimate``, ``lower``, ``upper``, ``window``.

    Example:
        >>> from cascadeflow_core import AuditRecord
        >>> recs = [AuditRecord(f"r{i}", float(i), f"r{i}", "t", "m", "v", i % 10 != 0) for i in range(50)]
        >>> h = audit_history(recs, "t")
        >>> h[-1]["n"], round(h[-1]["estimate"], 2)
        (50, 0.1)
    """
    audit = audit or Audit()
    window: deque[int] = deque(maxlen=audit.window)
    out, n, s = [], 0, 0
    for r in sorted(records, key=lambda r: (r.ts, r.id)):
        if r.tier != tier or r.loss is None:
            continue
        n, s = n + 1, s + r.loss
        window.append(r.loss)
        lo, hi = confidence_sequence(s, n, audit.alpha)
        out.append(
            {
                "n": n,
                "ts": r.ts,
                "estimate": s / n,
                "lower": lo,
                "upper": hi,
                "window": sum(window) / len(window),
            }
        )
    if not out:
        raise InputError(f"no audit of tier {tier!r} in these records")
    return out


def plot_audit(
    records: Sequence[AuditRecord],
    tier: str,
    path: str | os.PathLike[str],
    *,
    audit: Audit | None = None,
    title: str | None = None,
) -> Path:
    """Draw ``tier``'s loss estimate, its confidence band, the window estimate, the target and the drift
    events (vertical lines) to ``path`` (``.png`` / ``.svg`` / ``.pdf``); return the path."""
    audit = audit or Audit()
    out, plt = pyplot_for(path)

    h = audit_history(records, tier, audit)
    xs = [p["n"] for p in h]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.fill_between(xs, [p["lower"] for p in h], [p["upper"] for p in h], alpha=0.2, color="tab:blue",
                    label=f"{audit.confidence:.0%} confidence sequence")  # fmt: skip
    ax.plot(xs, [p["estimate"] for p in h], color="tab:blue", label="estimate since start")
    ax.plot(xs, [p["window"] for p in h], color="tab:orange", lw=0.8, label=f"last {audit.window} audits")
    ax.axhline(audit.target, ls="--", color="tab:red", lw=1, label=f"target {audit.target:.1%}")
    ordered = sorted(records, key=lambda r: (r.ts, r.id))
    position = {
        r.id: i + 1 for i, r in enumerate(r for r in ordered if r.tier == tier and r.loss is not None)
    }
    state = _fold(ordered, audit).get(tier)
    for e in state.events if state is not None else ():
        if e.record_id in position:
            ax.axvline(position[e.record_id], color="tab:red" if e.kind == "drift" else "tab:green", lw=1)
    ax.set_xlabel("audits")
    ax.set_ylabel("loss rate (verifier disagrees)")
    ax.set_ylim(0, min(1.0, max(p["upper"] for p in h[len(h) // 10 :]) * 1.1))
    ax.set_title(title or f"audit of {tier}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
