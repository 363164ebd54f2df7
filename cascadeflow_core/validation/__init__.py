"""Validation: whether a draft is good enough, and how sure we can be of it.

Owns the validators (rule checks, agreement, logprob, schema and tool calls, callables, combinators), the
rule checks themselves, answer extraction (numbers, letters, ``\\boxed{}``, JSON fields, short text) and the
statistics that calibrate them. May import: the vocabulary and ``providers``.
"""

from ._extract import extract_answer
from ._judge import JudgeValidator
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

__all__ = [
    "AgreementValidator",
    "AllOf",
    "AnyOf",
    "CallableValidator",
    "JudgeValidator",
    "LogprobValidator",
    "RuleValidator",
    "SchemaValidator",
    "SemanticAgreementValidator",
    "extract_answer",
]
