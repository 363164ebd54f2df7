"""The audit report: per tier, the loss estimate with its confidence sequence (since start and over the
sliding window), drift evidence and state, the per model pair / domain breakdown, and what auditing
cost; as text, HTML (notebooks) and a dict. The statistics are in ``_audit``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .._errors import InputError
from ._audit import Audit, AuditRecord, DriftEvent, _Fold, _fold, confidence_sequence

__all__ = ["AuditReport", "TierAudit", "build_report"]


@dataclass(frozen=True)
class TierAudit:
    """The figures of one tier (or one tier / model pair / domain group in ``AuditReport.groups``)."""

    tier: str
    audits: int
    losses: int
    estimate: float | None
    lower: float
    upper: float
    window_audits: int = 0
    window_estimate: float | None = None
    window_lower: float = 0.0
    window_upper: float = 1.0
    e_value: float = 1.0
    state: str = "ok"
    cost: float = 0.0
    model: str = ""
    verifier: str = ""
    domain: str | None = None

    def describe(self, target: float) -> str:
        if not self.audits:
            return f"{self.tier}: no audits yet"
        head = (
            f"{self.tier}: loss {self.estimate:.2%} [{self.lower:.2%}, {self.upper:.2%}] over "
            f"{self.audits} audits ({self.losses} disagreed)"
        )
        if self.window_audits and self.window_audits < self.audits:
            head += (
                f"; last {self.window_audits}: {self.window_estimate:.2%} "
                f"[{self.window_lower:.2%}, {self.window_upper:.2%}]"
            )
        verdict = "within target" if self.upper <= target else "not yet certified within target"
        return f"{head}; {verdict} {target:.2%}; drift evidence {self.e_value:.2f}; {self.state}"


@dataclass(frozen=True)
class AuditReport:
    """The running estimate per tier, its confidence bounds, drift events and the cost of auditing."""

    target: float
    confidence: float
    tiers: tuple[TierAudit, ...]
    groups: tuple[TierAudit, ...] = ()
    events: tuple[DriftEvent, ...] = ()
    audit_cost: float = 0.0
    cascade_cost: float | None = None
    dropped: Mapping[str, int] = field(default_factory=dict)
    observed: int = 0

    @property
    def audit_share(self) -> float | None:
        """Audit spend as a share of the cascade's own spend (None when that is unknown or zero)."""
        return self.audit_cost / self.cascade_cost if self.cascade_cost else None

    def tier(self, name: str) -> TierAudit:
        found = next((t for t in self.tiers if t.tier == name), None)
        if found is None:
            raise InputError(f"no audit of tier {name!r}; audited tiers: {[t.tier for t in self.tiers]}")
        return found

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["audit_share"] = self.audit_share
        d["dropped"] = dict(self.dropped)
        return d

    def __str__(self) -> str:
        conf = f"{self.confidence:.0%} confidence sequence"
        lines = [f"audit (target loss {self.target:.2%}, {conf}):"]
        lines += [f"  {t.describe(self.target)}" for t in self.tiers] or ["  no audits yet"]
        for g in self.groups:
            dom = f" [{g.domain}]" if g.domain else ""
            lines.append(
                f"    {g.tier} {g.model} vs {g.verifier}{dom}: {g.estimate:.2%} "
                f"[{g.lower:.2%}, {g.upper:.2%}] over {g.audits}"
            )
        share = f" ({self.audit_share:.2%} of the cascade's spend)" if self.audit_share is not None else ""
        lines.append(f"  audit cost ${self.audit_cost:.6f}{share}")
        if self.observed:
            lines.append(f"  observe mode: {self.observed} requests compared")
        if any(self.dropped.values()):
            lines.append("  not audited: " + ", ".join(f"{v} {k}" for k, v in self.dropped.items() if v))
        lines += [f"  {e.message}" for e in self.events[-5:]]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(t.tier)}</td><td>{t.audits}</td><td>{t.losses}</td>"
            f"<td>{_pct(t.estimate)}</td><td>{t.lower:.2%} – {t.upper:.2%}</td>"
            f"<td>{_pct(t.window_estimate)} ({t.window_audits})</td><td>{t.e_value:.2f}</td>"
            f"<td>{html.escape(t.state)}</td><td>{t.cost:.6f}</td></tr>"
            for t in self.tiers
        )
        share = f" ({self.audit_share:.2%} of cascade spend)" if self.audit_share is not None else ""
        events = "".join(f"<li>{html.escape(e.message)}</li>" for e in self.events[-5:])
        return (
            f"<div><b>Audit</b>: target loss {self.target:.2%}, {self.confidence:.0%} confidence sequence; "
            f"audit cost ${self.audit_cost:.6f}{share}<table><thead><tr><th>tier</th><th>audits</th>"
            "<th>disagreed</th><th>loss</th><th>bound</th><th>window</th><th>drift evidence</th>"
            f"<th>state</th><th>cost $</th></tr></thead><tbody>{rows}</tbody></table>"
            + (f"<ul>{events}</ul>" if events else "")
            + "</div>"
        )


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.2%}"


def _row(tier: str, st: _Fold, alpha: float) -> TierAudit:
    lo, hi = confidence_sequence(st.losses, st.n, alpha)
    wn, ws = len(st.window), sum(st.window)
    wlo, whi = confidence_sequence(ws, wn, alpha)
    state = "held: drafts go to the next tier" if st.held else ("drift" if st.events else "ok")
    if st.events and st.events[-1].kind == "released":
        state = "released"
    return TierAudit(
        tier, st.n, st.losses, st.losses / st.n if st.n else None, lo, hi,
        wn, ws / wn if wn else None, wlo, whi, st.wealth, state, st.cost,
    )  # fmt: skip


def _groups(records: Sequence[AuditRecord], alpha: float) -> tuple[TierAudit, ...]:
    counts: dict[tuple[str, str, str, str | None], list[float]] = {}
    for r in records:
        if r.loss is None:
            continue
        c = counts.setdefault((r.tier, r.model, r.verifier, r.domain), [0, 0, 0.0])
        c[0], c[1], c[2] = c[0] + 1, c[1] + r.loss, c[2] + r.cost
    out = []
    for (tier, model, verifier, domain), (n, s, cost) in sorted(counts.items(), key=lambda kv: str(kv[0])):
        lo, hi = confidence_sequence(int(s), int(n), alpha)
        out.append(
            TierAudit(
                tier, int(n), int(s), s / n, lo, hi, cost=cost, model=model, verifier=verifier, domain=domain
            )
        )
    return tuple(out)


def build_report(
    records: Sequence[AuditRecord],
    audit: Audit,
    *,
    cascade_cost: float | None = None,
    dropped: Mapping[str, int] | None = None,
) -> AuditReport:
    """The ``AuditReport`` of these records under ``audit``'s target and confidence."""
    states = _fold(records, audit)
    tiers = tuple(_row(t, st, audit.alpha) for t, st in states.items())
    events = tuple(sorted((e for st in states.values() for e in st.events), key=lambda e: e.ts))
    return AuditReport(
        audit.target,
        audit.confidence,
        tiers,
        _groups(records, audit.alpha),
        events,
        sum(r.cost for r in records),
        cascade_cost,
        dict(dropped or {}),
        sum(1 for r in records if r.kind == "observe"),
    )
