"""CascadeFlow: answer each LLM request with the cheapest model that is good enough.

Example:
    >>> from cascadeflow_core import Cascade, ModelSpec
    >>> cascade = Cascade([
    ...     ModelSpec("openai/gpt-4o-mini", params={"mock_response": "Paris"}),
    ...     ModelSpec("openai/gpt-4o", params={"mock_response": "Paris"}),
    ... ])
    >>> cascade.complete("Capital of France?").text
    'Paris'

``import cascadeflow_core`` does not import LiteLLM; the first model call does.
"""

from ._budget import Budget, EnforcementContext, EnforcementDecision, RateLimit, TrackerPolicy
from ._cache import RedisResponseCache, ResponseCache, SemanticCache
from ._calibrate import Calibration, calibrate
from ._cascade import Cascade, CascadeOptions, RetryPolicy
from ._complexity import ComplexityResult, estimate_complexity
from ._config import PRESETS, CascadeConfig, load_config, preset_config
from ._domain import DomainDetector, DomainResult, EmbeddingDomainDetector
from ._embed import MiniLMEmbedder
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
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ReplayError,
    ServiceUnavailableError,
    StorageError,
    UserRateLimitError,
)
from ._extract import extract_answer
from ._forecast import Anomaly, Forecast, detect_anomalies, forecast_spend
from ._guardrails import Guardrails, StreamRestorer
from ._litellm import LiteLLMBackend, model_context_window
from ._otel import OTelExporter
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
from ._replay import ReplayRegistration, ReplaySet, register_replay
from ._router import CascadeRouter, RouterConfig
from ._store_redis import RedisStore
from ._stores import LedgerEntry, LedgerStore, MemoryStore, SQLiteStore
from ._tracker import CostTracker, SettlementEvent
from ._types import Attempt, CascadeResult, Draft, ModelSpec, Request, StreamEvent, Tier, ToolCall, Verdict
from ._validators import (
    AgreementValidator,
    AllOf,
    AnyOf,
    CallableValidator,
    LogprobValidator,
    RuleValidator,
    SchemaValidator,
)
from .bench import BenchReport, arun_benchmark, run_benchmark

__version__ = "0.1.0"

__all__ = [
    "Admission",
    "AdmissionError",
    "AgreementValidator",
    "AllOf",
    "Anomaly",
    "AnyOf",
    "Attempt",
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
    "ComplexityResult",
    "ConfigError",
    "ContentPolicyError",
    "ContextWindowError",
    "CostTracker",
    "DomainDetector",
    "DomainResult",
    "Draft",
    "EmbeddingDomainDetector",
    "EnforcementContext",
    "EnforcementDecision",
    "ExhaustedError",
    "Forecast",
    "GuardrailError",
    "GuardrailPipeline",
    "Guardrails",
    "InputError",
    "LedgerEntry",
    "LedgerStore",
    "LiteLLMBackend",
    "LogprobValidator",
    "MalformedResponseError",
    "MemoryStore",
    "MiniLMEmbedder",
    "ModelBackend",
    "ModelSpec",
    "OTelExporter",
    "OutputCheck",
    "PRESETS",
    "Plan",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderTimeoutError",
    "RateLimit",
    "RateLimitError",
    "RedisResponseCache",
    "RedisStore",
    "ReplayError",
    "ReplayRegistration",
    "ReplaySet",
    "Request",
    "ResponseCache",
    "RetryPolicy",
    "Router",
    "RouterConfig",
    "RuleValidator",
    "SQLiteStore",
    "SchemaValidator",
    "SemanticCache",
    "ServiceUnavailableError",
    "SettlementEvent",
    "StorageError",
    "StreamEvent",
    "StreamRestorer",
    "Tier",
    "ToolCall",
    "Tracker",
    "TrackerPolicy",
    "UserRateLimitError",
    "Validator",
    "Verdict",
    "arun_benchmark",
    "calibrate",
    "detect_anomalies",
    "estimate_complexity",
    "extract_answer",
    "forecast_spend",
    "load_config",
    "model_context_window",
    "preset_config",
    "register_replay",
    "run_benchmark",
]
