"""Response caches: keys, LRU + TTL, thread safety, real Redis, semantic cache, engine integration."""

from __future__ import annotations

import json
import threading

import pytest

from cascadeflow_core import ConfigError, Draft, ModelSpec, Request, StorageError, Tier, ToolCall
from cascadeflow_core._cascade import Cascade
from cascadeflow_core.caching import _cache as cache_mod
from cascadeflow_core.caching._cache import (
    RedisResponseCache,
    ResponseCache,
    SemanticCache,
    cache_key,
    draft_from_json,
    draft_to_json,
)
from tests.support.redis_server import redis_server, redis_url  # noqa: F401


def test_key_normalises_whitespace_but_not_meaning() -> None:
    base = cache_key(Request("What is  2+2?\n"))
    assert base == cache_key(Request("  What is 2+2? "))
    assert base != cache_key(Request("What is 2+3?"))
    assert base != cache_key(Request("What is 2+2?", temperature=0.7))
    assert base != cache_key(Request("What is 2+2?"), namespace="other-cascade")
    assert base != cache_key(
        Request([{"role": "system", "content": "be terse"}, {"role": "user", "content": "What is 2+2?"}])
    )


def test_key_ignores_credentials_and_transport() -> None:
    a = cache_key(Request("q", params={"api_key": "sk-secret-1", "timeout": 3}))
    b = cache_key(Request("q", params={"api_key": "sk-other", "timeout": 30}))
    assert a == b == cache_key(Request("q"))
    assert cache_key(Request("q", params={"top_p": 0.5})) != a


def test_draft_json_round_trip_without_raw_or_keys() -> None:
    d = Draft(
        "openai/gpt-4o",
        "hi",
        (ToolCall("c1", "f", '{"a": 1}'),),
        "stop",
        3,
        4,
        0.01,
        0.2,
        -0.1,
        -0.05,
        raw={"api_key": "sk-secret"},
    )
    blob = draft_to_json(d)
    assert "sk-secret" not in blob and "raw" not in json.loads(blob)
    back = draft_from_json(blob)
    assert back.cached and back.text == "hi" and back.tool_calls == d.tool_calls and back.logprob == -0.1


def test_memory_cache_hit_miss_and_lru() -> None:
    cache = ResponseCache(max_entries=2, ttl_s=None)
    assert cache.get(Request("a")) is None
    cache.set(Request("a"), Draft("m", "A"))
    cache.set(Request("b"), Draft("m", "B"))
    assert cache.get(Request("a")).text == "A"  # a is now most recent
    cache.set(Request("c"), Draft("m", "C"))  # evicts b
    assert cache.get(Request("b")) is None
    assert cache.get(Request("a")).cached and cache.get(Request("c")).text == "C"
    assert (cache.hits, cache.misses) == (3, 2) and len(cache) == 2


def test_memory_cache_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(cache_mod.time, "monotonic", lambda: now[0])
    cache = ResponseCache(ttl_s=10)
    cache.set(Request("a"), Draft("m", "A"))
    now[0] += 9
    assert cache.get(Request("a")) is not None
    now[0] += 2
    assert cache.get(Request("a")) is None and len(cache) == 0


def test_incomplete_answers_are_not_cached() -> None:
    cache = ResponseCache()
    cache.set(Request("a"), Draft("m", ""))
    cache.set(Request("b"), Draft("m", "cut off", finish_reason="length"))
    assert len(cache) == 0


def test_memory_cache_is_thread_safe() -> None:
    cache = ResponseCache(max_entries=50, ttl_s=None)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(300):
                req = Request(f"q{(k * 7 + i) % 80}")
                if cache.get(req) is None:
                    cache.set(req, Draft("m", f"a{i}"))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(cache) == 50
    assert cache.hits + cache.misses == 8 * 300


@pytest.mark.parametrize("kwargs", [{"max_entries": 0}, {"ttl_s": -1}, {"ttl_s": True}])
def test_bad_memory_cache_config(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        ResponseCache(**kwargs)


# --- Redis (a real redis-server) -----------------------------------------------------------------------
def test_redis_cache_shared_between_clients(redis_url: str) -> None:  # noqa: F811
    a = RedisResponseCache(url=redis_url, ttl_s=60, namespace="v1")
    b = RedisResponseCache(url=redis_url, ttl_s=60, namespace="v1")
    assert a.get(Request("2+2?")) is None
    a.set(Request("2+2?"), Draft("openai/gpt-4o-mini", "4", input_tokens=5, output_tokens=1, cost=1e-6))
    hit = b.get(Request(" 2+2? "))
    assert hit is not None and hit.text == "4" and hit.cached and hit.input_tokens == 5
    assert RedisResponseCache(url=redis_url, namespace="v2").get(Request("2+2?")) is None
    key = a._key(Request("2+2?"))
    assert 0 < a.client.ttl(key) <= 60
    assert "sk-" not in a.client.get(key).decode()
    assert a.clear() == 1 and b.get(Request("2+2?")) is None


def test_redis_down_raises_storage_error_or_fails_open() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    with pytest.raises(StorageError, match="Redis cache get failed"):
        RedisResponseCache(url=url).get(Request("q"))
    lenient = RedisResponseCache(url=url, fail_open=True)
    assert lenient.get(Request("q")) is None
    lenient.set(Request("q"), Draft("m", "a"))  # no exception


def test_redis_cache_needs_client_or_url() -> None:
    with pytest.raises(ConfigError, match="needs a redis client or a url"):
        RedisResponseCache()


# --- semantic cache ----------------------------------------------------------------------------------
def _embed(text: str) -> list[float]:
    # Deterministic bag-of-words embedder standing in for a sentence-transformers model.
    vocab = ("capital", "france", "spain", "paris", "weather", "tomorrow", "population")
    words = text.lower().replace("?", " ").replace(",", " ").split()
    return [float(words.count(v)) for v in vocab] + [0.01]


def test_semantic_cache_hits_near_duplicates_only() -> None:
    cache = SemanticCache(_embed, threshold=0.95)
    cache.set(Request("What is the capital of France?"), Draft("m", "Paris"))
    near = cache.get(Request("capital of France, please?"))
    assert near.text == "Paris" and near.raw["cache"] == "semantic" and near.raw["similarity"] >= 0.95
    assert cache.get(Request("What is the capital of France?")).raw is None  # exact repeat
    assert cache.get(Request("What is the capital of Spain?")) is None
    # the conversation around the latest turn must match exactly
    other_ctx = Request(
        [{"role": "system", "content": "answer in German"}, {"role": "user", "content": "capital of France?"}]
    )
    assert cache.get(other_ctx) is None
    assert cache.get(Request("capital of France?", temperature=1.0)) is None


def test_semantic_cache_config_errors() -> None:
    with pytest.raises(ConfigError, match="threshold"):
        SemanticCache(_embed, threshold=1.5)
    with pytest.raises(ConfigError, match="embed"):
        SemanticCache("not callable")  # type: ignore[arg-type]


# --- through the engine ----------------------------------------------------------------------------
def non_empty(drafts, request) -> bool:
    return bool(drafts[0].text.strip())


def _cascade(cache) -> Cascade:
    return Cascade(
        [
            Tier([ModelSpec("openai/gpt-4o-mini", params={"mock_response": "Paris"})], non_empty),
            Tier([ModelSpec("openai/gpt-4o", params={"mock_response": "Paris"})], non_empty),
        ],
        cache=cache,
    )


def test_engine_marks_hits_cached_and_free() -> None:
    cascade = _cascade(ResponseCache())
    first = cascade.complete("Capital of France?")
    assert not first.cached and first.cost > 0
    second = cascade.complete("Capital of France?")
    assert second.cached and second.cost == 0.0 and second.text == "Paris"
    assert second.attempts[0].cached and second.attempts[0].cost == 0.0


async def test_engine_async_with_redis_cache(redis_url: str) -> None:  # noqa: F811
    cascade = _cascade(RedisResponseCache(url=redis_url))
    first = await cascade.acomplete("Capital of France?")
    again = await _cascade(RedisResponseCache(url=redis_url)).acomplete("Capital of France?")
    assert not first.cached and again.cached and again.cost == 0.0
