"""LangChain's standard chat-model suites (``langchain-tests``) run against ``ChatCascade``.

- ``TestChatCascadeUnit``: ``ChatModelUnitTests``, every test passing.
- ``TestChatCascadeServer``: ``ChatModelIntegrationTests`` offline, the tiers LiteLLM models served by a
  real local OpenAI-compatible HTTP server answering with the rule model (``tests/support/langchain_rules``).
- ``TestChatCascadeLangChainTiers``: the same suite with the tiers LangChain chat models (the in-process
  rule model) wrapped by ``LangChainBackend``: no HTTP at all.
- ``TestChatCascadeLive``: the same suite, unmarked, over real providers (``CASCADEFLOW_LIVE=1`` plus
  ``OPENAI_API_KEY`` or ``ANTHROPIC_API_KEY``; run ``pytest -m live``).

Offline, a test that needs an instruction-following model is marked ``xfail`` on its own, with the reason.
"""

from __future__ import annotations

import os
import struct
import zlib
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("langchain_tests")

from langchain_core.language_models import BaseChatModel  # noqa: E402
from langchain_tests.integration_tests import ChatModelIntegrationTests  # noqa: E402
from langchain_tests.integration_tests import chat_models as lc_chat_tests  # noqa: E402
from langchain_tests.unit_tests import ChatModelUnitTests  # noqa: E402

from cascadeflow_core import ModelSpec  # noqa: E402
from cascadeflow_core.testing import OpenAICompatServer  # noqa: E402
from cascadeflow_langchain import ChatCascade, LangChainBackend  # noqa: E402
from tests.support.langchain_rules import RuleChatModel, rule_reply  # noqa: E402

_SERVER: dict[str, OpenAICompatServer] = {}
_PRICES = {"openai/small": (0.15e-6, 0.6e-6), "openai/large": (2.5e-6, 10e-6)}
_JSON_MODE_XFAIL = pytest.mark.xfail(
    reason="json_mode: the keys (setup, punchline) are only named in the prompt's prose; writing them needs an "
    "instruction-following model, the offline rule model answers a generic JSON object",
    strict=True,
)


def _png(width: int = 2, height: int = 2) -> bytes:
    """A valid RGB PNG (a tiny red square)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module", autouse=True)
def _local_server() -> Any:
    with OpenAICompatServer(replies=rule_reply) as server:
        _SERVER["server"] = server
        yield server
    _SERVER.clear()


def _server_tiers() -> list[ModelSpec]:
    base = _SERVER["server"].base_url
    return [
        ModelSpec(name, api_base=base, api_key="local", input_cost_per_token=p[0], output_cost_per_token=p[1])
        for name, p in _PRICES.items()
    ]


class TestChatCascadeUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatCascade

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"tiers": ["openai/gpt-4o-mini", "openai/gpt-4o"]}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"CASCADEFLOW_TIERS": "openai/gpt-4o-mini,openai/gpt-4o"},
            {},
            {"model_name": "openai/gpt-4o-mini>openai/gpt-4o"},
        )

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True


class _OfflineIntegration(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatCascade

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True  # images are sent as OpenAI content parts (see test_image_inputs below)

    @property
    def supports_image_urls(self) -> bool:
        return False  # the standard test downloads its image from the internet: no network here

    @property
    def supports_image_tool_message(self) -> bool:
        return True

    @property
    def supports_anthropic_inputs(self) -> bool:
        return True  # Anthropic-style content blocks are converted to OpenAI messages by langchain_core

    @property
    def model_override_value(self) -> str | None:
        return "openai/large"

    @_JSON_MODE_XFAIL
    def test_json_mode(self, model: BaseChatModel) -> None:
        super().test_json_mode(model)

    @pytest.fixture(autouse=True)
    def _local_image(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # test_image_inputs downloads a PNG over the internet; hand it a real PNG made here instead.
        monkeypatch.setattr(lc_chat_tests.httpx, "get", lambda *a, **k: SimpleNamespace(content=_png()))


class TestChatCascadeServer(_OfflineIntegration):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"tiers": _server_tiers()}


def _rule_tiers() -> list[ModelSpec]:
    return [
        LangChainBackend.spec(
            RuleChatModel(model=name.split("/")[1]),
            name=name,
            input_cost_per_token=p[0],
            output_cost_per_token=p[1],
        )
        for name, p in _PRICES.items()
    ]


class TestChatCascadeLangChainTiers(_OfflineIntegration):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"tiers": _rule_tiers()}


def _live_tiers() -> list[str] | None:
    if os.environ.get("CASCADEFLOW_LIVE") != "1":
        return None
    if os.environ.get("OPENAI_API_KEY"):
        return ["openai/gpt-4o-mini", "openai/gpt-4o"]
    if os.environ.get("ANTHROPIC_API_KEY"):
        return ["anthropic/claude-3-5-haiku-latest", "anthropic/claude-3-7-sonnet-latest"]
    return None


@pytest.mark.live
class TestChatCascadeLive(ChatModelIntegrationTests):
    @pytest.fixture(autouse=True)
    def _keys(self) -> None:
        if _live_tiers() is None:
            pytest.skip("live: set CASCADEFLOW_LIVE=1 and OPENAI_API_KEY or ANTHROPIC_API_KEY")

    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatCascade

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"tiers": _live_tiers() or ["openai/gpt-4o-mini", "openai/gpt-4o"]}

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str | None:
        tiers = _live_tiers()
        return tiers[-1] if tiers else None
