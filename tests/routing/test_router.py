"""CascadeRouter: plain-cascade equivalence, domain routes, specialists, complexity, degrade,
capabilities, context windows, and the decisions explained in the result trace."""

from __future__ import annotations

import pytest

from cascadeflow_core import Admission, Cascade, ConfigError, ModelSpec, Request, Tier
from cascadeflow_core.engine._engine import plain_plan
from cascadeflow_core.routing._router import CascadeRouter, RouterConfig

CODE_Q = "Why does this loop skip items?\n```python\nfor x in xs:\n    if x:\n        xs.remove(x)\n```"
MATH_Q = "Solve for x: 3x + 7 = 22"
EXPERT_Q = (
    "Design a lock-free, linearizable multi-producer queue in C++ and prove its progress guarantee "
    "formally. It must not allocate on the hot path and must handle ABA."
)


def tiers(*names: str, **domains: tuple[str, ...]) -> list[Tier]:
    return [Tier([f"openai/m-{n}"], name=n, domains=domains.get(n, ())) for n in names]


def names(plan) -> list[str]:
    return [t.name for t in plan.tiers]


DEGRADE = Admission("degrade", "user alice at 91% of daily budget")


@pytest.mark.parametrize("query", ["hi", CODE_Q, MATH_Q, EXPERT_Q, "Write a haiku about rain"])
@pytest.mark.parametrize("admission", [None, DEGRADE, Admission("warn", "80%")])
def test_no_rules_is_the_plain_cascade(query: str, admission: Admission | None) -> None:
    ts = tuple(tiers("a", "b", "c"))
    req = Request(query)
    ours = CascadeRouter().plan(req, ts, admission)
    plain = plain_plan(req, ts, admission)
    assert [t.name for t in ours.tiers] == [t.name for t in plain.tiers]
    # with no rules nothing is analysed (no cost), and the trace says exactly what the plain cascade says
    assert ours.reasons == plain.reasons
    assert ours.domain is None and ours.complexity is None


def test_rules_that_use_domain_and_complexity_put_both_in_the_trace() -> None:
    ts = tuple(tiers("a", "b", "c"))
    router = CascadeRouter(RouterConfig(domain_routes={"code": ("b", "c")}, skip_drafters_at="expert"))
    plan = router.plan(Request(CODE_Q), ts, None)
    assert any(r.startswith("domain=") for r in plan.reasons)
    assert any(r.startswith("complexity=") for r in plan.reasons)
    assert plan.domain == "code"


def test_single_tier_degrade_keeps_it() -> None:
    plan = CascadeRouter().plan(Request("hi"), tiers("only"), DEGRADE)
    assert names(plan) == ["only"]
    assert any("only tier 'only' left" in r for r in plan.reasons)


def test_domain_routes_pick_tiers_in_order() -> None:
    router = CascadeRouter(
        RouterConfig(
            domain_routes={
                "code": ("coder", "strong"),
                "math": ("agree", "strong"),
                "default": ("cheap", "strong"),
            }
        )
    )
    ts = tiers("coder", "cheap", "agree", "strong")
    code = router.plan(Request(CODE_Q), ts, None)
    assert names(code) == ["coder", "strong"] and code.domain == "code"
    assert "route for code: coder -> strong" in code.reasons
    math = router.plan(Request(MATH_Q), ts, None)
    assert names(math) == ["agree", "strong"] and math.domain == "math"
    other = router.plan(Request("Who wrote Pride and Prejudice?"), ts, None)
    assert names(other) == ["cheap", "strong"]
    assert any("default route" in r for r in other.reasons)


def test_route_by_model_string() -> None:
    router = CascadeRouter(RouterConfig(domain_routes={"math": ("openai/m-b",)}))
    assert names(router.plan(Request(MATH_Q), tiers("a", "b"), None)) == ["b"]


def test_min_domain_confidence_gates_routes() -> None:
    router = CascadeRouter(RouterConfig(domain_routes={"math": ("b",)}, min_domain_confidence=1.0))
    plan = router.plan(Request(MATH_Q), tiers("a", "b"), None)
    assert names(plan) == ["a", "b"]
    assert any("not applied" in r for r in plan.reasons)


def test_specialist_tiers_from_declared_domains() -> None:
    ts = tiers("cheap", "coder", "strong", coder=("code",))
    router = CascadeRouter()
    code = router.plan(Request(CODE_Q), ts, None)
    assert names(code) == ["coder", "cheap", "strong"]
    assert any("declared for code: tried first" in r for r in code.reasons)
    general = router.plan(Request("What is the tallest mountain in Africa?"), ts, None)
    assert names(general) == ["cheap", "strong"]
    assert any("skipped 'coder'" in r for r in general.reasons)


def test_model_domains_make_a_specialist() -> None:
    coder = Tier([ModelSpec("deepseek/deepseek-coder", domains=("code",))], name="coder")
    ts = [Tier(["openai/gpt-4o-mini"], name="cheap"), coder, Tier(["openai/gpt-4o"], name="strong")]
    assert names(CascadeRouter().plan(Request(CODE_Q), ts, None)) == ["coder", "cheap", "strong"]


def test_expert_queries_skip_drafters() -> None:
    router = CascadeRouter(RouterConfig(skip_drafters_at="expert"))
    ts = tiers("cheap", "strong")
    plan = router.plan(Request(EXPERT_Q), ts, None)
    assert plan.complexity == "expert"
    assert names(plan) == ["strong"]
    assert any("skipping drafters 'cheap'" in r for r in plan.reasons)
    assert names(router.plan(Request("hi there"), ts, None)) == ["cheap", "strong"]


def test_long_system_prompt_and_history_do_not_make_queries_hard() -> None:
    system = "You are a meticulous assistant. " + ("Always prove every claim rigorously and formally. " * 300)
    history = []
    for i in range(20):
        history += [
            {"role": "user", "content": f"Design a distributed consensus protocol, step {i}. Explain why."},
            {"role": "assistant", "content": "A long answer about Byzantine fault tolerance. " * 50},
        ]
    req = Request([{"role": "system", "content": system}, *history, {"role": "user", "content": "thanks!"}])
    router = CascadeRouter(RouterConfig(skip_drafters_at="hard"))
    plan = router.plan(req, tiers("cheap", "strong"), None)
    assert plan.complexity == "trivial"
    assert names(plan) == ["cheap", "strong"]


def test_follow_up_turn_brings_in_the_code_it_refers_to() -> None:
    code = (
        "```python\n"
        + "\n".join(f"def f{i}(x):\n    for y in x:\n        if y:\n            return y" for i in range(30))
        + "\n```"
    )
    req = Request(
        [
            {"role": "user", "content": "Here is my module"},
            {"role": "assistant", "content": code},
            {"role": "user", "content": "Why does it fail?"},
        ]
    )
    plan = CascadeRouter(RouterConfig(skip_drafters_at="expert")).plan(req, tiers("a"), None)
    assert any("python AST" in r for r in plan.reasons)


@pytest.mark.parametrize(
    "mode,expected",
    [("drop_last", ["cheap", "mid"]), ("cheapest_only", ["cheap"]), ("max_quality", ["cheap", "mid"])],
)
def test_degrade_policies(mode: str, expected: list[str]) -> None:
    ts = [
        Tier([ModelSpec("openai/gpt-4o-mini", quality=1)], name="cheap"),
        Tier([ModelSpec("openai/gpt-4.1", quality=2)], name="mid"),
        Tier([ModelSpec("openai/gpt-4o", quality=3)], name="strong"),
    ]
    cfg = RouterConfig(degrade=mode, degrade_max_quality=2 if mode == "max_quality" else None)
    plan = CascadeRouter(cfg).plan(Request("hi"), ts, DEGRADE)
    assert names(plan) == expected
    assert any(r.startswith("degrade") and "91%" in r for r in plan.reasons)


def test_cheapest_only_uses_prices_not_position() -> None:
    ts = [
        Tier([ModelSpec("x/pricey", input_cost_per_token=5e-6, output_cost_per_token=1e-5)], name="pricey"),
        Tier([ModelSpec("x/cheap", input_cost_per_token=1e-7, output_cost_per_token=2e-7)], name="cheap"),
    ]
    plan = CascadeRouter(RouterConfig(degrade="cheapest_only")).plan(Request("hi"), ts, DEGRADE)
    assert names(plan) == ["cheap"]


def test_tools_drop_tiers_known_not_to_call_functions() -> None:
    ts = [Tier(["openai/gpt-5-chat"], name="nofc"), Tier(["openai/gpt-4o"], name="strong")]
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    plan = CascadeRouter().plan(Request("weather in Paris?", tools=[tool]), ts, None)
    assert names(plan) == ["strong"]
    assert any("no model supports tools" in r for r in plan.reasons)
    # without tools nothing is dropped
    assert names(CascadeRouter().plan(Request("weather in Paris?"), ts, None)) == ["nofc", "strong"]
    # capability checks can be switched off
    off = CascadeRouter(RouterConfig(check_capabilities=False)).plan(Request("w?", tools=[tool]), ts, None)
    assert names(off) == ["nofc", "strong"]


def test_images_and_schema_needs() -> None:
    ts = [Tier(["openai/gpt-audio"], name="audio"), Tier(["openai/gpt-4o"], name="strong")]
    img = Request(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "data:,"}},
                ],
            }
        ]
    )
    assert names(CascadeRouter().plan(img, ts, None)) == ["strong"]
    schema = Request(
        "give json",
        response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
    )
    assert names(CascadeRouter().plan(schema, ts, None)) == ["strong"]


def test_context_window_drops_small_tiers_or_keeps_the_largest() -> None:
    ts = [
        Tier([ModelSpec("x/small", context_window=1000)], name="small"),
        Tier([ModelSpec("x/big", context_window=50_000)], name="big"),
    ]
    long = Request("word " * 4000)  # ~5000 tokens at 4 chars/token
    plan = CascadeRouter().plan(long, ts, None)
    assert names(plan) == ["big"]
    assert any("context: dropped 'small'" in r for r in plan.reasons)
    huge = Request("word " * 60_000)
    plan = CascadeRouter().plan(huge, ts, None)
    assert names(plan) == ["big"]
    assert any("no tier fits" in r for r in plan.reasons)
    assert names(CascadeRouter().plan(Request("short"), ts, None)) == ["small", "big"]


def test_one_router_over_several_tier_sets_plans_each_by_its_own_tiers() -> None:
    # The router remembers whether the last tiers it planned over declare domains;
    # alternating tier sets, as two cascades sharing a router do, must not carry them across.
    router = CascadeRouter()
    plain = tuple(tiers("cheap", "strong"))
    special = tuple(tiers("cheap", "coder", "strong", coder=("code",)))
    windows = (
        Tier([ModelSpec("x/small", context_window=1000)], name="small"),
        Tier([ModelSpec("x/big", context_window=50_000)], name="big"),
    )
    long = Request("word " * 4000)
    for _ in range(2):
        assert names(router.plan(Request(CODE_Q), plain, None)) == ["cheap", "strong"]
        assert names(router.plan(Request(CODE_Q), special, None)) == ["coder", "cheap", "strong"]
        assert names(router.plan(long, plain, None)) == ["cheap", "strong"]
        assert names(router.plan(long, windows, None)) == ["big"]


def test_route_to_missing_tier_is_kept_safe_at_plan_time() -> None:
    router = CascadeRouter(RouterConfig(domain_routes={"math": ("nope",)}))
    plan = router.plan(Request(MATH_Q), tiers("a", "b"), None)
    assert names(plan) == ["a", "b"]
    with pytest.raises(ConfigError, match="'nope', which does not exist"):
        router.config.check_tiers(tiers("a", "b"))


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"domain_routes": {"astrology": ("a",)}}, "router.domains.astrology"),
        ({"skip_drafters_at": "impossible"}, "router.skip_drafters_at"),
        ({"degrade": "panic"}, "router.degrade"),
        ({"degrade": "max_quality"}, "router.degrade_max_quality"),
        ({"min_domain_confidence": 1.5}, "router.min_domain_confidence"),
        ({"domain_routes": {"code": ()}}, "router.domains.code"),
    ],
)
def test_bad_router_config(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError) as e:
        RouterConfig(**kwargs)
    assert e.value.field == field and e.value.fix


def test_default_router_of_cascade_is_cascade_router() -> None:
    cascade = Cascade(["openai/gpt-4o-mini", "openai/gpt-4o"])
    assert isinstance(cascade.router, CascadeRouter)


def _mock(model: str, text: str, **kw) -> ModelSpec:
    return ModelSpec(model, params={"mock_response": text}, **kw)


def non_empty(drafts, request) -> bool:
    return bool(drafts[0].text.strip())


def test_decisions_are_explained_in_the_result_trace() -> None:
    cascade = Cascade(
        [
            Tier(
                [_mock("openai/gpt-4o-mini", "use a copy: for x in list(xs)")],
                non_empty,
                "coder",
                domains=("code",),
            ),
            Tier([_mock("openai/gpt-4o-mini", "5")], non_empty, "cheap"),
            Tier([_mock("openai/gpt-4o", "5")], non_empty, "strong"),
        ],
        router=CascadeRouter(RouterConfig(skip_drafters_at="expert")),
    )
    code = cascade.complete(CODE_Q)
    assert code.tier == "coder"
    assert code.route[0].startswith("domain=code") and any("tried first" in r for r in code.route)
    expert = cascade.complete(EXPERT_Q)
    assert expert.tier == "strong" and len(expert.attempts) == 1
    assert any("skipping drafters" in r for r in expert.route)


async def test_router_async_path() -> None:
    cascade = Cascade(
        [Tier([_mock("openai/gpt-4o-mini", "5")], non_empty), Tier([_mock("openai/gpt-4o", "5")], non_empty)],
        router=CascadeRouter(RouterConfig(skip_drafters_at="expert")),
    )
    result = await cascade.acomplete(EXPERT_Q)
    assert result.model == "openai/gpt-4o"
    assert any("skipping drafters" in r for r in result.route)
