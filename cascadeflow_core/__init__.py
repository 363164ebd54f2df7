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

from ._cascade import Cascade, CascadeOptions, RetryPolicy
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
from ._litellm import LiteLLMBackend
from ._protocols import Admission, Cache, GuardrailPipeline, ModelBackend, OutputCheck, Plan, Router, Tracker, Validator
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

__version__ = "0.1.0"

__all__ = [
    "Admission",
    "AdmissionError",
    "AgreementValidator",
    "AllOf",
    "AnyOf",
    "Attempt",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "Cache",
    "CallableValidator",
    "Cascade",
    "CascadeError",
    "CascadeOptions",
    "CascadeResult",
    "ConfigError",
    "ContentPolicyError",
    "ContextWindowError",
    "Draft",
    "ExhaustedError",
    "GuardrailError",
    "GuardrailPipeline",
    "InputError",
    "LiteLLMBackend",
    "LogprobValidator",
    "MalformedResponseError",
    "ModelBackend",
    "ModelSpec",
    "OutputCheck",
    "Plan",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderTimeoutError",
    "RateLimitError",
    "ReplayError",
    "Request",
    "RetryPolicy",
    "Router",
    "RuleValidator",
    "SchemaValidator",
    "ServiceUnavailableError",
    "StorageError",
    "StreamEvent",
    "Tier",
    "ToolCall",
    "Tracker",
    "UserRateLimitError",
    "Validator",
    "Verdict",
    "extract_answer",
]
