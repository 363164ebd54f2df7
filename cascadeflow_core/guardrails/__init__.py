"""Guardrails: what may go in and come out.

Owns the pipeline (``Guardrails``: input PII detect / redact / block, prompt-injection flag / block,
moderation; output checks) and the detectors a user may also call on their own: ``PIIDetector`` /
``Redactor`` / ``restore`` and ``InjectionDetector`` (with the opt-in learned ``_classifier``, extra
``ml``, weights in ``data/``). Patterns and word lists live in ``_pii_patterns`` and
``_injection_patterns`` / ``_injection_patterns_ext``, apart from the logic. May import: the
vocabulary and ``providers``.
"""

from typing import Any

from ._pipeline import Guardrails, StreamRestorer

# The detectors compile hundreds of patterns: imported on first use, so ``import cascadeflow_core`` stays fast.
_LAZY = {
    "ENTITIES": "_pii",
    "InjectionDetector": "_injection",
    "InjectionScore": "_injection",
    "PIIDetector": "_pii",
    "PIIFinding": "_pii",
    "PresidioDetector": "_pii",
    "Redactor": "_pii",
    "restore": "_pii",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
