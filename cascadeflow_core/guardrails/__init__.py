"""Guardrails: what may go in and come out.

Owns the pipeline (``Guardrails``: input PII detect / redact / block, prompt-injection flag / block,
moderation; output checks) and the detectors a user may also call on their own: ``PIIDetector`` /
``Redactor`` / ``restore`` and ``InjectionDetector`` (with the opt-in learned ``_classifier``, extra
``ml``, weights in ``data/``). Patterns and word lists live in ``_pii_patterns`` and
``_injection_patterns`` / ``_injection_patterns_ext``, apart from the logic. May import: the
vocabulary and ``providers``.
"""

from ._injection import InjectionDetector, InjectionScore
from ._pii import ENTITIES, PIIDetector, PIIFinding, PresidioDetector, Redactor, restore
from ._pipeline import Guardrails, StreamRestorer

__all__ = [
    "ENTITIES",
    "Guardrails",
    "InjectionDetector",
    "InjectionScore",
    "PIIDetector",
    "PIIFinding",
    "PresidioDetector",
    "Redactor",
    "StreamRestorer",
    "restore",
]
