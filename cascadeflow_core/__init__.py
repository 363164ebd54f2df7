"""CascadeFlow: answer each LLM request with the cheapest model that is good enough.

Example:
    >>> from cascadeflow_core import Cascade, ModelSpec
    >>> cascade = Cascade([
    ...     ModelSpec("openai/gpt-4o-mini", params={"mock_response": "Paris"}),
    ...     ModelSpec("openai/gpt-4o", params={"mock_response": "Paris"}),
    ... ])
    >>> cascade.complete("Capital of France?").text
    'Paris'

``import cascadeflow_core`` does not import LiteLLM; the first model call does. Nor pydantic: the
configuration schema (``CascadeConfig``, ``load_config``) is imported when first used.
"""

import typing as _typing
from typing import Any as _Any

from ._cascade import Cascade, CascadeOptions
from ._errors import (
    AdmissionError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    CascadeError,
    ConfigError,
    ContentPolicyError,
    ContextWindowError,
    ExhaustedError,
    GuardrailError,
    InputError,
    MalformedResponseError,
    ModelNotFoundError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ReplayError,
    RunBudgetExceededError,
    ServiceUnavailableError,
    StorageError,
    UserRateLimitError,
)
from ._protocols import (
    Admission,
    Cache,
    GuardrailPipeline,
    ModelBackend,
    OutputCheck,
    Plan,
    Router,
    Tracker,
    Validator,
)
from ._secrets import mask_params as mask_secret_params
from ._secrets import redact as redact_secrets
from ._secrets import register_params as register_secrets
from ._types import (
    AnswerShape,
    Attempt,
    CascadeResult,
    Draft,
    InvalidToolCall,
    ModelSpec,
    Request,
    StreamEvent,
    Tier,
    ToolCall,
    Verdict,
    sum_costs,
)
from .caching import RedisResponseCache, ResponseCache, SemanticCache
from .config import PRESETS, preset_config
from .engine import CircuitBreaker, RetryPolicy
from .guardrails import Guardrails, StreamRestorer
from .providers import (
    LiteLLMBackend,
    MiniLMEmbedder,
    UnpricedModelWarning,
    model_context_window,
    model_supports_tools,
    warn_unpriced,
)
from .replay import (
    BenchReport,
    Calibration,
    RefreshedCertificate,
    ReplayRegistration,
    ReplaySet,
    arun_benchmark,
    audit_history,
    calibrate,
    observed_replay_set,
    plot_audit,
    refresh_certificate,
    register_replay,
    run_benchmark,
)
from .routing import (
    CascadeRouter,
    ComplexityResult,
    DomainDetector,
    DomainResult,
    EmbeddingDomainDetector,
    RouterConfig,
    estimate_complexity,
)
from .tracking import (
    AgentRun,
    Anomaly,
    Audit,
    AuditRecord,
    AuditReport,
    AuditStore,
    Budget,
    CostTracker,
    DriftEvent,
    EnforcementContext,
    EnforcementDecision,
    Forecast,
    LedgerEntry,
    LedgerStore,
    MemoryStore,
    OTelExporter,
    PostgresStore,
    RateLimit,
    RedisStore,
    RunLimits,
    SettlementEvent,
    SQLiteStore,
    TierAudit,
    TrackerPolicy,
    counted_tool,
    current_run,
    detect_anomalies,
    forecast_spend,
    load_audit_records,
)
from .validation import (
    AgreementValidator,
    AllOf,
    AnyOf,
    CallableValidator,
    JudgeValidator,
    LogprobValidator,
    RuleValidator,
    SchemaValidator,
    ScorerValidator,
    SemanticAgreementValidator,
    extract_answer,
    self_consistency,
)

__version__ = "0.1.0"

# Imported on first use: the detectors a user may call on their own (they compile many patterns) and the
# configuration schema (it imports pydantic, about 0.1 s).
_LAZY = ("InjectionDetector", "InjectionScore", "PIIDetector", "PIIFinding", "Redactor", "restore")
_LAZY_CONFIG = ("CascadeConfig", "load_config")

if _typing.TYPE_CHECKING:
    from .config import CascadeConfig, load_config


# Calibration statistics (NumPy, the ``ml`` extra), imported on first use.
_LAZY_STATS = ("AcceptanceScorer", "Certificate", "certify", "fit_scorer")


def __getattr__(name: str) -> _Any:
    if name in _LAZY_STATS:
        from . import validation

        value = getattr(validation, name)
        globals()[name] = value
        return value
    if name in _LAZY:
        from . import guardrails

        value = getattr(guardrails, name)
    elif name in _LAZY_CONFIG:
        from . import config

        value = getattr(config, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


__all__ = [
    "AcceptanceScorer",
    "Admission",
    "AdmissionError",
    "AgentRun",
    "AgreementValidator",
    "AllOf",
    "Anomaly",
    "AnswerShape",
    "AnyOf",
    "Attempt",
    "Audit",
    "AuditRecord",
    "AuditReport",
    "AuditStore",
    "AuthenticationError",
    "BadRequestError",
    "BenchReport",
    "Budget",
    "BudgetExceededError",
    "Cache",
    "Calibration",
    "CallableValidator",
    "Cascade",
    "CascadeConfig",
    "CascadeError",
    "CascadeOptions",
    "CascadeResult",
    "CascadeRouter",
    "Certificate",
    "CircuitBreaker",
    "ComplexityResult",
    "ConfigError",
    "ContentPolicyError",
    "ContextWindowError",
    "CostTracker",
    "DomainDetector",
    "DomainResult",
    "Draft",
    "DriftEvent",
    "EmbeddingDomainDetector",
    "EnforcementContext",
    "EnforcementDecision",
    "ExhaustedError",
    "Forecast",
    "GuardrailError",
    "GuardrailPipeline",
    "Guardrails",
    "InjectionDetector",
    "InjectionScore",
    "InputError",
    "InvalidToolCall",
    "JudgeValidator",
    "LedgerEntry",
    "LedgerStore",
    "LiteLLMBackend",
    "LogprobValidator",
    "MalformedResponseError",
    "MemoryStore",
    "MiniLMEmbedder",
    "ModelBackend",
    "ModelNotFoundError",
    "ModelSpec",
    "OTelExporter",
    "OutputCheck",
    "PIIDetector",
    "PIIFinding",
    "PRESETS",
    "Plan",
    "PostgresStore",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderTimeoutError",
    "RateLimit",
    "RateLimitError",
    "Redactor",
    "RedisResponseCache",
    "RedisStore",
    "RefreshedCertificate",
    "ReplayError",
    "ReplayRegistration",
    "ReplaySet",
    "Request",
    "ResponseCache",
    "RetryPolicy",
    "Router",
    "RouterConfig",
    "RuleValidator",
    "RunBudgetExceededError",
    "RunLimits",
    "SQLiteStore",
    "SchemaValidator",
    "ScorerValidator",
    "SemanticAgreementValidator",
    "SemanticCache",
    "ServiceUnavailableError",
    "SettlementEvent",
    "StorageError",
    "StreamEvent",
    "StreamRestorer",
    "Tier",
    "TierAudit",
    "ToolCall",
    "Tracker",
    "TrackerPolicy",
    "UnpricedModelWarning",
    "UserRateLimitError",
    "Validator",
    "Verdict",
    "arun_benchmark",
    "audit_history",
    "calibrate",
    "certify",
    "counted_tool",
    "current_run",
    "detect_anomalies",
    "estimate_complexity",
    "extract_answer",
    "fit_scorer",
    "forecast_spend",
    "load_audit_records",
    "load_config",
    "mask_secret_params",
    "model_context_window",
    "model_supports_tools",
    "observed_replay_set",
    "plot_audit",
    "preset_config",
    "redact_secrets",
    "refresh_certificate",
    "register_replay",
    "register_secrets",
    "restore",
    "run_benchmark",
    "self_consistency",
    "sum_costs",
    "warn_unpriced",
]
