"""The offline demo (``cascadeflow demo``): GSM8K questions through a cascade over replayed real outputs.

Two cheap drafters (gpt-4o-mini and gemma-2-9b) answer each question concurrently; when their final
answers agree the answer is returned, else gpt-4o answers. Offline, every model call is served by the
replay provider from recorded real outputs (no API key): the calls still go through LiteLLM and the
engine, and each is found by its messages, exactly as a live call would be made. ``--live`` calls
OpenAI instead (gpt-4o-mini + gpt-4.1-nano agreeing, else gpt-4o) and scores against the references.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from .._cascade import Cascade, CascadeOptions
from .._errors import AuthenticationError
from .._types import CascadeResult, Tier
from ..validation._extract import extract_answer
from ..validation._validators import AgreementValidator, AllOf, RuleValidator
from ._provider import ReplaySet, register_replay, replay_model

__all__ = ["demo_cascade", "run_demo"]

DRAFTERS = ("gpt-4o-mini-2024-07-18", "gemma-2-9b-it")
VERIFIER = "gpt-4o-2024-08-06"
LIVE = (("openai/gpt-4o-mini", "openai/gpt-4.1-nano"), "openai/gpt-4o")


def demo_cascade(rs: ReplaySet | None = None) -> Cascade:
    """The demo's cascade: replayed from ``rs``, or live (OpenAI) when ``rs`` is None."""
    validator = AllOf(RuleValidator(("empty", "truncated")), AgreementValidator())
    if rs is None:
        return Cascade([Tier(list(LIVE[0]), validator, name="drafters"), Tier([LIVE[1]], name="verifier")])
    return Cascade(
        [
            Tier([rs.spec(m) for m in DRAFTERS], validator, name="drafters"),
            Tier([rs.spec(VERIFIER)], name="verifier"),
        ],
        options=CascadeOptions(verifier_cost=rs.verifier_cost),
    )


def _question(messages: Any) -> str:
    text = str(messages[-1].get("content", ""))
    if "## Question:" in text:
        text = text.split("## Question:", 1)[1].split("## Instruction", 1)[0]
    text = " ".join(text.split())
    return text if len(text) <= 46 else text[:43] + "..."


def _why(result: CascadeResult) -> str:
    accepted = result.accepted_attempt
    if not result.escalated:
        return accepted.reasons[-1] if accepted and accepted.reasons else "accepted"
    rejected = next((a for a in result.attempts if a.status == "rejected"), None)
    reason = rejected.reasons[-1] if rejected and rejected.reasons else "drafts rejected"
    return f"escalated: {reason}"


def _short(model: str) -> str:
    name = replay_model(model) or model.split("/", 1)[-1]
    return name.replace("-2024-08-06", "").replace("-2024-07-18", "")


def run_demo(live: bool = False, n: int | None = None, data: str | None = None) -> int:
    """Run the demo and print, per question, the tier that answered and why; then quality and cost."""
    rs = ReplaySet.load(data or ReplaySet.sample_path())
    queries = rs.queries[:n] if n else rs.queries
    if live and not os.environ.get("OPENAI_API_KEY"):
        raise AuthenticationError(
            "--live needs OPENAI_API_KEY in the environment (or run offline without --live)"
        )
    cascade = demo_cascade(None if live else rs)
    mode = "live (OpenAI)" if live else "offline: replayed real outputs, no API key"
    print(f"CascadeFlow demo, {mode}\ncascade: {cascade!r}; {len(queries)} GSM8K questions from {rs.name}\n")
    print(f"{'#':>3}  {'question':<46}  {'answered by':<22} {'answer':>8} {'ok':>3} {'cost $':>9}  why")
    ok = cost = vcost = 0.0
    answered: dict[str, int] = {}
    with contextlib.nullcontext() if live else register_replay(rs):
        for i, q in enumerate(queries, 1):
            result = cascade.complete(list(q.messages))
            answer = extract_answer(result.text) or "-"
            if live:
                right = q.reference is not None and answer == extract_answer(str(q.reference))
            else:
                right = rs.answer(replay_model(result.model) or result.model, q.id).correct
            ok += right
            cost += result.cost
            vcost += result.verifier_cost or 0.0
            answered[result.tier] = answered.get(result.tier, 0) + 1
            by = f"{result.tier} {_short(result.model)}"
            print(
                f"{i:>3}  {_question(q.messages):<46}  {by:<22} {answer[:8]:>8} {'yes' if right else 'NO':>3} "
                f"{result.cost:9.6f}  {_why(result)}"
            )
    _summary(rs, queries, live, ok, cost, vcost, answered)
    return 0


def _summary(
    rs: ReplaySet, queries: Any, live: bool, ok: float, cost: float, vcost: float, answered: dict[str, int]
) -> None:
    n = len(queries)
    tiers = ", ".join(f"{k} {v}/{n}" for k, v in answered.items())
    print(f"\nanswered by: {tiers}")
    print(f"quality: {ok / n:.3f} ({int(ok)}/{n} correct)")
    if not live:
        alone = sum(rs.answer(VERIFIER, q.id).correct for q in queries) / n
        print(f"gpt-4o alone: {alone:.3f} (recorded)")
    if vcost > 0:
        print(
            f"cost: ${cost:.6f} vs ${vcost:.6f} for gpt-4o alone: {100 * cost / vcost:.1f}% "
            f"(savings {100 * (1 - cost / vcost):.1f}%)"
        )
    else:
        print(f"cost: ${cost:.6f}")
