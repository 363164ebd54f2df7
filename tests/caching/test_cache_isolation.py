"""Issue 25 item 1: a cached answer is served only to the same request, to the same cascade.

The key covers every part of every message (images, audio, files), routing params (``api_base``),
the cascade's configuration; ``clear()`` deletes only its namespace; code keeps its indentation; a
last-tier answer its validator rejected is not cached.
"""

from __future__ import annotations

from cascadeflow_core import Draft, ModelSpec, Request, Tier, Verdict
from cascadeflow_core._cascade import Cascade
from cascadeflow_core.caching._cache import RedisResponseCache, ResponseCache, cache_key
from tests.support.redis_server import redis_server, redis_url  # noqa: F401


def _image_request(url: str) -> Request:
    return Request(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this picture?"},
                    {"type": "image_url", "image_url": {"url": url}},
                ],
            }
        ]
    )


def test_key_covers_images_audio_and_files() -> None:
    alice = cache_key(_image_request("data:image/png;base64,QUxJQ0U="))
    bob = cache_key(_image_request("data:image/png;base64,Qk9C"))
    assert alice != bob
    audio = [{"type": "input_audio", "input_audio": {"data": "QQ==", "format": "wav"}}]
    audio2 = [{"type": "input_audio", "input_audio": {"data": "Qg==", "format": "wav"}}]
    assert cache_key(Request([{"role": "user", "content": audio}])) != cache_key(
        Request([{"role": "user", "content": audio2}])
    )
    f1 = [{"type": "file", "file": {"file_id": "file-a"}}]
    f2 = [{"type": "file", "file": {"file_id": "file-b"}}]
    assert cache_key(Request([{"role": "user", "content": f1}])) != cache_key(
        Request([{"role": "user", "content": f2}])
    )


def test_key_covers_routing_params() -> None:
    a = cache_key(Request("q", params={"api_base": "http://tenant-a.local/v1"}))
    b = cache_key(Request("q", params={"api_base": "http://tenant-b.local/v1"}))
    assert a != b != cache_key(Request("q"))
    assert cache_key(Request("q", params={"api_version": "2024-01"})) != cache_key(Request("q"))


def test_code_differing_only_in_indentation_does_not_share_an_entry() -> None:
    nested = "Fix this:\nif a:\n    if b:\n        x()\n    y()"
    flat = "Fix this:\nif a:\n    if b:\n        x()\ny()"
    assert cache_key(Request(nested)) != cache_key(Request(flat))
    assert cache_key(Request(nested + "  \n")) == cache_key(Request(nested))  # trailing blanks only


class _Backend:
    def __init__(self, text: str) -> None:
        self.text, self.calls = text, 0

    def complete(self, spec: ModelSpec, request: Request) -> Draft:
        self.calls += 1
        return Draft(spec.label, self.text, finish_reason="stop", input_tokens=5, output_tokens=2, cost=0.01)

    async def acomplete(self, spec: ModelSpec, request: Request) -> Draft:
        return self.complete(spec, request)


def test_two_cascades_sharing_a_redis_cache_do_not_serve_each_other(redis_url: str) -> None:  # noqa: F811
    a_backend, b_backend = _Backend("from model A"), _Backend("from model B")
    a = Cascade([ModelSpec("m/a", 1e-6, 1e-6, backend=a_backend)], cache=RedisResponseCache(url=redis_url))
    b = Cascade([ModelSpec("m/b", 1e-6, 1e-6, backend=b_backend)], cache=RedisResponseCache(url=redis_url))
    assert a.complete("hello").text == "from model A"
    assert b.complete("hello").text == "from model B"
    assert a.complete("hello").cached and b.complete("hello").cached
    assert (a_backend.calls, b_backend.calls) == (1, 1)


def test_redis_clear_honours_the_namespace(redis_url: str) -> None:  # noqa: F811
    one = RedisResponseCache(url=redis_url, namespace="one")
    two = RedisResponseCache(url=redis_url, namespace="two")
    one.set(Request("q"), Draft("m", "1"))
    two.set(Request("q"), Draft("m", "2"))
    assert one.clear() == 1
    assert one.get(Request("q")) is None and two.get(Request("q")).text == "2"


def _never(drafts: object, request: object) -> Verdict:
    return Verdict(False, 0.1, ("never good enough",), validator="never")


def test_a_last_tier_answer_its_validator_rejected_is_not_cached() -> None:
    backend = _Backend("meh")
    cache = ResponseCache()
    cascade = Cascade([Tier([ModelSpec("m/a", 1e-6, 1e-6, backend=backend)], validator=_never)], cache=cache)
    first = cascade.complete("q")
    assert first.text == "meh" and len(cache) == 0
    assert not cascade.complete("q").cached and backend.calls == 2
