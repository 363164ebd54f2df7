"""The router: which tiers to try for one request, in which order, and why.

``CascadeRouter`` builds the plan from, in this order:

1. capability needs: tools, JSON schema output, images, and whether the prompt fits each model's
   context window (a tier is dropped only when the model is *known* not to support the need);
2. the query's domain: a per-domain route (tier names in order) from ``RouterConfig.domain_routes``,
   else tiers that declare ``domains`` (specialists) are tried first for their domain and skipped
   for others;
3. the query's complexity: at or above ``skip_drafters_at`` the drafters are skipped and the last
   (strongest) tier answers directly;
4. the tracker's decision: on ``degrade``, the ``degrade`` policy drops expensive tiers.

Every decision adds a short sentence to ``Plan.reasons``, which the engine copies to
``CascadeResult.route``. With an empty ``RouterConfig`` and tiers that declare no domains the plan is
the plain cascade: all tiers in order, and a degrade drops the last tier.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from .._errors import ConfigError
from .._protocols import Admission, Plan
from .._types import ModelSpec, Request, Tier
from ._complexity import ComplexityResult, estimate_complexity, level_index, relevant_text
from ._domain import DOMAINS, DomainDetector, DomainResult

__all__ = ["CascadeRouter", "RouterConfig"]

DegradeMode = Literal["drop_last", "cheapest_only", "max_quality"]
_DEGRADE_MODES = ("drop_last", "cheapest_only", "max_quality")
_SMALLEST_WINDOW = 8000  # below this many prompt tokens no current model needs a window look-up


@dataclass(frozen=True)
class RouterConfig:
    """Routing rules. The defaults give the plain cascade (all tiers in order).

    Args:
        domain_routes: domain -> tier names (or model strings of a tier) to try, in that order, e.g.
            ``{"code": ("coder", "strong"), "math": ("agree", "strong")}``; the key ``"default"`` is the
            route of every domain without one of its own.
        skip_drafters_at: complexity level (``trivial`` ... ``expert``) from which the drafters are
            skipped and the last tier answers directly; ``None`` never skips.
        degrade: what a tracker ``degrade`` decision does: ``"drop_last"`` (drop the most expensive
            tier), ``"cheapest_only"`` (keep only the cheapest tier of the plan) or ``"max_quality"``
            (drop tiers whose quality is above ``degrade_max_quality``).
        degrade_max_quality: the quality cap for ``degrade="max_quality"``.
        min_domain_confidence: domain routes apply only when the detector is at least this confident.
        check_capabilities: drop tiers whose models are known not to support the request's tools,
            JSON schema or images.
        check_context: drop tiers whose models' context window cannot fit the prompt.
        domains: the domains a route may name (defaults to the built-in ``DOMAINS``).

    Example:
        >>> RouterConfig(domain_routes={"code": ("coder", "strong")}, skip_drafters_at="expert").degrade
        'drop_last'
    """

    domain_routes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    skip_drafters_at: str | None = None
    degrade: DegradeMode = "drop_last"
    degrade_max_quality: int | None = None
    min_domain_confidence: float = 0.0
    check_capabilities: bool = True
    check_context: bool = True
    domains: tuple[str, ...] = DOMAINS

    def __post_init__(self) -> None:
        object.__setattr__(self, "domains", tuple(self.domains))
        if not isinstance(self.domain_routes, Mapping):
            raise ConfigError(
                "router.domains",
                f"must be a mapping domain -> tier names, got {type(self.domain_routes).__name__}",
                'e.g. {"code": ["coder", "strong"]}',
            )
        routes: dict[str, tuple[str, ...]] = {}
        for domain, names in self.domain_routes.items():
            if domain not in self.domains and domain != "default":
                raise ConfigError(
                    f"router.domains.{domain}",
                    f"unknown domain {domain!r}",
                    f"use one of {list(self.domains)} (or default)",
                )
            names = (names,) if isinstance(names, str) else tuple(names)
            if not names or not all(isinstance(n, str) and n for n in names):
                raise ConfigError(
                    f"router.domains.{domain}",
                    f"must list tier names, got {names!r}",
                    'e.g. ["coder", "strong"]',
                )
            routes[domain] = names
        object.__setattr__(self, "domain_routes", routes)
        if self.skip_drafters_at is not None:
            level_index(self.skip_drafters_at, "router.skip_drafters_at")
        if self.degrade not in _DEGRADE_MODES:
            raise ConfigError(
                "router.degrade",
                f"unknown degrade policy {self.degrade!r}",
                f"use one of {list(_DEGRADE_MODES)}",
            )
        if self.degrade == "max_quality" and (
            isinstance(self.degrade_max_quality, bool) or not isinstance(self.degrade_max_quality, int)
        ):
            raise ConfigError(
                "router.degrade_max_quality",
                "degrade: max_quality needs an int quality cap",
                "set degrade_max_quality, e.g. 1",
            )
        c = self.min_domain_confidence
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not 0.0 <= c <= 1.0:
            raise ConfigError(
                "router.min_domain_confidence", f"must be a number in [0, 1], got {c!r}", "e.g. 0.5"
            )

    def check_tiers(self, tiers: Sequence[Tier]) -> None:
        """Raise ``ConfigError`` when a route names a tier that does not exist."""
        valid = {t.name for t in tiers} | {m.model for t in tiers for m in _specs(t)}
        for domain, names in self.domain_routes.items():
            for name in names:
                if name not in valid:
                    raise ConfigError(
                        f"router.domains.{domain}",
                        f"names tier {name!r}, which does not exist",
                        f"use tier names: {[t.name for t in tiers]}",
                    )


class CascadeRouter:
    """The default router: capabilities, domain, complexity and budget decide the plan.

    Args:
        config: the routing rules (default: none, i.e. the plain cascade).
        detector: domain detector (default: the rule-based ``DomainDetector``); any object with
            ``detect(text) -> DomainResult`` works, e.g. ``EmbeddingDomainDetector``.

    Example:
        >>> router = CascadeRouter(RouterConfig(skip_drafters_at="expert"))
        >>> plan = router.plan(Request("hi"), [Tier(["openai/gpt-4o-mini"], name="cheap"),
        ...                                    Tier(["openai/gpt-4o"], name="strong")], None)
        >>> [t.name for t in plan.tiers]
        ['cheap', 'strong']
    """

    def __init__(self, config: RouterConfig | None = None, detector: Any = None) -> None:
        self.config = config or RouterConfig()
        if not isinstance(self.config, RouterConfig):
            raise ConfigError("router.config", f"expected RouterConfig, got {type(self.config).__name__}")
        self.detector = detector or DomainDetector()
        # The last tiers planned over (the same tuple on every request of a cascade) and whether any of
        # them, or their models, declares domains: computed once per tier set, not per request.
        self._domains_declared: tuple[tuple[Tier, ...], bool] = ((), False)
        if not callable(getattr(self.detector, "detect", None)):
            raise ConfigError(
                "router.detector",
                f"{self.detector!r} has no detect(text) method",
                "pass a DomainDetector or EmbeddingDomainDetector",
            )

    def __repr__(self) -> str:
        return f"CascadeRouter({self.config!r})"

    def analyse(self, request: Request) -> tuple[DomainResult, ComplexityResult]:
        """Domain and complexity of a request's latest user turn (and code it refers to)."""
        turn, context = relevant_text(request)
        return self.detector.detect(turn), estimate_complexity(turn, context)

    def plan(self, request: Request, tiers: Sequence[Tier], admission: Admission | None) -> Plan:
        """The tiers to try for ``request``, in order, with the reason for each decision."""
        all_tiers = tuple(tiers)
        known = self._domains_declared
        if known[0] is not all_tiers:
            known = self._domains_declared = (all_tiers, any(_tier_domains(t) for t in all_tiers))
        reasons: list[str] = []
        kept = self._capabilities(request, all_tiers, reasons)
        # Domain and complexity are analysed only when a rule or a tier uses them: with no rules the
        # router must cost next to nothing (detection is ~100 us, a tenth of a fast model call).
        domain = complexity = None
        uses_domain = bool(self.config.domain_routes) or known[1]
        if uses_domain or self.config.skip_drafters_at is not None:
            turn, context = relevant_text(request)
            if uses_domain:
                domain = self.detector.detect(turn)
                reasons.append(domain.describe())
                kept = self._by_domain(domain, kept, reasons)
            if self.config.skip_drafters_at is not None:
                complexity = estimate_complexity(turn, context)
                reasons.append(complexity.describe())
                kept = self._by_complexity(complexity, kept, reasons)
        if admission is not None and admission.decision == "degrade":
            kept = self._degrade(admission, kept, reasons)
        return Plan(
            tuple(kept),
            tuple(reasons),
            domain.domain if domain else None,
            complexity.level if complexity else None,
        )

    # --- steps ------------------------------------------------------------------------------------
    def _capabilities(self, request: Request, tiers: tuple[Tier, ...], reasons: list[str]) -> list[Tier]:
        kept = list(tiers)
        if self.config.check_capabilities:
            for need, flag in _needs(request):
                fit = [t for t in kept if any(_supports(m, flag) for m in _specs(t))]
                dropped = [t.name for t in kept if all(t is not f for f in fit)]
                if dropped and fit:
                    reasons.append(f"capability: dropped {_names(dropped)} (no model supports {need})")
                    kept = fit
                elif dropped:
                    reasons.append(f"capability: no tier is known to support {need}; keeping all")
        if self.config.check_context:
            kept = _fit_context(request, kept, reasons)
        return kept

    def _by_domain(self, domain: DomainResult, tiers: list[Tier], reasons: list[str]) -> list[Tier]:
        routes = self.config.domain_routes
        route = routes.get(domain.domain)
        label = domain.domain
        if route is None and "default" in routes and not _any_specialist(tiers, domain.domain):
            route, label = routes["default"], f"{domain.domain} (default route)"
        if route is not None:
            if domain.confidence < self.config.min_domain_confidence:
                reasons.append(
                    f"domain route for {domain.domain} not applied: confidence "
                    f"{domain.confidence:.2f} < {self.config.min_domain_confidence}"
                )
                return tiers
            chosen: list[Tier] = []
            for name in route:
                chosen.extend(t for t in tiers if _matches(t, name) and all(t is not c for c in chosen))
            if chosen:
                reasons.append(f"route for {label}: {' -> '.join(str(t.name) for t in chosen)}")
                return chosen
            reasons.append(f"route for {label} names no available tier; keeping {_names(tiers)}")
            return tiers
        specialists = [t for t in tiers if _tier_domains(t)]
        if not specialists:
            return tiers
        match = [t for t in specialists if domain.domain in _tier_domains(t)]
        others = [t for t in specialists if all(t is not x for x in match)]
        generalists = [t for t in tiers if not _tier_domains(t)]
        if not match and not generalists:
            return tiers
        if others:
            reasons.append(f"skipped {_names([t.name for t in others])}: declared for other domains")
        if match:
            reasons.append(f"{_names([t.name for t in match])} declared for {domain.domain}: tried first")
        return match + generalists

    def _by_complexity(
        self, complexity: ComplexityResult, tiers: list[Tier], reasons: list[str]
    ) -> list[Tier]:
        threshold = self.config.skip_drafters_at
        if threshold is None or len(tiers) <= 1 or not complexity.at_least(threshold):
            return tiers
        reasons.append(
            f"complexity={complexity.level} (>= {threshold}): skipping drafters "
            f"{_names([t.name for t in tiers[:-1]])}, straight to tier {tiers[-1].name!r}"
        )
        return tiers[-1:]

    def _degrade(self, admission: Admission, tiers: list[Tier], reasons: list[str]) -> list[Tier]:
        why = admission.message or "budget"
        mode = self.config.degrade
        if len(tiers) <= 1:
            reasons.append(
                f"degrade ({why}): only tier {tiers[0].name!r} left, kept"
                if tiers
                else f"degrade ({why}): no tier to keep"
            )
            return tiers
        if mode == "drop_last":
            reasons.append(f"degrade: dropped tier {tiers[-1].name!r} ({why})")
            return tiers[:-1]
        if mode == "cheapest_only":
            cheapest = min(tiers, key=_tier_price)
            dropped = [t.name for t in tiers if t is not cheapest]
            reasons.append(
                f"degrade: cheapest tier {cheapest.name!r} only, dropped {_names(dropped)} ({why})"
            )
            return [cheapest]
        cap = int(self.config.degrade_max_quality or 0)
        kept = [t for t in tiers if t.quality <= cap]
        if not kept:
            kept = [min(tiers, key=lambda t: t.quality)]
        dropped = [t.name for t in tiers if all(t is not k for k in kept)]
        if dropped:
            reasons.append(f"degrade: dropped {_names(dropped)} (quality > {cap}; {why})")
        return kept


def _specs(tier: Tier) -> tuple[ModelSpec, ...]:
    # Tier.__post_init__ has coerced every model to a ModelSpec.
    return cast("tuple[ModelSpec, ...]", tier.models)


def _names(names: Sequence[Any]) -> str:
    if names and isinstance(names[0], Tier):
        names = [t.name for t in names]
    return ", ".join(repr(n) for n in names)


def _matches(tier: Tier, name: str) -> bool:
    return tier.name == name or any(m.model == name or m.label == name for m in _specs(tier))


def _any_specialist(tiers: Sequence[Tier], domain: str) -> bool:
    return any(domain in _tier_domains(t) for t in tiers)


def _tier_domains(tier: Tier) -> frozenset[str]:
    return frozenset(tier.domains).union(*(m.domains for m in _specs(tier)))


def _needs(request: Request) -> list[tuple[str, str]]:
    needs = []
    if request.tools and request.tool_choice != "none":
        needs.append(("tools", "supports_function_calling"))
    if request.json_schema is not None:
        needs.append(("structured output (JSON schema)", "supports_response_schema"))
    if _has_images(request):
        needs.append(("images", "supports_vision"))
    return needs


def _has_images(request: Request) -> bool:
    for m in request.messages:
        content = m.get("content")
        if isinstance(content, (list, tuple)):
            for part in content:
                if isinstance(part, Mapping) and part.get("type") in ("image_url", "image", "input_image"):
                    return True
    return False


@functools.lru_cache(maxsize=2048)
def _model_info(model: str) -> Mapping[str, Any]:
    from ..providers._litellm import litellm_module

    try:
        return dict(litellm_module().get_model_info(model))
    except Exception:  # unknown to LiteLLM's map: nothing is known, so nothing is ruled out
        return {}


def _supports(spec: ModelSpec, flag: str) -> bool:
    if spec.backend is not None:
        return True
    return _model_info(spec.model).get(flag) is not False


def _window(spec: ModelSpec) -> int | None:
    if spec.context_window is not None:
        return spec.context_window
    if spec.backend is not None:
        return None
    info = _model_info(spec.model)
    value = info.get("max_input_tokens") or info.get("max_tokens")
    return int(value) if isinstance(value, (int, float)) and value > 0 else None


def prompt_tokens(request: Request, spec: ModelSpec | None = None) -> int:
    """Prompt tokens at most (an upper bound for every script; exact-ish for a known tokenizer)."""
    from ..providers._litellm import prompt_bytes_bound, prompt_tokens_bound

    return prompt_bytes_bound(request) if spec is None else prompt_tokens_bound(spec, request)


def _fit_context(request: Request, tiers: list[Tier], reasons: list[str]) -> list[Tier]:
    bound = prompt_tokens(request)  # any model's count is at most this
    declared = any(m.context_window is not None for t in tiers for m in _specs(t))
    if bound < _SMALLEST_WINDOW and not declared:
        return tiers

    def fits(m: ModelSpec) -> bool:
        w = _window(m)
        return w is None or w >= bound or w >= prompt_tokens(request, m)

    fit = [t for t in tiers if any(fits(m) for m in _specs(t))]
    if len(fit) == len(tiers):
        return tiers
    needed = max(prompt_tokens(request, m) for t in tiers for m in _specs(t))
    if fit:
        dropped = [t.name for t in tiers if all(t is not f for f in fit)]
        reasons.append(f"context: dropped {_names(dropped)} (~{needed} prompt tokens exceed their window)")
        return fit
    largest = max(tiers, key=lambda t: max(_window(m) or 0 for m in _specs(t)))
    reasons.append(f"context: no tier fits ~{needed} prompt tokens; keeping the largest, {largest.name!r}")
    return [largest]


def _tier_price(tier: Tier) -> float:
    from ..providers._litellm import model_prices

    prices = []
    for m in _specs(tier):
        p = None if (m.backend is not None and not m.has_prices) else model_prices(m)
        prices.append(float("inf") if p is None else p[0] + p[1])
    # A tier of several drafters costs the sum of its models; unknown prices rank last.
    return sum(prices)
