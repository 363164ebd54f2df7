"""JudgeValidator against the project's local OpenAI-compatible server: score, prompt, booked cost."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from cascadeflow_core import (
    Cascade,
    ConfigError,
    CostTracker,
    Draft,
    JudgeValidator,
    ModelSpec,
    Request,
    Tier,
)
from cascadeflow_core.testing import OpenAICompatServer


def _script(model: str, messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
    if model == "judge":
        user = messages[-1]["content"]
        return "9" if "Paris" in user else "2"
    if model == "cheap":
        return "Lyon" if "Italy" in messages[-1]["content"] else "Paris"
    return "Rome"


@pytest.fixture(scope="module")
def server() -> Any:
    with OpenAICompatServer(replies=_script) as s:
        yield s


def _spec(server: Any, name: str, price: float) -> ModelSpec:
    return ModelSpec(
        f"openai/{name}",
        api_base=server.base_url,
        api_key="local",
        input_cost_per_token=price,
        output_cost_per_token=price,
    )


def _cascade(server: Any, tracker: CostTracker | None = None) -> Cascade:
    judge = JudgeValidator(_spec(server, "judge", 1e-7), threshold=0.7)
    return Cascade(
        [
            Tier([_spec(server, "cheap", 1e-7)], name="cheap", validator=judge),
            Tier([_spec(server, "strong", 1e-5)], name="strong"),
        ],
        tracker=tracker,
    )


def test_a_good_draft_is_accepted_and_the_judge_is_booked(server: Any) -> None:
    tracker = CostTracker()
    result = _cascade(server, tracker).complete("Capital of France?")
    assert result.text == "Paris" and result.tier == "cheap"
    judge = [a for a in result.attempts if a.status == "judge"]
    assert len(judge) == 1 and judge[0].model == "openai/judge" and judge[0].cost > 0
    assert result.cost == pytest.approx(sum(a.cost for a in result.attempts))
    assert any(e.status == "judge" and e.cost > 0 for e in tracker.entries())
    assert "scored 9/10" in result.attempts[0].reasons[0]


def test_a_bad_draft_escalates_and_the_judge_call_is_still_paid(server: Any) -> None:
    result = asyncio.run(_cascade(server).acomplete("Capital of Italy?"))
    assert result.text == "Rome" and result.escalated
    statuses = [(a.tier, a.status) for a in result.attempts]
    assert statuses == [("cheap", "rejected"), ("cheap", "judge"), ("strong", "accepted")]
    assert result.to_dict()["attempts"][1]["status"] == "judge"


def test_the_prompt_is_overridable(server: Any) -> None:
    judge = JudgeValidator(
        _spec(server, "judge", 0.0),
        prompt="Q={question}\nA={answer}\nIs A right? Score:",
        system="Be strict.",
    )
    verdict = judge([Draft("m", "Paris")], Request("Capital of France?"))
    assert verdict.accept and verdict.score == pytest.approx(0.9) and len(verdict.charges) == 1
    body = server.served[-1].body
    assert body["messages"][0]["content"] == "Be strict."
    assert re.search(r"Q=Capital of France\?\nA=Paris", body["messages"][1]["content"])


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="prompt"):
        JudgeValidator("openai/x", prompt="no placeholders")
    with pytest.raises(ConfigError, match="threshold"):
        JudgeValidator("openai/x", threshold=7)


def test_unreadable_or_failed_judges_reject() -> None:
    unreadable = JudgeValidator(ModelSpec("openai/j", params={"mock_response": "looks fine"}))
    v = unreadable([Draft("m", "Paris")], Request("q"))
    assert not v.accept and "unreadable" in " ".join(v.reasons) and len(v.charges) == 1
    failing = JudgeValidator(ModelSpec("openai/j", params={"mock_response": "litellm.RateLimitError"}))
    v = failing([Draft("m", "Paris")], Request("q"))
    assert not v.accept and "failed" in " ".join(v.reasons) and v.charges == ()


_PRICE = {"input_cost_per_token": 1e-7, "output_cost_per_token": 1e-7}


def test_combinators_carry_the_judge_charges_to_the_trace() -> None:
    from cascadeflow_core import AgreementValidator, AllOf, AnyOf, RuleValidator

    judge = JudgeValidator(
        ModelSpec(
            "openai/j", params={"mock_response": "8"}, input_cost_per_token=1e-6, output_cost_per_token=1e-6
        )
    )
    validator = AllOf(RuleValidator(), AnyOf(AgreementValidator(), judge))
    assert validator.offload  # the judge makes the whole combination offloaded in async drivers
    drafts = [Draft("a", "Paris"), Draft("b", "Lyon")]
    verdict = validator(drafts, Request("Capital of France?"))
    assert verdict.accept and len(verdict.charges) == 1 and verdict.charges[0].cost > 0
    cascade = Cascade(
        [
            Tier(
                [
                    # priced: an unpriced model's cost is unknown (None), which a sum cannot carry
                    ModelSpec("openai/a", params={"mock_response": "Paris"}, **_PRICE),
                    ModelSpec("openai/b", params={"mock_response": "Lyon"}, **_PRICE),
                ],
                validator=validator,
            ),
            Tier([ModelSpec("openai/s", params={"mock_response": "Paris"}, **_PRICE)]),
        ]
    )
    result = cascade.complete("Capital of France?")
    assert not result.escalated and [a.status for a in result.attempts].count("judge") == 1
    assert result.cost == pytest.approx(sum(a.cost for a in result.attempts)) and result.cost > 0
