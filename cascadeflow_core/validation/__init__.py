"""Validation: whether a draft is good enough, and how sure we can be of it.

Owns the validators (rule checks, agreement, logprob, schema and tool calls, callables, combinators), the
rule checks themselves, answer extraction (numbers, letters, ``\\boxed{}``, JSON fields, short text) and the
statistics that calibrate them (``_risk``: finite-sample bounds and Learn-then-Test certificates;
``_scorer``: the learned acceptance scorer; both need NumPy and are imported on first use, PEP 562;
``_scored``: the scorer at run time, pure Python). May import: the vocabulary and ``providers``.
"""

from typing import Any as _Any

from ._defaults import self_consistency
from ._extract import extract_answer
from ._judge import JudgeValidator
from ._scored import ScorerValidator
from ._semantic import SemanticAgreementValidator
from ._validators import (
    AgreementValidator,
    AllOf,
    AnyOf,
    CallableValidator,
    LogprobValidator,
    RuleValidator,
    SchemaValidator,
)

# NumPy-backed statistics, imported on first use (NumPy is the ``ml`` extra, not a core dependency).
_LAZY = {"AcceptanceScorer": "_scorer", "Certificate": "_risk", "certify": "_risk", "fit_scorer": "_scorer"}


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AcceptanceScorer",
    "AgreementValidator",
    "AllOf",
    "AnyOf",
    "CallableValidator",
    "Certificate",
    "JudgeValidator",
    "LogprobValidator",
    "RuleValidator",
    "SchemaValidator",
    "ScorerValidator",
    "SemanticAgreementValidator",
    "certify",
    "extract_answer",
    "fit_scorer",
    "self_consistency",
]
