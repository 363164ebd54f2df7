"""Response caches: a repeated request is answered from the cache at no cost.

The key is the SHA-256 of the normalised messages (every field and every content part of every
message: text, images, audio, files; text with outer whitespace trimmed, and single-line text with
inner runs collapsed, while multi-line text keeps its indentation so code that differs only in
indentation never shares an entry) and every parameter that changes the answer (tools, tool choice,
response format, temperature, max tokens, stop, routing such as a per-request ``api_base``, and provider
kwargs other than credentials and transport settings), plus a ``namespace`` and the fingerprint of the
cascade's configuration (``Cascade`` sets it, so two cascades sharing one cache never serve each other). Values are the answer's ``Draft`` fields as JSON: text, tool calls, model,
token counts; never the raw provider object, never an API key.

- ``ResponseCache``: in memory, LRU with a TTL, thread-safe; for one process.
- ``RedisResponseCache``: in Redis (redis-py), shared by a fleet of workers.
- ``SemanticCache``: near-duplicate questions (cosine similarity of embeddings of the latest user
  turn, everything else equal) with any ``embed: text -> vector`` function (extra ``ml``).

The engine marks a hit ``cached=True`` with cost 0; the ledger records it as free.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from .._errors import ConfigError, StorageError
from .._types import Draft, ModelSpec, Request, Tier, ToolCall

__all__ = [
    "RedisResponseCache",
    "ResponseCache",
    "SemanticCache",
    "cache_key",
    "cascade_fingerprint",
    "draft_from_json",
    "draft_to_json",
]

# Provider kwargs that do not change the answer (credentials, transport, bookkeeping).
_IGNORED_PARAMS = frozenset(
    {
        "api_key",
        "timeout",
        "request_timeout",
        "num_retries",
        "max_retries",
        "extra_headers",
        "headers",
        "metadata",
        "user",
        "logprobs",
        "top_logprobs",
        "stream",
        "stream_options",
        "caching",
        "no-log",
    }
)
_WS = re.compile(r"\s+")


_SCOPE = "cascade_fingerprint"  # ``Request.private`` key the cascade sets: its configuration fingerprint


def _norm_text(text: str) -> str:
    text = text.strip()
    if "\n" not in text:
        return _WS.sub(" ", text)
    # Multi-line text (code, tables) keeps its indentation and inner spacing: only trailing blanks go.
    return "\n".join(line.rstrip() for line in text.splitlines())


def _norm_content(content: Any) -> Any:
    if isinstance(content, str) or content is None:
        return _norm_text(content or "")
    parts: list[Any] = []
    for p in content if isinstance(content, Sequence) else (content,):
        if isinstance(p, str):
            parts.append(_norm_text(p))
        elif isinstance(p, Mapping) and p.get("type") == "text":
            parts.append({**p, "text": _norm_text(str(p.get("text", "")))})
        else:  # images, audio, files ...: every byte of them counts
            parts.append(p)
    return parts


def _normalised_messages(request: Request, skip_last_user: bool = False) -> list[Any]:
    out: list[Any] = []
    last_user = max((i for i, m in enumerate(request.messages) if m.get("role") == "user"), default=-1)
    for i, m in enumerate(request.messages):
        if skip_last_user and i == last_user:
            out.append(["user", "<query>"])
            continue
        item: list[Any] = [m.get("role"), _norm_content(m.get("content"))]
        for extra in sorted(k for k in m if k not in ("role", "content")):
            if m[extra] is not None:
                item.append([extra, m[extra]])
        out.append(item)
    return out


def cache_key(request: Request, namespace: str = "", *, skip_last_user: bool = False) -> str:
    """SHA-256 hex key of the normalised request (see the module docstring for what counts)."""
    params = {k: v for k, v in request.params.items() if k not in _IGNORED_PARAMS}
    payload = {
        "ns": namespace,
        "messages": _normalised_messages(request, skip_last_user),
        "tools": list(request.tools) if request.tools else None,
        "tool_choice": request.tool_choice,
        "response_format": request.response_format,
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "stop": request.stop,
        "params": params,
        "cascade": request.private.get(_SCOPE) if request.private else None,
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def draft_to_json(draft: Draft) -> str:
    """The answer's fields as JSON (no raw provider object, no credentials)."""
    return json.dumps(
        {
            "model": draft.model,
            "text": draft.text,
            "tool_calls": [[tc.id, tc.name, tc.arguments] for tc in draft.tool_calls],
            "finish_reason": draft.finish_reason,
            "input_tokens": draft.input_tokens,
            "output_tokens": draft.output_tokens,
            "cost": draft.cost,
            "latency_s": draft.latency_s,
            "logprob": draft.logprob,
            "mean_logprob": draft.mean_logprob,
        },
        separators=(",", ":"),
    )


def draft_from_json(blob: str | bytes) -> Draft:
    """Rebuild a cached ``Draft`` (marked ``cached=True``; its original cost kept for reference)."""
    d = json.loads(blob)
    return Draft(
        model=d["model"],
        text=d["text"],
        tool_calls=tuple(ToolCall(*tc) for tc in d.get("tool_calls", ())),
        finish_reason=d.get("finish_reason"),
        input_tokens=int(d.get("input_tokens", 0)),
        output_tokens=int(d.get("output_tokens", 0)),
        cost=float(d.get("cost", 0.0)),
        latency_s=float(d.get("latency_s", 0.0)),
        logprob=d.get("logprob"),
        mean_logprob=d.get("mean_logprob"),
        cached=True,
    )


def _check_ttl(ttl_s: float | None, name: str) -> float | None:
    if ttl_s is None:
        return None
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, (int, float)) or not ttl_s > 0:
        raise ConfigError(
            f"{name}.ttl_s",
            f"must be a positive number of seconds or None, got {ttl_s!r}",
            "e.g. 3600 for one hour, None to keep entries until evicted",
        )
    return float(ttl_s)


def _cacheable(draft: Draft) -> bool:
    # Only complete answers: an empty or truncated one is not worth serving again.
    return bool(draft.text or draft.tool_calls) and draft.finish_reason != "length"


class ResponseCache:
    """In-memory exact-match response cache: LRU with a time-to-live, thread-safe.

    Args:
        max_entries: entries kept; the least recently used goes first.
        ttl_s: seconds an entry lives (``None``: until evicted).
        namespace: mixed into every key (use one per cascade configuration).

    Example:
        >>> cache = ResponseCache(max_entries=100, ttl_s=3600)
        >>> cache.set(Request("2+2?"), Draft("m", "4"))
        >>> cache.get(Request("  2+2? ")).text
        '4'
    """

    def __init__(self, max_entries: int = 1024, ttl_s: float | None = 3600.0, namespace: str = "") -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigError(
                "ResponseCache.max_entries", f"must be an int >= 1, got {max_entries!r}", "e.g. 1024"
            )
        self.max_entries = max_entries
        self.ttl_s = _check_ttl(ttl_s, "ResponseCache")
        self.namespace = namespace
        self._data: OrderedDict[str, tuple[float, Draft]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return f"ResponseCache(max_entries={self.max_entries}, ttl_s={self.ttl_s}, size={len(self)})"

    def __len__(self) -> int:
        return len(self._data)

    def get(self, request: Request) -> Draft | None:
        key = cache_key(request, self.namespace)
        now = time.monotonic()
        with self._lock:
            entry = self._data.get(key)
            if entry is not None and (entry[0] == 0.0 or entry[0] > now):
                self._data.move_to_end(key)
                self.hits += 1
                return entry[1]
            if entry is not None:
                del self._data[key]
            self.misses += 1
            return None

    def set(self, request: Request, draft: Draft) -> None:
        if not _cacheable(draft):
            return
        key = cache_key(request, self.namespace)
        expires = 0.0 if self.ttl_s is None else time.monotonic() + self.ttl_s
        stored = Draft(
            draft.model,
            draft.text,
            draft.tool_calls,
            draft.finish_reason,
            draft.input_tokens,
            draft.output_tokens,
            draft.cost,
            draft.latency_s,
            draft.logprob,
            draft.mean_logprob,
            cached=True,
        )
        with self._lock:
            self._data[key] = (expires, stored)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class RedisResponseCache:
    """Exact-match response cache in Redis, shared by every worker of a fleet.

    Args:
        client: a ``redis.Redis`` client (or give ``url``).
        url: ``redis://host:port/db``, used when ``client`` is None.
        ttl_s: seconds an entry lives (``None``: no expiry; use Redis eviction).
        prefix: key prefix; ``namespace``: mixed into every key.
        fail_open: on a Redis error, count a miss (get) or skip (set) instead of raising ``StorageError``.
        timeout_s: socket and connect timeout of the connections made from ``url`` (a stalled server
            fails within it instead of blocking the request).

    Example:
        >>> cache = RedisResponseCache(url="redis://127.0.0.1:6379/0")  # doctest: +SKIP
    """

    def __init__(
        self,
        client: Any = None,
        *,
        url: str | None = None,
        ttl_s: float | None = 3600.0,
        prefix: str = "cascadeflow:cache:",
        namespace: str = "",
        fail_open: bool = False,
        timeout_s: float = 5.0,
    ) -> None:
        if client is None:
            if not url:
                raise ConfigError(
                    "RedisResponseCache",
                    "needs a redis client or a url",
                    'e.g. RedisResponseCache(url="redis://localhost:6379/0")',
                )
            try:
                import redis
            except ImportError as e:
                raise ConfigError(
                    "RedisResponseCache",
                    "the redis package is not installed",
                    "pip install 'cascadeflow-core[redis]'",
                ) from e
            if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not timeout_s > 0:
                raise ConfigError(
                    "RedisResponseCache.timeout_s", f"must be a positive number of seconds, got {timeout_s!r}"
                )
            t = float(timeout_s)
            client = redis.Redis.from_url(url, socket_timeout=t, socket_connect_timeout=t)
        self.client = client
        self.ttl_s = _check_ttl(ttl_s, "RedisResponseCache")
        self.prefix = prefix
        self.namespace = namespace
        self.fail_open = fail_open

    def __repr__(self) -> str:
        return f"RedisResponseCache(prefix={self.prefix!r}, ttl_s={self.ttl_s})"

    def _key(self, request: Request) -> str:
        # The namespace is in the key's name too, so ``clear()`` can find this namespace's keys only.
        return f"{self.prefix}{self.namespace}:{cache_key(request, self.namespace)}"

    def get(self, request: Request) -> Draft | None:
        try:
            blob = self.client.get(self._key(request))
        except Exception as e:
            if self.fail_open:
                return None
            raise StorageError(f"Redis cache get failed: {e}") from e
        if blob is None:
            return None
        try:
            return draft_from_json(blob)
        except (ValueError, KeyError, TypeError):
            return None  # an entry written by an incompatible version: treat as a miss

    def set(self, request: Request, draft: Draft) -> None:
        if not _cacheable(draft):
            return
        ttl = None if self.ttl_s is None else max(1, math.ceil(self.ttl_s))
        try:
            self.client.set(self._key(request), draft_to_json(draft), ex=ttl)
        except Exception as e:
            if not self.fail_open:
                raise StorageError(f"Redis cache set failed: {e}") from e

    def clear(self) -> int:
        """Delete this cache's keys (its prefix and namespace, no other); returns how many."""
        pattern = _glob_escape(f"{self.prefix}{self.namespace}:") + "?" * 64  # a SHA-256 hex digest
        n = 0
        try:
            for key in self.client.scan_iter(match=pattern, count=500):
                n += int(self.client.delete(key))
        except Exception as e:
            raise StorageError(f"Redis cache clear failed: {e}") from e
        return n


def _glob_escape(text: str) -> str:
    return re.sub(r"([\\*?\[\]])", r"\\\1", text)


class SemanticCache:
    """Answer near-duplicate questions from the cache: same conversation and parameters, and a latest
    user turn whose embedding is within ``threshold`` cosine similarity of a cached one.

    Args:
        embed: ``text -> vector``, e.g. a local sentence-transformers model (extra ``ml``).
        threshold: minimum cosine similarity in [0, 1] for a hit (0.95 is conservative).
        max_entries: entries kept (LRU); ``ttl_s``: their lifetime; ``namespace``: as for ``ResponseCache``.

    Example:
        >>> emb = lambda t: [t.lower().count(w) for w in ("capital", "france", "spain")]
        >>> cache = SemanticCache(emb, threshold=0.99)
        >>> cache.set(Request("Capital of France?"), Draft("m", "Paris"))
        >>> cache.get(Request("What is the capital of France")).text
        'Paris'
    """

    def __init__(
        self,
        embed: Callable[[str], Sequence[float]],
        threshold: float = 0.95,
        max_entries: int = 1024,
        ttl_s: float | None = 3600.0,
        namespace: str = "",
    ) -> None:
        if not callable(embed):
            raise ConfigError(
                "SemanticCache.embed", f"{embed!r} is not callable", "pass a function text -> vector"
            )
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, (int, float))
            or not 0.0 <= threshold <= 1.0
        ):
            raise ConfigError(
                "SemanticCache.threshold", f"must be a number in [0, 1], got {threshold!r}", "e.g. 0.95"
            )
        self.embed = embed
        self.threshold = float(threshold)
        self._store = ResponseCache(max_entries, ttl_s, namespace)
        self._vectors: dict[str, list[tuple[list[float], str]]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SemanticCache(threshold={self.threshold}, size={len(self._store)})"

    def _context(self, request: Request) -> str:
        return cache_key(request, self._store.namespace, skip_last_user=True)

    def _vector(self, request: Request) -> list[float]:
        v = [float(x) for x in self.embed(_norm_text(request.last_user_text))]
        norm = math.sqrt(sum(x * x for x in v)) or 1.0
        return [x / norm for x in v]

    def get(self, request: Request) -> Draft | None:
        exact = self._store.get(request)
        if exact is not None:
            return exact
        ctx = self._context(request)
        with self._lock:
            candidates = list(self._vectors.get(ctx, ()))
        if not candidates:
            return None
        q = self._vector(request)
        best_key, best = None, -1.0
        for vec, key in candidates:
            sim = sum(a * b for a, b in zip(q, vec, strict=False))
            if sim > best:
                best_key, best = key, sim
        if best_key is None or best < self.threshold:
            return None
        with self._store._lock:
            entry = self._store._data.get(best_key)
        if entry is None or (entry[0] != 0.0 and entry[0] <= time.monotonic()):
            return None
        # ``raw`` tells the trace this was a near-duplicate, not an exact repeat.
        return replace(entry[1], raw={"cache": "semantic", "similarity": round(best, 4)})

    def set(self, request: Request, draft: Draft) -> None:
        if not _cacheable(draft):
            return
        self._store.set(request, draft)
        key = cache_key(request, self._store.namespace)
        vec = self._vector(request)
        ctx = self._context(request)
        with self._lock:
            entries = [
                e for e in self._vectors.setdefault(ctx, []) if e[1] != key and e[1] in self._store._data
            ]
            entries.append((vec, key))
            self._vectors[ctx] = entries

    def clear(self) -> None:
        self._store.clear()
        with self._lock:
            self._vectors.clear()


def _spec_print(spec: ModelSpec) -> list[Any]:
    params = {k: v for k, v in spec.params.items() if k != "api_key"}
    return [
        spec.model,
        spec.name,
        spec.api_base,
        spec.input_cost_per_token,
        spec.output_cost_per_token,
        params,
    ]


def cascade_fingerprint(tiers: Sequence[Tier]) -> str:
    """SHA-256 of what decides a cascade's answers: tiers, their models, params and validators.

    Stable across processes (objects are named by type, never by address), so a fleet running one
    configuration shares cache entries, and two configurations sharing one cache never do.
    """
    import hashlib
    import json

    doc = [
        [
            t.name,
            [_spec_print(s) for s in t.specs],
            [_spec_print(s) for s in t.fallback_specs],
            None if t.validator is None else _callable_name(t.validator),
        ]
        for t in tiers
    ]
    blob = json.dumps(doc, sort_keys=True, default=lambda o: type(o).__qualname__)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _callable_name(fn: Any) -> str:
    name = getattr(fn, "name", None)
    qual = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{getattr(fn, '__module__', '')}.{qual}:{name or ''}"
