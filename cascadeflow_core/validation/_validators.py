"""Validators: judge a tier's drafts and say accept or escalate, with a score and reasons.

A validator is any callable ``(drafts, request) -> Verdict | bool | float`` (or an awaitable of one).
The classes here are the built-in ones; ``AllOf`` / ``AnyOf`` combine them, e.g. "accept on agreement,
or on one confident draft, provided the rule checks pass"::

    AllOf(RuleValidator(), AnyOf(AgreementValidator(), LogprobValidator(0.9)))
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from .._errors import ConfigError
from .._types import Draft, Request, Verdict
from . import _rules
from ._extract import check_kind, extract_answer
from ._shape import check_rule, json_answer_key, shape_key

__all__ = [
    "AgreementValidator",
    "AllOf",
    "AnyOf",
    "CallableValidator",
    "LogprobValidator",
    "RuleValidator",
    "SchemaValidator",
    "as_verdict",
    "default_validator",
    "needs_logprobs",
]

VerdictLike = Verdict | bool | float


def _check_unit(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise ConfigError(name, f"must be a number in [0, 1], got {value!r}", "e.g. 0.8")
    return float(value)


def as_verdict(value: Any, name: str = "validator") -> Verdict:
    """Turn what a validator returned into a ``Verdict`` (bool -> accept, float -> score >= 0.5)."""
    if isinstance(value, Verdict):
        return (
            value
            if value.validator
            else Verdict(value.accept, value.score, value.reasons, name, value.chosen, value.charges)
        )
    if isinstance(value, bool):
        return Verdict(value, 1.0 if value else 0.0, (f"{name} {'accepted' if value else 'rejected'}",), name)
    if isinstance(value, (int, float)):
        score = float(value)
        return Verdict(score >= 0.5, score, (f"{name} score {score:.2f}",), name)
    raise TypeError(f"{name} returned {type(value).__name__}; return a Verdict, a bool or a float score")


class RuleValidator:
    """Cheap rule checks on each draft: empty, truncated, refusal, hedging, malformed requested format.

    Accepts when a draft passes every enabled check; that draft is chosen.

    Example:
        >>> RuleValidator()([Draft("m", "42")], Request("6*7?")).accept
        True
    """

    CHECKS = ("empty", "truncated", "refusal", "hedging", "format")

    def __init__(self, checks: Sequence[str] = CHECKS, name: str = "rules") -> None:
        unknown = set(checks) - set(self.CHECKS)
        if unknown:
            raise ConfigError(
                "RuleValidator.checks",
                f"unknown checks {sorted(unknown)}",
                f"choose from {list(self.CHECKS)}",
            )
        self.checks = tuple(checks)
        self.name = name

    def __repr__(self) -> str:
        return f"RuleValidator(checks={self.checks!r})"

    def problems(self, draft: Draft, request: Request) -> list[str]:
        """Reasons this draft fails the enabled checks (empty when it passes)."""
        out: list[str] = []
        for check in self.checks:
            reason = _CHECKS[check](draft, request)
            if reason:
                out.append(reason)
                if check == "empty":
                    break
        return out

    def __call__(self, drafts: Sequence[Draft], request: Request) -> Verdict:
        all_problems: list[str] = []
        for i, d in enumerate(drafts):
            problems = self.problems(d, request)
            if not problems:
                return _passed(self.name, i)
            all_problems.extend(f"{d.model}: {p}" for p in problems)
        return Verdict(False, 0.0, tuple(all_problems) or ("no draft",), self.name)


class SchemaValidator(RuleValidator):
    """Structured output and tool calls: the JSON parses and fits the requested schema; tool calls name
    a bound tool with valid arguments."""

    def __init__(self, name: str = "schema") -> None:
        super().__init__(checks=("empty", "format"), name=name)

    def __repr__(self) -> str:
        return "SchemaValidator()"


class AgreementValidator:
    """Accept when at least ``min_agree`` drafters give the same final answer.

    What is compared, in order: tool-call answers agree when they call the same tools with the same
    (canonical JSON) arguments; an answer of a known shape (``request.answer_shape``, e.g. a DSPy
    signature's output fields) agrees field by field; a JSON answer to a JSON ``response_format`` agrees
    as its parsed object; otherwise the final answer is extracted from each draft (numbers, choice
    letters, ``\\boxed{}``, a JSON field, short normalised text) and compared.

    Args:
        min_agree: how many drafts must share the answer (default 2).
        extract: extraction kind for ``extract_answer`` (``"auto"``, ``"number"``, ``"choice"``,
            ``"json:answer"`` ...) or a function ``text -> key | None``.
        field_rules: per-field rules for shaped and JSON answers (``{"answer": "number", "why":
            "text"}``; see ``validation._shape``), over the shape's own rules.

    Example:
        >>> v = AgreementValidator()
        >>> v([Draft("a", "so 18"), Draft("b", "#### 18")], Request("q")).accept
        True
    """

    def __init__(
        self,
        min_agree: int = 2,
        extract: str | Callable[[str], str | None] = "auto",
        name: str = "agreement",
        field_rules: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(min_agree, bool) or not isinstance(min_agree, int) or min_agree < 2:
            raise ConfigError(
                "AgreementValidator.min_agree",
                f"must be an int >= 2, got {min_agree!r}",
                "agreement needs at least two drafters; use 2",
            )
        problem = None if callable(extract) else check_kind(extract)
        if problem:
            raise ConfigError("AgreementValidator.extract", problem, "e.g. extract='number' or 'json:answer'")
        for field_name, rule in (field_rules or {}).items():
            check_rule(f"AgreementValidator.field_rules[{field_name!r}]", rule)
        self.min_agree = min_agree
        self.extract = extract
        self.name = name
        self.field_rules = dict(field_rules or {})

    def __repr__(self) -> str:
        rules = f", field_rules={self.field_rules!r}" if self.field_rules else ""
        return f"AgreementValidator(min_agree={self.min_agree}, extract={self.extract!r}{rules})"

    def key(self, draft: Draft, request: Request | None = None) -> str | None:
        """The comparable final answer of one draft (its fields, when the request gives the shape)."""
        if draft.tool_calls:
            return "tools:" + "|".join(f"{c.name}({_canonical_json(c.arguments)})" for c in draft.tool_calls)
        if request is not None and request.answer_shape is not None:
            return shape_key(draft.text, request.answer_shape, self.field_rules)
        if request is not None and request.wants_json and self.extract == "auto":
            key = json_answer_key(draft.text, self.field_rules)
            if key is not None:
                return key
        if callable(self.extract):
            return self.extract(draft.text)
        return extract_answer(draft.text, self.extract)

    def __call__(self, drafts: Sequence[Draft], request: Request) -> Verdict:
        if len(drafts) < self.min_agree:
            return Verdict(
                False, 0.0, (f"only {len(drafts)} draft(s): agreement needs {self.min_agree}",), self.name
            )
        groups: dict[str, list[int]] = {}
        for i, d in enumerate(drafts):
            k = self.key(d, request)
            if k is not None:
                groups.setdefault(k, []).append(i)
        if not groups:
            return Verdict(False, 0.0, ("no final answer could be extracted from any draft",), self.name)
        best_key, members = max(groups.items(), key=lambda kv: (len(kv[1]), -kv[1][0]))
        score = len(members) / len(drafts)
        shown = best_key if len(best_key) <= 40 else best_key[:37] + "..."
        if len(members) >= self.min_agree:
            return Verdict(
                True,
                score,
                (f"{len(members)}/{len(drafts)} drafters agree on {shown!r}",),
                self.name,
                chosen=members[0],
            )
        answers = ", ".join(repr(k if len(k) <= 20 else k[:17] + "...") for k in groups)
        return Verdict(False, score, (f"drafters disagree: {answers}",), self.name, chosen=members[0])


@functools.lru_cache(maxsize=256)
def _passed(name: str, chosen: int) -> Verdict:
    # Verdicts are immutable: the common "passed" one is built once per (validator name, chosen draft).
    return Verdict(True, 1.0, ("rule checks passed",), name, chosen=chosen)


# The named rule checks (from ``_rules``): each returns the reason a draft fails it, or None.
_CHECKS: dict[str, Callable[[Draft, Request], str | None]] = {
    "empty": lambda d, r: None if (d.text.strip() or d.tool_calls) else "empty answer",
    "truncated": lambda d, r: "truncated (finish_reason=length)" if d.finish_reason == "length" else None,
    "refusal": lambda d, r: "refusal" if _rules.is_refusal(d.text) else None,
    "hedging": lambda d, r: "hedging" if _rules.is_hedging(d.text) else None,
    "format": lambda d, r: _rules.malformed_format(
        d.text, d.tool_calls, r.response_format, r.tools, r.tool_choice
    ),
}


def _canonical_json(s: str) -> str:
    import json

    try:
        return json.dumps(json.loads(s), sort_keys=True, separators=(",", ":"))
    except (ValueError, TypeError):
        return s.strip()


class LogprobValidator:
    """Accept a draft the model itself was confident in: exp(logprob) >= ``threshold``.

    Works where the provider returns logprobs (the engine asks for them on tiers that use this
    validator). ``mode="sequence"`` uses the answer's total log-probability (best for short answers: a
    letter, a short fact); ``mode="mean"`` the per-token mean (for longer answers).

    Example:
        >>> LogprobValidator(0.8)([Draft("m", "B", logprob=-0.05)], Request("q")).accept
        True
    """

    needs_logprobs = True

    def __init__(self, threshold: float = 0.9, mode: str = "sequence", name: str = "logprob") -> None:
        self.threshold = _check_unit("LogprobValidator.threshold", threshold)
        if mode not in ("sequence", "mean"):
            raise ConfigError("LogprobValidator.mode", f"unknown mode {mode!r}", 'use "sequence" or "mean"')
        self.mode = mode
        self.name = name

    def __repr__(self) -> str:
        return f"LogprobValidator(threshold={self.threshold}, mode={self.mode!r})"

    def confidence(self, draft: Draft) -> float | None:
        import math

        lp = draft.logprob if self.mode == "sequence" else draft.mean_logprob
        return None if lp is None else math.exp(min(lp, 0.0))

    def __call__(self, drafts: Sequence[Draft], request: Request) -> Verdict:
        scored = [(c, i) for i, d in enumerate(drafts) if (c := self.confidence(d)) is not None]
        if not scored:
            return Verdict(False, 0.0, ("no logprobs returned by the provider",), self.name)
        conf, i = max(scored)
        if conf >= self.threshold:
            return Verdict(
                True,
                conf,
                (f"{drafts[i].model} confident: p={conf:.3f} >= {self.threshold}",),
                self.name,
                chosen=i,
            )
        return Verdict(
            False, conf, (f"low confidence: p={conf:.3f} < {self.threshold}",), self.name, chosen=i
        )


class CallableValidator:
    """Wrap any function ``(drafts, request) -> Verdict | bool | float`` (sync or async) as a validator.

    Example:
        >>> v = CallableValidator(lambda drafts, req: "42" in drafts[0].text, name="has-42")
        >>> v([Draft("m", "it is 42")], Request("q")).accept
        True
    """

    def __init__(self, fn: Callable[[Sequence[Draft], Request], Any], name: str | None = None) -> None:
        if not callable(fn):
            raise ConfigError("CallableValidator.fn", f"{fn!r} is not callable", "pass a function")
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", "custom"))

    def __repr__(self) -> str:
        return f"CallableValidator({self.name})"

    def __call__(self, drafts: Sequence[Draft], request: Request) -> Verdict | Awaitable[Verdict]:
        out = self.fn(drafts, request)
        if inspect.isawaitable(out):
            return _await_verdict(out, self.name)
        return as_verdict(out, self.name)


async def _await_verdict(awaitable: Awaitable[Any], name: str) -> Verdict:
    return as_verdict(await awaitable, name)


class _Combinator:
    mode = "all"

    def __init__(self, *validators: Callable[..., Any], name: str | None = None) -> None:
        if len(validators) == 1 and isinstance(validators[0], (list, tuple)):
            validators = tuple(validators[0])
        if not validators:
            raise ConfigError(
                f"{type(self).__name__}",
                "needs at least one validator",
                "e.g. AnyOf(AgreementValidator(), LogprobValidator(0.9))",
            )
        for v in validators:
            if not callable(v):
                raise ConfigError(f"{type(self).__name__}", f"{v!r} is not a validator", "pass callables")
        self.validators = validators
        self.name = name or self.mode

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self.validators))})"

    @property
    def needs_logprobs(self) -> bool:
        return any(needs_logprobs(v) for v in self.validators)

    @property
    def offload(self) -> bool:
        return any(bool(getattr(v, "offload", False)) for v in self.validators)

    def _decided(self, v: Verdict) -> bool:
        return (not v.accept) if self.mode == "all" else v.accept

    def _merge(self, verdicts: list[Verdict]) -> Verdict:
        last = verdicts[-1]
        if self.mode == "all":
            accept = all(v.accept for v in verdicts)
            score = min(v.score for v in verdicts)
            reasons = tuple(r for v in verdicts for r in v.reasons)
            chosen = next((v.chosen for v in reversed(verdicts) if v.accept), last.chosen)
        else:
            accept = any(v.accept for v in verdicts)
            score = max(v.score for v in verdicts)
            winners = [v for v in verdicts if v.accept]
            reasons = winners[0].reasons if winners else tuple(r for v in verdicts for r in v.reasons)
            chosen = winners[0].chosen if winners else last.chosen
        charges = tuple(c for v in verdicts for c in v.charges)  # every judge call made is paid for
        return Verdict(accept, score, reasons, "+".join(v.validator for v in verdicts), chosen, charges)

    def __call__(self, drafts: Sequence[Draft], request: Request) -> Verdict | Awaitable[Verdict]:
        verdicts: list[Verdict] = []
        for i, validator in enumerate(self.validators):
            out = validator(drafts, request)
            if inspect.isawaitable(out):
                return self._finish_async(out, i, verdicts, drafts, request)
            v = as_verdict(out, getattr(validator, "name", "custom"))
            verdicts.append(v)
            if self._decided(v):
                break
        return self._merge(verdicts)

    async def _finish_async(
        self,
        pending: Awaitable[Any],
        index: int,
        verdicts: list[Verdict],
        drafts: Sequence[Draft],
        request: Request,
    ) -> Verdict:
        v = as_verdict(await pending, getattr(self.validators[index], "name", "custom"))
        verdicts.append(v)
        for validator in self.validators[index + 1 :]:
            if self._decided(verdicts[-1]):
                break
            out = validator(drafts, request)
            if inspect.isawaitable(out):
                out = await out
            verdicts.append(as_verdict(out, getattr(validator, "name", "custom")))
        return self._merge(verdicts)


class AllOf(_Combinator):
    """Accept only when every validator accepts (stops at the first rejection); score is the minimum.

    Example:
        >>> AllOf(RuleValidator(), AgreementValidator())([Draft("a", "7"), Draft("b", "7")], Request("q")).accept
        True
    """

    mode = "all"


class AnyOf(_Combinator):
    """Accept when any validator accepts (stops at the first acceptance); score is the maximum.

    Example:
        >>> v = AnyOf(AgreementValidator(), LogprobValidator(0.9))
        >>> v([Draft("a", "B", logprob=-0.01)], Request("q")).accept
        True
    """

    mode = "any"


def needs_logprobs(validator: Any) -> bool:
    """Whether a validator wants the provider to return logprobs."""
    return bool(getattr(validator, "needs_logprobs", False))


def default_validator(n_models: int, model: str | None = None) -> Callable[..., Any]:
    """The validator of a tier that names none: rule checks, plus agreement when it has 2+ models.

    A one-model drafter tier (``model`` given) is not "accept almost always": when its provider returns
    logprobs, a confident draft is required too (``_defaults.single_drafter_default``: p >= 0.9999,
    chosen on the shared train sets). Without ``model`` (a last tier, whose answer is returned anyway):
    the rule checks.
    """
    if n_models >= 2:
        return AllOf(RuleValidator(), AgreementValidator())
    if model is not None:
        from ._defaults import single_drafter_default

        return single_drafter_default(model)
    return RuleValidator()
