"""Defaults without data: how a one-model drafter tier is judged when the user names no validator.

What this module owns: the default of a single-drafter tier, which must not be "accept almost always".
Measured on the shared Zellinger train sets (issue 24): with the rule checks alone, gpt-4o-mini before
gpt-4o escalates 0-2.3% of queries and loses 4.3-13.3 points of quality (one-sided loss 6.0-17.3 points).

- When the provider returns logprobs, the default accepts a draft whose sequence probability is at least
  a threshold chosen on those sets: the loosest p whose one-sided loss, pooled over the five sets, has a
  Clopper-Pearson 90% upper bound of at most 2 points, tested from p = 1.0 down (fixed sequence). For
  gpt-4o-mini -> gpt-4o that is **p >= 0.9999** (logprob >= -1e-4): one-sided loss 0.3-2.0 points per
  set, cost 28-56% of gpt-4o; chosen on four sets and applied to the fifth, the loss stayed <= 2.0
  points. For llama3.1-8b the same rule gives p >= 0.98, but leaving TriviaQA out it lost 4.0 points
  there, so other families get the conservative 0.9999 too.
- When a draft comes back without logprobs, the rule checks alone decide (the verdict says so), and
  ``Cascade`` warns once at construction for a one-model drafter tier whose provider is not known to
  return logprobs. ``self_consistency`` is the data-free alternative: the same drafter sampled ``n``
  times at a temperature, accepted when all samples agree on the final answer.

Example:
    >>> default_threshold("openai/gpt-4o-mini"), default_threshold("anthropic/claude-3-haiku") is None
    (0.9999, True)
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .._errors import ConfigError
from .._types import Draft, ModelSpec, Request, Tier, Verdict
from ._validators import AgreementValidator, AllOf, LogprobValidator, RuleValidator

__all__ = [
    "CONSERVATIVE_THRESHOLD",
    "FAMILY_THRESHOLDS",
    "ConfidentOrRules",
    "default_threshold",
    "self_consistency",
    "single_drafter_default",
    "warn_rules_only",
]

# Per model family (a substring of the model name), from the pooled Zellinger train sets (see above).
FAMILY_THRESHOLDS: tuple[tuple[str, float], ...] = (("gpt-4o-mini", 0.9999),)
CONSERVATIVE_THRESHOLD = 0.9999
# Providers that return logprobs through LiteLLM's OpenAI-compatible interface ("replay": when recorded).
_LOGPROB_MODEL = re.compile(
    r"^((openai|azure|together_ai|fireworks_ai|hosted_vllm|vllm|deepinfra|replay)/|gpt-(3\.5|4))"
)
_warned: set[str] = set()


def default_threshold(model: str) -> float | None:
    """The default logprob threshold of a one-model drafter tier, or None when its provider returns none."""
    if not _LOGPROB_MODEL.match(model) or re.search(r"(^|/)o\d", model):  # o1/o3...: no logprobs
        return None
    return next((t for family, t in FAMILY_THRESHOLDS if family in model), CONSERVATIVE_THRESHOLD)


class ConfidentOrRules(LogprobValidator):
    """``LogprobValidator``, except that drafts returned without logprobs are accepted (the rule checks,
    applied before it by ``single_drafter_default``, then decide alone) and the verdict says so."""

    def __call__(self, drafts: Sequence[Draft], request: Request) -> Verdict:
        if drafts and all(self.confidence(d) is None for d in drafts):
            why = "no logprobs returned: the rule checks alone judged this draft"
            return Verdict(True, 0.5, (why,), self.name, chosen=0)
        return super().__call__(drafts, request)


def single_drafter_default(model: str | None = None) -> Any:
    """The validator of a one-model drafter tier that names none (see the module docstring)."""
    t = CONSERVATIVE_THRESHOLD if model is None else default_threshold(model)
    if t is None:
        return RuleValidator()
    return AllOf(RuleValidator(), ConfidentOrRules(t, name="default-logprob"))


def self_consistency(
    model: str | ModelSpec, n: int = 2, temperature: float = 0.7, name: str | None = None
) -> Tier:
    """A drafter tier of one model sampled ``n`` times at ``temperature``, accepted when all agree.

    For providers without logprobs, it escalates when the model is unsure of its answer (its samples
    differ), at ``n`` times the drafter's cost.

    Args:
        model: the drafter (model string or ``ModelSpec``).
        n: samples (>= 2).
        temperature: sampling temperature (> 0, or the samples would be identical).
        name: tier name.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ConfigError("self_consistency.n", f"must be an int >= 2, got {n!r}", "use 2 or 3")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 < temperature <= 2:
        raise ConfigError(
            "self_consistency.temperature", f"must be in (0, 2], got {temperature!r}", "e.g. 0.7"
        )
    spec = ModelSpec.coerce(model, "self_consistency.model")
    sampled = replace(spec, params={**spec.params, "temperature": float(temperature)})
    return Tier([sampled] * n, AgreementValidator(min_agree=n), name)


def warn_rules_only(tiers: Sequence[Tier]) -> None:
    """Warn once per model when a one-model drafter tier without a validator has no logprobs to use."""
    for t in tiers[:-1]:
        if t.validator is not None or len(t.specs) != 1 or t.specs[0].backend is not None:
            continue
        model = t.specs[0].model
        if default_threshold(model) is not None or model in _warned:
            continue
        _warned.add(model)
        warnings.warn(
            f"tier {t.name!r} has one model ({model}) and no validator, and its provider is not known to "
            "return logprobs: the rule checks alone rarely escalate short answers (on the shared test sets "
            "0-2% escalation and 4-13 points of quality lost). Use self_consistency(model), a validator, "
            "or calibrate one (cascadeflow bench --calibrate).",
            UserWarning,
            stacklevel=3,
        )
