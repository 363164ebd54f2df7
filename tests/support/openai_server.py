"""Pytest fixtures around ``cascadeflow_core.testing.OpenAICompatServer`` (import them explicitly).

Example::

    from tests.support.openai_server import openai_server  # noqa: F401 (fixture)

    def test_x(openai_server):
        openai_server.replies = {"small": "4"}
        spec = ModelSpec("openai/small", api_base=openai_server.base_url, api_key="sk-test")
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cascadeflow_core.testing import Faults, OpenAICompatServer, Reply

__all__ = ["Faults", "OpenAICompatServer", "Reply", "local_spec", "openai_server"]


@pytest.fixture
def openai_server() -> Iterator[OpenAICompatServer]:
    """A running local server (answers ``"ok"``; set ``.replies``, ``.faults``, ``.latency`` or ``fail_next``)."""
    with OpenAICompatServer(seed=1234) as server:
        yield server


def local_spec(server: OpenAICompatServer, name: str, **kw: Any) -> Any:
    """A ``ModelSpec`` for model ``name`` served by ``server`` through LiteLLM's OpenAI provider."""
    from cascadeflow_core import ModelSpec

    kw.setdefault("api_key", "sk-local-test")
    return ModelSpec(f"openai/{name}", api_base=server.base_url, **kw)
