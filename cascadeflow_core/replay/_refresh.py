"""Refresh a calibration's certificate from audit / observe records of live traffic.

What this module owns: the hook by which certificates tighten as audited examples accumulate. A deployed
configuration is fixed (no selection happens here), so its loss on a uniform random sample of traffic is
certified with one Clopper-Pearson bound, without any correction for multiple testing.

Records (the documented format; the tracker's audit sampling and observe mode write it): an iterable of
mappings (or objects with these attributes), one per audited query:

- ``query``: the query id or text (for the report only);
- ``answer``: the answer the cascade returned;
- ``verifier_answer``: the verifier's answer to the same query (the audit call);
- ``tier``: the tier that answered (the verifier's tier name: no loss possible);
- ``cost``: what the cascade spent; optional ``verifier_cost``: what the verifier alone would have;
- optional ``correct`` / ``verifier_correct``: labels, when a human or a grader checked them. With both,
  the loss is one-sided (cascade wrong, verifier right); otherwise it is label-free (the extracted
  answers differ, compared as ``AgreementValidator`` does), which bounds the one-sided loss from above.

The sample must be uniform over traffic (every query equally likely to be audited), not only escalations.

Example:
    >>> recs = [{"query": f"q{i}", "answer": "B", "verifier_answer": "B", "tier": "drafters", "cost": 1.0}
    ...         for i in range(500)]
    >>> refresh_certificate(recs, target_drop=1.0).certified
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .._errors import ConfigError
from .._types import Draft
from ..validation._validators import AgreementValidator

__all__ = ["RefreshedCertificate", "refresh_certificate"]


@dataclass(frozen=True)
class RefreshedCertificate:
    """The deployed configuration's loss bound on the audited records.

    Attributes:
        n / losses: audited records and the losses among them.
        loss_rate / loss_upper_bound: observed and the ``1 - delta`` upper bound (fractions).
        certified: the bound is within ``target_drop`` points.
        n_needed: records that would certify it at the observed loss rate (None: never at this rate).
        labelled: the loss was one-sided on labels (else label-free).
        cost_ratio: cascade cost over verifier cost, when the records carry ``verifier_cost``.
    """

    n: int
    losses: int
    loss_rate: float
    loss_upper_bound: float
    target_drop: float
    delta: float
    certified: bool
    n_needed: int | None
    labelled: bool
    cost_ratio: float | None

    def summary(self) -> str:
        conf = 100 * (1 - self.delta)
        kind = "one-sided (labelled)" if self.labelled else "label-free (answer differs from the verifier's)"
        head = (
            f"audit refresh: {self.losses} {kind} losses in {self.n} audited records; loss <= "
            f"{100 * self.loss_upper_bound:.2f} points at {conf:g}% confidence"
        )
        if self.certified:
            return f"{head}: CERTIFIED at {self.target_drop:g} points"
        need = (
            "never at this loss rate" if self.n_needed is None else f"about {self.n_needed} audited records"
        )
        return f"{head}: NOT certified at {self.target_drop:g} points; to certify it: {need}"


def _get(rec: Any, key: str, default: Any = None) -> Any:
    return rec.get(key, default) if isinstance(rec, Mapping) else getattr(rec, key, default)


def _loss(rec: Any, verifier_tier: str, agree: AgreementValidator) -> tuple[int, bool]:
    """(loss, labelled) of one record."""
    for key in ("answer", "verifier_answer", "tier"):
        if _get(rec, key) is None:
            raise ConfigError(f"records.{key}", "missing", "each record needs answer, verifier_answer, tier")
    if _get(rec, "tier") == verifier_tier:
        return 0, _get(rec, "correct") is not None
    ok, vok = _get(rec, "correct"), _get(rec, "verifier_correct")
    if ok is not None and vok is not None:
        return int(not ok and bool(vok)), True
    k = agree.key(Draft("cascade", str(_get(rec, "answer"))))
    kv = agree.key(Draft("verifier", str(_get(rec, "verifier_answer"))))
    return int(k is None or k != kv), False


def refresh_certificate(
    records: Iterable[Any],
    target_drop: float,
    delta: float = 0.1,
    *,
    verifier_tier: str = "verifier",
    extract: str = "auto",
) -> RefreshedCertificate:
    """Certify the deployed configuration's loss on audited records (see the module docstring).

    Args:
        records: audit records (mappings or objects with the documented fields).
        target_drop: allowed loss in points.
        delta: miscoverage (0.1: 90% confidence).
        verifier_tier: name of the tier whose answers cannot be a loss.
        extract: answer extraction of the label-free comparison.
    """
    from ..validation._risk import clopper_pearson_upper, samples_to_certify

    agree = AgreementValidator(extract=extract)
    losses = labelled = n = 0
    cost = vcost = 0.0
    has_vcost = True
    for rec in records:
        loss, lab = _loss(rec, verifier_tier, agree)
        n, losses, labelled = n + 1, losses + loss, labelled + lab
        cost += float(_get(rec, "cost", 0.0) or 0.0)
        v = _get(rec, "verifier_cost")
        has_vcost = has_vcost and v is not None
        vcost += float(v or 0.0)
    if n == 0:
        raise ConfigError("records", "no audit records", "audit a uniform sample of traffic first")
    ucb = clopper_pearson_upper(losses, n, delta)
    t = target_drop / 100
    return RefreshedCertificate(
        n,
        losses,
        losses / n,
        ucb,
        target_drop,
        delta,
        ucb <= t,
        samples_to_certify(losses / n, t, delta),
        labelled == n,
        cost / vcost if has_vcost and vcost > 0 else None,
    )
