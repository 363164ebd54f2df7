"""Issue 25 item 5: the prompt-token estimate behind reservations and the context check is an upper bound.

"4 characters a token" gave 7,504 for a 30,000-character Chinese prompt of ~16,500 tokens; a 2,100-char
CJK prompt overspent a budget by 10% with ``max_tokens`` set.
"""

from __future__ import annotations

import pytest

from cascadeflow_core import ModelSpec, Request
from cascadeflow_core.providers._litellm import estimate_cost, litellm_module, prompt_tokens_bound
from cascadeflow_core.routing._router import CascadeRouter

CJK = "中文测试文本，这是一个很长的提示。" * 1765  # 30,005 characters
SCRIPTS = {
    "cjk": CJK,
    "thai": "ภาษาไทยเป็นภาษาที่ยาก" * 800,
    "emoji": "🙂🚀✨" * 2000,
    "code": "def f(x):\n    return {'a': [x, x ** 2]}\n" * 500,
    "base64": "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwYWJj" * 300,
    "english": "The quick brown fox jumps over the lazy dog. " * 600,
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "m/unknown-model"])
def test_estimate_is_an_upper_bound_for_every_script(script: str, model: str) -> None:
    text = SCRIPTS[script]
    request = Request([{"role": "system", "content": "be brief"}, {"role": "user", "content": text}])
    real = litellm_module().token_counter(model="gpt-4o-mini", messages=list(request.messages))
    assert prompt_tokens_bound(ModelSpec(model), request) >= real


def test_cjk_reservation_covers_the_real_prompt_cost() -> None:
    spec = ModelSpec("m/priced", input_cost_per_token=1e-6, output_cost_per_token=0.0)
    request = Request(CJK, max_tokens=10)
    real = litellm_module().token_counter(model="gpt-4o-mini", text=CJK)
    assert real > 16_000
    assert estimate_cost(spec, request) >= real * 1e-6


def test_exact_count_for_a_known_tokenizer_stays_close() -> None:
    # English with OpenAI's tokenizer: counted, not bounded by bytes (no 4x over-reservation).
    request = Request(SCRIPTS["english"])
    exact = litellm_module().token_counter(model="gpt-4o-mini", messages=list(request.messages))
    got = prompt_tokens_bound(ModelSpec("openai/gpt-4o-mini"), request)
    assert exact <= got <= exact * 1.2 + 16


def test_context_check_drops_a_tier_the_cjk_prompt_cannot_fit() -> None:
    small = ModelSpec("m/small", 1e-7, 1e-7, context_window=12_000)
    big = ModelSpec("m/big", 1e-6, 1e-6, context_window=200_000)
    plan = CascadeRouter().plan(Request(CJK), [_tier(small, "t1"), _tier(big, "t2")], None)
    assert [t.name for t in plan.tiers] == ["t2"]


def _tier(spec: ModelSpec, name: str):  # type: ignore[no-untyped-def]
    from cascadeflow_core import Tier

    return Tier([spec], name=name)
