"""Property-based fuzzing: bad or odd input to the core and the adapters raises only typed errors.

Messages (roles, content parts, tool calls, huge and odd unicode), request keyword arguments,
configuration objects, config mappings and YAML text go through ``Cascade`` (LiteLLM's mock provider,
so no network) and each adapter. The only exceptions allowed are ``CascadeError`` subclasses (and, for
adapters, the host framework's own validation errors); every example finishes within a deadline.
"""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cascadeflow_core import (
    Cascade,
    CascadeError,
    CascadeOptions,
    CascadeResult,
    ConfigError,
    ModelSpec,
    Request,
    RetryPolicy,
    Tier,
)

FUZZ = settings(
    max_examples=60,
    deadline=timedelta(seconds=5),
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ODD = [
    "\x00",
    "\ud800",
    "\udfff",
    "\u202e",
    "\ufeff",
    "\u200b",
    "🏳️‍🌈",
    "\U0010ffff",
    "e\u0301",
    "\r\n",
    "\t",
    "'; DROP TABLE ledger; --",
    "{{template}}",
    "<|im_end|>",
    "\\u0000",
    "𝕏" * 3,
    "ﷺ",
]
odd_text = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(ODD), max_size=8).map("".join),
    st.tuples(st.sampled_from(ODD + ["a", "ø"]), st.integers(10_000, 300_000)).map(lambda t: t[0] * t[1]),
)
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    odd_text,
    st.binary(max_size=8),
    st.just(object()),
    st.just(math.inf),
)
content_part = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": odd_text}),
    st.fixed_dictionaries(
        {
            "type": st.just("image_url"),
            "image_url": st.fixed_dictionaries(
                {"url": st.sampled_from(["data:image/png;base64,iVBORw0KGgo=", "not a url", ""])}
            ),
        }
    ),
    st.dictionaries(st.sampled_from(["type", "text", "x"]), junk, max_size=3),
    odd_text,
    junk,
)
tool_call = st.fixed_dictionaries(
    {
        "id": st.one_of(st.text(max_size=8), junk),
        "type": st.just("function"),
        "function": st.fixed_dictionaries(
            {
                "name": st.one_of(st.text(max_size=10), junk),
                "arguments": st.one_of(st.just('{"a": 1}'), odd_text, junk),
            }
        ),
    }
)
message = st.fixed_dictionaries(
    {
        "role": st.one_of(
            st.sampled_from(["user", "system", "assistant", "tool", "developer", "function"]), junk
        )
    },
    optional={
        "content": st.one_of(odd_text, st.lists(content_part, max_size=4), junk),
        "tool_calls": st.one_of(st.lists(tool_call, max_size=2), junk),
        "tool_call_id": st.one_of(st.text(max_size=8), junk),
        "name": st.one_of(st.text(max_size=8), junk),
    },
)
messages = st.one_of(
    st.lists(message, max_size=5), odd_text, junk, st.dictionaries(st.text(max_size=4), junk)
)
tool_def = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.just("function"),
            "function": st.fixed_dictionaries(
                {
                    "name": st.one_of(st.sampled_from(["add", "search"]), odd_text),
                    "parameters": st.one_of(st.just({"type": "object", "properties": {}}), junk),
                }
            ),
        }
    ),
    junk,
)
request_kwargs = st.fixed_dictionaries(
    {},
    optional={
        "tools": st.one_of(st.lists(tool_def, max_size=3), junk),
        "tool_choice": st.one_of(st.sampled_from(["auto", "none", "required"]), junk),
        "response_format": st.one_of(
            st.sampled_from(
                [
                    {"type": "json_object"},
                    {"type": "text"},
                    {"type": "json_schema", "json_schema": {"schema": {}}},
                ]
            ),
            junk,
            st.dictionaries(st.sampled_from(["type", "json_schema"]), junk, max_size=2),
        ),
        "temperature": junk,
        "max_tokens": junk,
        "stop": st.one_of(st.lists(odd_text, max_size=3), junk),
        "user": junk,
        "tags": st.one_of(st.lists(odd_text, max_size=3), junk),
        "metadata": junk,
        "top_p": junk,
        "seed": junk,
    },
)


def _cascade() -> Cascade:
    return Cascade(
        [
            ModelSpec("openai/gpt-4o-mini", params={"mock_response": "4"}),
            ModelSpec("openai/gpt-4o", params={"mock_response": "The answer is 4."}),
        ]
    )


CASCADE = _cascade()


@pytest.fixture(scope="module", autouse=True)
def _warm_up() -> None:
    """Pay LiteLLM's one-off first-call costs (imports, tokenizer load) outside the per-example deadline."""
    CASCADE.complete("warm up")
    for _ in CASCADE.stream("warm up"):
        pass


def _only_typed(fn: Any, *args: Any, allowed: tuple[type[BaseException], ...] = (), **kwargs: Any) -> Any:
    try:
        out = fn(*args, **kwargs)
    except (CascadeError, *allowed) as e:
        str(e)  # the message itself must render
        return e
    return out


@FUZZ
@given(msgs=messages)
def test_messages_fuzz_through_cascade(msgs: Any) -> None:
    out = _only_typed(CASCADE.complete, msgs)
    assert isinstance(out, (CascadeResult, CascadeError))
    event(type(out).__name__)
    if isinstance(out, CascadeResult):
        assert out.text and out.cost >= 0


@FUZZ
@given(msgs=st.lists(message, min_size=1, max_size=3), kwargs=request_kwargs)
def test_request_kwargs_fuzz_through_cascade(msgs: Any, kwargs: dict[str, Any]) -> None:
    _only_typed(CASCADE.complete, msgs, **kwargs)


@settings(FUZZ, max_examples=30)
@given(msgs=messages, kwargs=request_kwargs)
async def test_async_and_stream_fuzz(msgs: Any, kwargs: dict[str, Any]) -> None:
    await _aonly_typed(CASCADE.acomplete(msgs, **kwargs))

    def drain() -> None:
        for _ in CASCADE.stream(msgs, **kwargs):
            pass

    _only_typed(drain)


async def _aonly_typed(aw: Any) -> Any:
    try:
        return await aw
    except CascadeError as e:
        return e


@FUZZ
@given(
    model=st.one_of(odd_text, junk),
    prices=st.tuples(junk, junk),
    ctx=junk,
    quality=junk,
    params=junk,
    validator=st.one_of(junk, st.just(lambda drafts, request: True)),
)
def test_model_spec_and_tier_fuzz(
    model: Any, prices: Any, ctx: Any, quality: Any, params: Any, validator: Any
) -> None:
    spec = _only_typed(
        ModelSpec,
        model,
        input_cost_per_token=prices[0],
        output_cost_per_token=prices[1],
        context_window=ctx,
        quality=quality,
        params=params if params is not None else {},
    )
    if isinstance(spec, ModelSpec):
        tier = _only_typed(Tier, [spec], validator=validator)
        if isinstance(tier, Tier):
            _only_typed(Cascade, [tier])


@FUZZ
@given(
    retries=junk,
    backoff=junk,
    stream_mode=st.one_of(st.sampled_from(["buffered", "optimistic"]), junk),
    conc=junk,
)
def test_options_fuzz(retries: Any, backoff: Any, stream_mode: Any, conc: Any) -> None:
    retry = _only_typed(RetryPolicy, max_retries=retries, backoff=backoff)
    if isinstance(retry, RetryPolicy):
        _only_typed(CascadeOptions, retry=retry, stream_mode=stream_mode, max_concurrency=conc)


model_entry = st.one_of(
    st.sampled_from(
        ["openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-3-5-haiku-latest", "bad model", ""]
    ),
    st.fixed_dictionaries(
        {"model": st.one_of(st.sampled_from(["openai/gpt-4o-mini", "x"]), junk)},
        optional={
            "input_cost_per_token": junk,
            "api_key": junk,
            "params": junk,
            "context_window": junk,
            "quality": junk,
        },
    ),
    junk,
)
tier_entry = st.one_of(
    model_entry,
    st.lists(model_entry, max_size=3),
    st.fixed_dictionaries(
        {"models": st.one_of(st.lists(model_entry, max_size=3), junk)},
        optional={
            "validator": st.one_of(st.sampled_from(["rules", "agreement", "logprob", "nope"]), junk),
            "fallbacks": st.one_of(st.lists(model_entry, max_size=2), junk),
            "name": junk,
        },
    ),
)
config = st.one_of(
    st.fixed_dictionaries(
        {"tiers": st.one_of(st.lists(tier_entry, max_size=3), junk)},
        optional={
            "router": st.one_of(
                st.dictionaries(st.sampled_from(["rules", "complexity", "domain", "x"]), junk, max_size=2),
                junk,
            ),
            "cache": junk,
            "options": st.one_of(
                st.fixed_dictionaries(
                    {}, optional={"retry": junk, "stream_mode": junk, "max_concurrency": junk}
                ),
                junk,
            ),
            "tracker": st.one_of(st.fixed_dictionaries({}, optional={"store": junk, "budgets": junk}), junk),
            "guardrails": junk,
            "bogus": junk,
        },
    ),
    st.dictionaries(st.text(max_size=6), junk, max_size=3),
    junk,
)


@FUZZ
@given(cfg=config)
def test_config_mapping_fuzz(cfg: Any) -> None:
    _only_typed(Cascade.from_config, cfg if isinstance(cfg, dict) else {"tiers": cfg})


def _yaml_texts() -> Any:
    dumped = config.map(lambda c: _safe_dump(c))
    raw = st.text(alphabet=st.sampled_from(list("tiers:-[]{}&*!|>'\"#%@`\n  \t0.9xy") + ODD[:4]), max_size=80)
    return st.one_of(
        dumped,
        raw,
        st.sampled_from(
            [
                "",
                "---",
                "tiers:",
                "tiers: !!python/object:os.system x",
                "tiers: &a [*a]",
                "? [a]\n: b",
                "\x00",
                "tiers: [" * 50,
            ]
        ),
    )


def _safe_dump(c: Any) -> str:
    try:
        return yaml.safe_dump(c)
    except yaml.YAMLError:
        return "tiers: []"


@FUZZ
@given(text=_yaml_texts())
def test_yaml_fuzz(text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = Path(tmp_path_factory.mktemp("yaml")) / "cascade.yaml"
    try:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    except UnicodeEncodeError:
        path.write_bytes(text.encode("utf-8", "replace"))
    out = _only_typed(Cascade.from_config, str(path))
    if isinstance(out, CascadeError):
        assert isinstance(out, ConfigError), repr(out)


def test_request_rejects_obvious_junk_with_input_errors() -> None:
    from cascadeflow_core import InputError

    for bad in ([], None, 3, [{"role": "robot", "content": "x"}], [{"role": "user", "content": 3}]):
        with pytest.raises(InputError):
            Request(bad)  # type: ignore[arg-type]


# --- adapters -------------------------------------------------------------------------------------------------


def _framework_error(e: BaseException, package: str) -> bool:
    """The host framework rejected the input itself, before it reached CascadeFlow code.

    True when the traceback passes through ``package`` and through no ``cascadeflow_*`` frame: the
    framework's own message conversion / validation refused the value (its behaviour, not ours).
    """
    files = []
    tb = e.__traceback__
    while tb is not None:
        files.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    return any(f"/{package}/" in f for f in files) and not any("/cascadeflow_" in f for f in files)


def _adapter_call(package: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call an adapter: only CascadeError, or the framework's own validation error, may come out."""
    try:
        out = fn(*args, **kwargs)
    except CascadeError as e:
        event(f"CascadeError: {type(e).__name__}")
        str(e)
        return e
    except Exception as e:
        if _framework_error(e, package):
            event(f"framework rejected: {type(e).__name__}")
            return e
        raise
    event("answered")
    return out


lc_input = st.one_of(
    odd_text,
    st.lists(st.tuples(st.sampled_from(["human", "ai", "system", "user", "x"]), odd_text), max_size=3),
    st.lists(message, max_size=3),
)


@FUZZ
@given(value=lc_input)
def test_langchain_adapter_fuzz(value: Any) -> None:
    lc = pytest.importorskip("cascadeflow_langchain", exc_type=ImportError)
    llm = _lc_model(lc)
    _adapter_call("langchain_core", llm.invoke, value)


_LC: dict[str, Any] = {}


def _lc_model(lc: Any) -> Any:
    if "m" not in _LC:
        _LC["m"] = lc.ChatCascade(_cascade())
    return _LC["m"]


@FUZZ
@given(
    turns=st.lists(
        st.tuples(st.sampled_from(["user", "assistant", "system", "tool"]), odd_text), min_size=1, max_size=3
    )
)
def test_llamaindex_adapter_fuzz(turns: list[tuple[str, str]]) -> None:
    li = pytest.importorskip("cascadeflow_llamaindex", exc_type=ImportError)
    from llama_index.core.base.llms.types import ChatMessage

    llm = li.CascadeLLM(CASCADE)
    msgs = [ChatMessage(role=r, content=t) for r, t in turns]
    _adapter_call("llama_index", llm.chat, msgs)
    _adapter_call("llama_index", llm.complete, turns[-1][1])


@FUZZ
@given(
    msgs=st.one_of(
        st.lists(message, max_size=3),
        st.lists(
            st.fixed_dictionaries(
                {"role": st.sampled_from(["user", "system", "assistant"]), "content": odd_text}
            ),
            min_size=1,
            max_size=3,
        ),
    ),
    prompt=st.one_of(st.none(), odd_text),
)
def test_dspy_adapter_fuzz(msgs: Any, prompt: Any) -> None:
    dspy_mod = pytest.importorskip("cascadeflow_dspy", exc_type=ImportError)
    lm = _dspy_lm(dspy_mod)
    if prompt is not None:
        _adapter_call("dspy", lm, prompt)
    _adapter_call("dspy", lm, messages=msgs)


_DSPY: dict[str, Any] = {}


def _dspy_lm(mod: Any) -> Any:
    if "lm" not in _DSPY:
        _DSPY["lm"] = mod.CascadeLM(CASCADE, cache=False)
    return _DSPY["lm"]
