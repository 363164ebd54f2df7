"""The one module that imports LiteLLM: the default model backend, pricing and error mapping.

LiteLLM is imported lazily, on the first call that needs it, so ``import cascadeflow_core`` stays fast.
Before that import ``LITELLM_LOCAL_MODEL_COST_MAP`` is set to ``True`` unless the developer set it,
so LiteLLM reads its bundled price map and never fetches one over the network. No other LiteLLM global
is changed. LiteLLM's own retries are switched off per call (``num_retries=0``): the engine retries
with backoff and then falls through to the next model, so retries never stack.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import functools
import json
import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from .._errors import (
    AuthenticationError,
    BadRequestError,
    ContentPolicyError,
    ContextWindowError,
    MalformedResponseError,
    ModelNotFoundError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServiceUnavailableError,
)
from .._secrets import scrub_exception
from .._types import Draft, ModelSpec, Request, ToolCall, content_text

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "LiteLLMBackend",
    "UnpricedModelWarning",
    "amoderation",
    "estimate_cost",
    "litellm_module",
    "map_exception",
    "model_context_window",
    "model_prices",
    "model_supports_tools",
    "price",
    "prompt_bytes_bound",
    "prompt_tokens_bound",
    "warn_unpriced",
]

_DEFAULT_OUTPUT_TOKENS = 512
log = logging.getLogger("cascadeflow.providers")
# Seconds a provider call may take unless ``params={"timeout": ...}`` says otherwise. The SDKs' own
# default (600 s) equalled the tracker's reservation TTL, and a hung provider held a request for it.
DEFAULT_TIMEOUT_S = 120.0


@functools.cache
def litellm_module() -> Any:
    """Import LiteLLM (once), making sure it reads its local price map instead of the network."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    return litellm


async def alitellm_module() -> Any:
    """``litellm_module()`` for coroutines: the first import (seconds) runs in a worker thread, so it never
    blocks the event loop; later calls return at once."""
    module = sys.modules.get("litellm")
    if module is not None and getattr(module, "completion", None) is not None:
        return module
    return await asyncio.to_thread(litellm_module)


def custom_llm_class() -> Any:
    """LiteLLM's ``CustomLLM`` base class, for a custom provider (the replay provider subclasses it)."""
    return litellm_module().CustomLLM


def custom_logger_class() -> Any:
    """LiteLLM's ``CustomLogger`` base class, for a callback (the tracker's LiteLLM callback subclasses it)."""
    litellm_module()
    from litellm.integrations.custom_logger import CustomLogger

    return CustomLogger


def stream_chunk_types() -> tuple[Any, Any, Any, Any]:
    """LiteLLM's ``(Delta, ModelResponseStream, StreamingChoices, Usage)``, to build streamed chunks."""
    litellm_module()
    from litellm.types.utils import Delta, ModelResponseStream, StreamingChoices, Usage

    return Delta, ModelResponseStream, StreamingChoices, Usage


def _header_maps(e: BaseException) -> list[Any]:
    """Every place a provider's response headers may sit on the exception or its causes.

    LiteLLM keeps them in ``litellm_response_headers`` and sometimes leaves ``response.headers`` empty or
    partial; the OpenAI SDK's error under it has ``response.headers``.
    """
    maps: list[Any] = []
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        for holder in (getattr(cur, "response", None), cur):
            for name in ("headers", "litellm_response_headers"):
                h = getattr(holder, name, None)
                if h is not None and hasattr(h, "get"):
                    maps.append(h)
        nxt = cur.__cause__ or cur.__context__ or getattr(cur, "original_exception", None)
        cur = nxt if isinstance(nxt, BaseException) else None
    return maps


def _parse_retry_after(value: Any, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` value: delta-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _retry_after(e: BaseException) -> float | None:
    """What the provider asked us to wait: ``retry-after-ms``, ``Retry-After`` seconds or HTTP-date."""
    for headers in _header_maps(e):
        try:
            ms = headers.get("retry-after-ms") or headers.get("Retry-After-Ms")
            value = headers.get("retry-after") or headers.get("Retry-After")
        except Exception:  # a header object that cannot be read is no answer
            continue
        if ms is not None:
            try:
                return max(0.0, float(ms) / 1000.0)
            except (TypeError, ValueError):
                pass
        if value is not None:
            parsed = _parse_retry_after(value)
            if parsed is not None:
                return parsed
    return None


# Messages LiteLLM wraps in a 500 (InternalServerError) although nothing failed on the server.
_MISSING_CREDENTIALS = ("missing credentials", "api_key client option must be set", "no api key provided")
_NOT_A_COMPLETION = ("empty or invalid response from llm endpoint",)


def _reclassify(e: BaseException, cls: type[ProviderError]) -> type[ProviderError]:
    """A missing key is an authentication error, an HTML page a malformed response, whatever LiteLLM says."""
    if cls is ModelNotFoundError and "ReplayError" in str(e):
        return BadRequestError  # a replay set without this (model, query): not a misconfigured model
    text = str(e).lower()
    if any(m in text for m in _MISSING_CREDENTIALS):
        return AuthenticationError
    if any(m in text for m in _NOT_A_COMPLETION):
        return MalformedResponseError
    return cls


def _transport_cause(e: BaseException) -> type[ProviderError] | None:
    """What the cause chain says when LiteLLM reports a dropped connection or an unparsable body as a 500.

    LiteLLM wraps ``openai.APIConnectionError`` (connection reset, truncated body) and a JSON decode
    failure in ``InternalServerError``; the chain below it names the real failure.
    """
    import httpx
    import openai

    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, json.JSONDecodeError):
            return MalformedResponseError
        if isinstance(cur, (openai.APITimeoutError, httpx.TimeoutException)):
            return ProviderTimeoutError
        if isinstance(cur, (openai.APIConnectionError, httpx.TransportError, ConnectionError)):
            return ProviderConnectionError
        nxt = cur.__cause__ or cur.__context__ or getattr(cur, "original_exception", None)
        cur = nxt if isinstance(nxt, BaseException) else None
    return None


def map_exception(e: BaseException, model: str) -> ProviderError:
    """Map a LiteLLM / provider / transport exception onto the typed tree."""
    if isinstance(e, ProviderError):
        return e
    lm = litellm_module()
    status = getattr(e, "status_code", None)
    status = status if isinstance(status, int) else None
    table: list[tuple[Any, type[ProviderError]]] = [
        (lm.ContextWindowExceededError, ContextWindowError),
        (lm.ContentPolicyViolationError, ContentPolicyError),
        (lm.RateLimitError, RateLimitError),
        (lm.Timeout, ProviderTimeoutError),
        (lm.AuthenticationError, AuthenticationError),
        (lm.PermissionDeniedError, AuthenticationError),
        (lm.ServiceUnavailableError, ServiceUnavailableError),
        (lm.InternalServerError, ServiceUnavailableError),
        (lm.BadGatewayError, ServiceUnavailableError),
        (lm.APIConnectionError, ProviderConnectionError),
        (lm.NotFoundError, ModelNotFoundError),
        (lm.BadRequestError, BadRequestError),
        (lm.UnprocessableEntityError, BadRequestError),
        (lm.APIResponseValidationError, MalformedResponseError),
    ]
    cls: type[ProviderError] = ProviderError
    for lite_cls, ours in table:
        if isinstance(e, lite_cls):
            cls = ours
            break
    else:
        if isinstance(e, (TimeoutError,)):
            cls = ProviderTimeoutError
        elif isinstance(e, (ConnectionError, OSError)):
            cls = ProviderConnectionError
        elif isinstance(e, (json.JSONDecodeError, KeyError, IndexError, AttributeError, TypeError)):
            cls = MalformedResponseError
        elif status is not None and status >= 500:
            cls = ServiceUnavailableError
        elif status == 429:
            cls = RateLimitError
    cls = _reclassify(e, cls)
    if cls in (ServiceUnavailableError, ProviderError):
        cause = _transport_cause(e)
        if cause is not None:
            cls, status = cause, None
    scrub_exception(e)  # a provider echoing the key must not put it in a traceback
    text = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
    return cls(f"{model}: {text}", model=model, status=status, retry_after=_retry_after(e))


@functools.lru_cache(maxsize=1024)
def _catalog_prices(model: str) -> tuple[float, float] | None:
    lm = litellm_module()
    try:
        info = lm.get_model_info(model)
    except Exception:
        return None
    inp, out = info.get("input_cost_per_token"), info.get("output_cost_per_token")
    if inp is None or out is None:
        return None
    return float(inp), float(out)


def model_prices(spec: ModelSpec) -> tuple[float, float] | None:
    """Dollars per (input, output) token: the spec's own prices, else LiteLLM's price map, else None."""
    if spec.has_prices:
        return float(spec.input_cost_per_token or 0.0), float(spec.output_cost_per_token or 0.0)
    return _catalog_prices(spec.model)


def price(spec: ModelSpec, input_tokens: int, output_tokens: int) -> float | None:
    """What ``spec`` charges for these token counts, or None when it cannot be priced."""
    p = model_prices(spec)
    if p is None:
        return None
    return input_tokens * p[0] + output_tokens * p[1]


@functools.lru_cache(maxsize=1024)
def _catalog_window(model: str) -> int | None:
    try:
        info = litellm_module().get_model_info(model)
    except Exception:
        return None
    value = info.get("max_input_tokens") or info.get("max_tokens")
    return int(value) if isinstance(value, (int, float)) and value > 0 else None


def model_context_window(spec: ModelSpec) -> int | None:
    """Tokens ``spec`` accepts: its own ``context_window``, else LiteLLM's model map, else None (unknown).

    Example:
        >>> model_context_window(ModelSpec("my/model", context_window=8192))
        8192
    """
    if spec.context_window is not None:
        return spec.context_window
    if spec.backend is not None:
        return None
    return _catalog_window(spec.model)


_MESSAGE_OVERHEAD = 4  # role and separators of one chat message, in tokens (OpenAI counts 3-4)
_MEDIA_TOKENS = 1_600  # an image: OpenAI's high-detail maximum (~1,105) and Anthropic's (~1,600)
_EXACT_PROVIDERS = frozenset({"openai", "azure", "text-completion-openai", "azure_text"})
_prompt_memo: tuple[Any, Any, int] | None = None  # (request, model, count): one request, many specs
_bytes_memo: tuple[Any, int] | None = None  # (request, byte bound)


def _prompt_parts(request: Request) -> tuple[str, int]:
    """(all prompt text, tokens of non-text parts): images counted at a fixed bound, files and audio
    at their JSON size in bytes (never fetched)."""
    texts, media = [], 0
    for m in request.messages:
        content = m.get("content")
        if isinstance(content, (list, tuple)):
            for p in content:
                if isinstance(p, Mapping) and p.get("type") not in (None, "text"):
                    kind = str(p.get("type"))
                    media += _MEDIA_TOKENS if "image" in kind else len(json.dumps(p, default=str))
        texts.append(content_text(content))
        if m.get("tool_calls"):
            texts.append(json.dumps(m["tool_calls"], default=str))
    if request.tools:
        texts.append(json.dumps(list(request.tools), default=str))
    return "\n".join(texts), media + _MESSAGE_OVERHEAD * len(request.messages) + 3


def prompt_bytes_bound(request: Request) -> int:
    """Prompt tokens at most, for any tokenizer and any script: UTF-8 bytes of the text.

    Byte-level BPE and byte-fallback tokenizers never spend more than one token per byte (special tokens
    aside, which the per-message overhead covers), so this holds for CJK, Thai, emoji and code alike.
    """
    global _bytes_memo
    memo = _bytes_memo
    if memo is not None and memo[0] is request:
        return memo[1]
    text, extra = _prompt_parts(request)
    n = len(text.encode("utf-8", "surrogatepass")) + extra
    _bytes_memo = (request, n)
    return n


@functools.lru_cache(maxsize=1024)
def _exact_tokenizer(model: str) -> bool:
    """Whether LiteLLM counts this model's tokens with its own tokenizer (OpenAI's tiktoken), cached."""
    try:
        info = litellm_module().get_model_info(model)
    except Exception:
        return False
    return info.get("litellm_provider") in _EXACT_PROVIDERS


def prompt_tokens_bound(spec: ModelSpec | None, request: Request) -> int:
    """Prompt tokens of ``request`` for ``spec``, never under the real count.

    For a model whose tokenizer LiteLLM has (OpenAI's), LiteLLM's ``token_counter`` plus 10% (its
    tokenizer may be a neighbour of the model's own, e.g. cl100k for o200k), capped by the byte bound;
    for any other model, before a call has loaded LiteLLM, or when counting fails, the byte bound.
    """
    global _prompt_memo
    bound = prompt_bytes_bound(request)
    # Counting never imports LiteLLM by itself (seconds): until a call has loaded it, the byte bound.
    if spec is None or spec.backend is not None or bound < 64 or "litellm" not in sys.modules:
        return bound
    if not _exact_tokenizer(spec.model):
        return bound
    memo = _prompt_memo
    if memo is not None and memo[0] is request and memo[1] == spec.model:
        return memo[2]
    text, extra = _prompt_parts(request)
    try:
        # LiteLLM picks the tokenizer by the bare model name (o200k for gpt-4o, cl100k otherwise).
        name = spec.model.split("/", 1)[1] if spec.model.startswith("openai/") else spec.model
        counted = int(litellm_module().token_counter(model=name, text=text))
    except Exception:
        return bound
    n = min(bound, int(counted * 1.1) + extra + 8)
    _prompt_memo = (request, spec.model, n)
    return n


def model_supports_tools(spec: ModelSpec) -> bool:
    """Whether ``spec`` may call tools: False only when LiteLLM's model map says it cannot.

    A model the map does not know (a local server, a fine-tune) is not ruled out, as the router does; a
    model with its own ``backend`` is assumed able to.

    Example:
        >>> model_supports_tools(ModelSpec("my-server/my-model"))
        True
    """
    return True if spec.backend is not None else _catalog_tools(spec.model)


@functools.lru_cache(maxsize=1024)
def _catalog_tools(model: str) -> bool:
    try:
        info = litellm_module().get_model_info(model)
    except Exception:  # unknown to the map: not ruled out
        return True
    return info.get("supports_function_calling") is not False


def _prompt_tokens_estimate(request: Request) -> int:
    # 4 characters a token: a cheap upper-ish estimate for reservations; settlement uses real usage.
    chars = sum(len(content_text(m.get("content"))) for m in request.messages)
    chars += len(json.dumps(list(request.tools), default=str)) if request.tools else 0
    return chars // 4 + 4 * len(request.messages)


async def amoderation(model: str, text: str, **kwargs: Any) -> tuple[bool, tuple[str, ...]]:
    """One LiteLLM moderation call: ``(flagged, categories that fired)``; errors are mapped."""
    litellm = await alitellm_module()
    try:
        resp = await litellm.amoderation(input=text, model=model, **kwargs)
    except Exception as e:
        raise map_exception(e, model) from e
    results = (
        getattr(resp, "results", None) or (resp.get("results") if isinstance(resp, Mapping) else None) or []
    )
    flagged, cats = False, set[str]()
    for item in results:
        r = (
            item
            if isinstance(item, Mapping)
            else (item.model_dump() if hasattr(item, "model_dump") else vars(item))
        )
        flagged = flagged or bool(r.get("flagged"))
        cats.update(k for k, v in (r.get("categories") or {}).items() if v)
    return flagged, tuple(sorted(cats))


def estimate_cost(spec: ModelSpec, request: Request, typical_output: int | None = None) -> float:
    """Estimate of one call's cost, for reserving budget before the call.

    With ``max_tokens`` (on the request or the spec) it is an upper bound: the prompt's token bound and
    every output token allowed. Without, the output part is ``typical_output`` (the tracker's high
    percentile of the model's observed outputs) or 512 tokens until there are enough observations,
    capped by the model's maximum output; a longer answer can overshoot the reservation by its excess.
    """
    p = model_prices(spec)
    if p is None:
        return 0.0
    out = request.max_tokens or spec.params.get("max_tokens")
    if not isinstance(out, int) or out <= 0:
        out = typical_output if typical_output is not None else _DEFAULT_OUTPUT_TOKENS
        cap = _catalog_max_output(spec.model) if spec.backend is None and "litellm" in sys.modules else None
        out = min(out, cap) if cap else out
    return prompt_tokens_bound(spec, request) * p[0] + out * p[1]


@functools.lru_cache(maxsize=1024)
def _catalog_max_output(model: str) -> int | None:
    try:
        value = litellm_module().get_model_info(model).get("max_output_tokens")
    except Exception:
        return None
    return int(value) if isinstance(value, (int, float)) and value > 0 else None


def _kwargs(spec: ModelSpec, request: Request) -> dict[str, Any]:
    kw = request.provider_kwargs()
    kw.update(spec.params)
    kw["model"] = spec.model
    if spec.api_base:
        kw["api_base"] = spec.api_base
    if spec.api_key:
        kw["api_key"] = spec.api_key
    kw.setdefault("num_retries", 0)
    kw.setdefault("timeout", DEFAULT_TIMEOUT_S)
    # Marks the call as the cascade's own, so a tracker's LiteLLM callback does not book it twice.
    # LiteLLM keeps ``metadata`` to itself (it is not sent to the provider).
    md = kw.get("metadata")
    kw["metadata"] = {**md, "cascadeflow": True} if isinstance(md, Mapping) else {"cascadeflow": True}
    return kw


# LiteLLM's response objects are pydantic models whose ``__getattr__`` raises (and catches) an exception for
# a private attribute or a deleted field: ~1.5 us each on every call. These two read them directly.
def _choice_logprobs(choice: Any) -> Any:
    d = getattr(choice, "__dict__", None)
    if d is not None and "logprobs" in d:
        return d["logprobs"]
    if "logprobs" in getattr(type(choice), "__pydantic_fields__", ()):  # a field LiteLLM deletes when None
        return None
    return getattr(choice, "logprobs", None)


def _hidden_params(resp: Any) -> Any:
    private = getattr(resp, "__pydantic_private__", None)
    if isinstance(private, dict) and "_hidden_params" in private:
        return private["_hidden_params"]
    return getattr(resp, "_hidden_params", None)


def _sum_logprobs(choice: Any) -> tuple[float | None, float | None]:
    lp = _choice_logprobs(choice)
    content = getattr(lp, "content", None) if lp is not None else None
    if content is None and isinstance(lp, Mapping):
        content = lp.get("content")
    if not content:
        return None, None
    values = []
    for tok in content:
        v = tok.get("logprob") if isinstance(tok, Mapping) else getattr(tok, "logprob", None)
        if isinstance(v, (int, float)):
            values.append(float(v))
    if not values:
        return None, None
    return sum(values), sum(values) / len(values)


_UNPRICED: set[str] = set()
_UNPRICED_LOCK = threading.Lock()


class UnpricedModelWarning(UserWarning):
    """A model was called whose price is unknown: its cost is reported as ``None`` (unknown), not 0."""


def warn_unpriced(model: str) -> None:
    """Warn once per model (per process) that its calls cannot be priced."""
    with _UNPRICED_LOCK:
        if model in _UNPRICED:
            return
        _UNPRICED.add(model)
    warnings.warn(
        f"{model}: no price configured and none in LiteLLM's price map, so its cost is reported as "
        "unknown (None) and savings cannot be computed; give ModelSpec(..., input_cost_per_token=..., "
        "output_cost_per_token=...)",
        UnpricedModelWarning,
        stacklevel=2,
    )
    log.warning("cascadeflow: %s has no known price; its cost is reported as unknown", model)


def _cost(spec: ModelSpec, resp: Any, in_tok: int, out_tok: int) -> float | None:
    if spec.has_prices:
        return in_tok * float(spec.input_cost_per_token or 0) + out_tok * float(
            spec.output_cost_per_token or 0
        )
    hidden = _hidden_params(resp) or {}
    cost = hidden.get("response_cost") if isinstance(hidden, Mapping) else None
    if isinstance(cost, (int, float)):
        return float(cost)
    p = price(spec, in_tok, out_tok)
    if p is None:
        warn_unpriced(spec.label)
    return p


def _tool_calls(raw_calls: Any) -> tuple[ToolCall, ...]:
    calls = []
    for i, tc in enumerate(raw_calls or ()):
        fn = tc.get("function") if isinstance(tc, Mapping) else getattr(tc, "function", None)
        name = fn.get("name") if isinstance(fn, Mapping) else getattr(fn, "name", None)
        args = fn.get("arguments") if isinstance(fn, Mapping) else getattr(fn, "arguments", None)
        tc_id = tc.get("id") if isinstance(tc, Mapping) else getattr(tc, "id", None)
        if not isinstance(args, str):
            args = json.dumps(args if args is not None else {})
        calls.append(ToolCall(id=tc_id or f"call_{i}", name=name or "", arguments=args))
    return tuple(calls)


def to_draft(spec: ModelSpec, resp: Any, latency_s: float) -> Draft:
    """Turn a LiteLLM ``ModelResponse`` into a ``Draft``."""
    try:
        choice = resp.choices[0]
        msg = choice.message
    except (AttributeError, IndexError, TypeError) as e:
        raise MalformedResponseError(f"{spec.model}: response has no choices", model=spec.model) from e
    usage = getattr(resp, "usage", None)
    in_tok = int(getattr(usage, "prompt_tokens", 0) or 0)
    out_tok = int(getattr(usage, "completion_tokens", 0) or 0)
    lp_sum, lp_mean = _sum_logprobs(choice)
    return Draft(
        model=spec.label,
        text=content_text(getattr(msg, "content", None)),
        tool_calls=_tool_calls(getattr(msg, "tool_calls", None)),
        finish_reason=getattr(choice, "finish_reason", None),
        input_tokens=in_tok,
        output_tokens=out_tok,
        cost=_cost(spec, resp, in_tok, out_tok),
        latency_s=latency_s,
        logprob=lp_sum,
        mean_logprob=lp_mean,
        raw=resp,
    )


class _StreamAssembler:
    """Collects streamed chunks into deltas and, at the end, one ``Draft``."""

    def __init__(self, spec: ModelSpec, request: Request) -> None:
        self.spec, self.request = spec, request
        self.parts: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.finish: str | None = None
        self.usage: Any = None
        self.lp: list[float] = []
        self.t0 = time.perf_counter()

    def feed(self, chunk: Any) -> str:
        if getattr(chunk, "usage", None) is not None:
            self.usage = chunk.usage
        choices = getattr(chunk, "choices", None) or []
        if not choices:
            return ""
        ch = choices[0]
        self.finish = getattr(ch, "finish_reason", None) or self.finish
        delta = getattr(ch, "delta", None)
        for tc in getattr(delta, "tool_calls", None) or []:
            idx = getattr(tc, "index", None) or 0
            slot = self.calls.setdefault(idx, {"id": None, "name": "", "arguments": ""})
            slot["id"] = getattr(tc, "id", None) or slot["id"]
            fn = getattr(tc, "function", None)
            if fn is not None:
                slot["name"] += getattr(fn, "name", None) or ""
                slot["arguments"] += getattr(fn, "arguments", None) or ""
        s, _ = _sum_logprobs(ch)
        if s is not None:
            self.lp.append(s)
        text = getattr(delta, "content", None) or ""
        if text:
            self.parts.append(text)
        return text

    def draft(self) -> Draft:
        text = "".join(self.parts)
        in_tok = int(getattr(self.usage, "prompt_tokens", 0) or 0)
        out_tok = int(getattr(self.usage, "completion_tokens", 0) or 0)
        if self.usage is None:
            in_tok, out_tok = _count_tokens(self.spec, self.request, text)
        calls = tuple(
            ToolCall(id=c["id"] or f"call_{i}", name=c["name"], arguments=c["arguments"] or "{}")
            for i, c in sorted(self.calls.items())
        )
        usage_cost = getattr(self.usage, "cost", None)
        if not self.spec.has_prices and isinstance(usage_cost, (int, float)) and usage_cost > 0:
            cost: float | None = float(usage_cost)
        else:
            cost = _cost(self.spec, None, in_tok, out_tok)
        lp = sum(self.lp) if self.lp else None
        return Draft(
            model=self.spec.label,
            text=text,
            tool_calls=calls,
            finish_reason=self.finish,
            input_tokens=in_tok,
            output_tokens=out_tok,
            cost=cost,
            latency_s=time.perf_counter() - self.t0,
            logprob=lp,
            mean_logprob=(lp / max(out_tok, 1)) if lp is not None else None,
        )


def _count_tokens(spec: ModelSpec, request: Request, text: str) -> tuple[int, int]:
    lm = litellm_module()
    try:
        return (
            int(lm.token_counter(model=spec.model, messages=list(request.messages))),
            int(lm.token_counter(model=spec.model, text=text)),
        )
    except Exception:
        return prompt_tokens_bound(spec, request), len(text.encode("utf-8", "surrogatepass"))


class LiteLLMBackend:
    """The default backend: calls any LiteLLM-supported provider.

    Example:
        >>> backend = LiteLLMBackend()
        >>> spec = ModelSpec("openai/gpt-4o-mini", params={"mock_response": "hi"})
        >>> backend.complete(spec, Request([{"role": "user", "content": "hello"}])).text
        'hi'
    """

    def __repr__(self) -> str:
        return "LiteLLMBackend()"

    def complete(self, spec: ModelSpec, request: Request) -> Draft:
        lm = litellm_module()
        t0 = time.perf_counter()
        try:
            resp = lm.completion(**_kwargs(spec, request))
        except Exception as e:
            raise map_exception(e, spec.model) from e
        return to_draft(spec, resp, time.perf_counter() - t0)

    async def acomplete(self, spec: ModelSpec, request: Request) -> Draft:
        lm = await alitellm_module()
        t0 = time.perf_counter()
        try:
            resp = await lm.acompletion(**_kwargs(spec, request))
        except Exception as e:
            raise map_exception(e, spec.model) from e
        return to_draft(spec, resp, time.perf_counter() - t0)

    def stream(self, spec: ModelSpec, request: Request) -> Iterator[str | Draft]:
        lm = litellm_module()
        asm = _StreamAssembler(spec, request)
        try:
            for chunk in lm.completion(
                stream=True, stream_options={"include_usage": True}, **_kwargs(spec, request)
            ):
                text = asm.feed(chunk)
                if text:
                    yield text
        except Exception as e:
            raise map_exception(e, spec.model) from e
        yield asm.draft()

    async def astream(self, spec: ModelSpec, request: Request) -> AsyncIterator[str | Draft]:
        lm = await alitellm_module()
        asm = _StreamAssembler(spec, request)
        try:
            resp = await lm.acompletion(
                stream=True, stream_options={"include_usage": True}, **_kwargs(spec, request)
            )
            async for chunk in resp:
                text = asm.feed(chunk)
                if text:
                    yield text
        except Exception as e:
            raise map_exception(e, spec.model) from e
        yield asm.draft()
