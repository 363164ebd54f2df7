"""Benchmark a cascade configuration on recorded outputs, before paying for a single call.

``run_benchmark`` runs the real engine (``Cascade.acomplete``, with bounded concurrency) over a replay
set through the replay provider, so a configuration measured here behaves the same live. Each query is
scored by the recorded correctness label of the (model, query) answer the cascade returned, and pays the
recorded cost of every model it called (rejected drafts included). The report sets this beside the
verifier alone, each single model, and the oracle (the cheapest correct model per query).

Example:
    >>> from cascadeflow_core import ReplaySet, run_benchmark
    >>> rs = ReplaySet.load(ReplaySet.sample_path())
    >>> report = run_benchmark(default_config(rs), rs, progress=False)
    >>> 0.0 <= report.quality <= 1.0
    True
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .._cascade import Cascade
from .._errors import ConfigError, ReplayError
from .._types import CascadeResult, ModelSpec, Tier
from ..engine._perform import run_coroutine
from ._provider import PROVIDER, ReplaySet, register_replay, replay_model

__all__ = [
    "BenchReport",
    "ModelStats",
    "QueryOutcome",
    "TierStats",
    "arun_benchmark",
    "bootstrap_intervals",
    "default_config",
    "model_stats",
    "oracle_stats",
    "replay_cascade",
    "run_benchmark",
]

# Cheap drafters tried, in this order, for the default configuration of a set (the first two present).
_DEFAULT_DRAFTERS = ("gpt-4o-mini-2024-07-18", "gemma-2-9b-it", "gpt-4o-mini", "llama3.1-8b")


@dataclass(frozen=True)
class QueryOutcome:
    """How the cascade answered one query."""

    id: str
    model: str
    tier: str
    correct: bool
    cost: float
    verifier_cost: float
    escalated: bool
    tiers_called: tuple[str, ...]
    reasons: tuple[str, ...] = ()
    verifier_correct: bool = False
    category: str = ""


@dataclass(frozen=True)
class ModelStats:
    """A model (or the oracle) answering every query alone: fraction correct and total recorded cost."""

    model: str
    quality: float
    cost: float
    n: int


@dataclass(frozen=True)
class TierStats:
    """Per tier: fraction of queries that reached it, that it answered, and its escalation rate."""

    name: str
    models: tuple[str, ...]
    reached: float
    answered: float
    escalation_rate: float


@dataclass(frozen=True)
class BenchReport:
    """Result of ``run_benchmark``: the cascade beside the verifier alone, each model and the oracle.

    Attributes:
        quality: fraction of queries whose returned answer is recorded as correct.
        cost: total recorded dollars the cascade spent (rejected drafts included).
        verifier: the verifier model; ``verifier_quality`` / ``verifier_cost``: it alone on every query.
        savings: ``1 - cost / verifier_cost``.
        tiers: per-tier reach, answer and escalation rates.
        models: every model of the set alone (configured ones first).
        oracle: cheapest correct configured model per query; ``oracle_all``: among all models of the set.
        outcomes: per-query records; ``skipped``: ids left out because a configured model has no record.
    """

    set_name: str
    config: str
    n: int
    quality: float
    cost: float
    verifier: str
    verifier_quality: float
    verifier_cost: float
    tiers: tuple[TierStats, ...]
    models: tuple[ModelStats, ...]
    configured: tuple[str, ...]
    oracle: ModelStats
    oracle_all: ModelStats
    wall_s: float
    outcomes: tuple[QueryOutcome, ...] = field(repr=False, default=())
    skipped: tuple[str, ...] = ()

    @property
    def cost_ratio(self) -> float:
        """Cascade cost as a fraction of the verifier alone."""
        return self.cost / self.verifier_cost if self.verifier_cost > 0 else float("nan")

    @property
    def savings(self) -> float:
        return 1.0 - self.cost_ratio

    @property
    def quality_delta_points(self) -> float:
        """Quality minus the verifier's, in percentage points."""
        return 100.0 * (self.quality - self.verifier_quality)

    def intervals(self, confidence: float = 0.9, n_boot: int = 1000, seed: int = 0) -> dict[str, list[float]]:
        """Percentile bootstrap intervals (over queries) of quality, Δ in points and savings."""
        return bootstrap_intervals(self.outcomes, confidence, n_boot, seed)

    def categories(self) -> dict[str, dict[str, float]]:
        """Per category (when the queries carry more than one): n, quality, verifier quality, Δ, cost ratio."""
        return _by_category(self.outcomes)

    def to_dict(self, outcomes: bool = False) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            cost_ratio=self.cost_ratio, savings=self.savings, quality_delta_points=self.quality_delta_points
        )
        d.update(intervals=self.intervals(), categories=self.categories())
        if not outcomes:
            d.pop("outcomes")
        return d

    def to_json(self, outcomes: bool = False, indent: int | None = 2) -> str:
        """JSON for machines (``outcomes=True`` adds the per-query records)."""
        return json.dumps(self.to_dict(outcomes), indent=indent)

    def table(self, all_models: bool = False) -> str:
        """The human-readable report."""
        return _format(self, all_models)

    def __str__(self) -> str:
        return self.table()


def bootstrap_intervals(
    outcomes: Sequence[QueryOutcome], confidence: float = 0.9, n_boot: int = 1000, seed: int = 0
) -> dict[str, list[float]]:
    """Percentile bootstrap intervals of quality, Δ (points) and savings, resampling queries (pure Python)."""
    import random

    n = len(outcomes)
    if n == 0:
        return {}
    rng = random.Random(seed)
    ok = [float(o.correct) for o in outcomes]
    vok = [float(o.verifier_correct) for o in outcomes]
    cost = [o.cost for o in outcomes]
    vcost = [o.verifier_cost for o in outcomes]
    draws: dict[str, list[float]] = {"quality": [], "delta_points": [], "savings": []}
    for _ in range(n_boot):
        idx = [rng.randrange(n) for _ in range(n)]
        q, v = sum(ok[i] for i in idx) / n, sum(vok[i] for i in idx) / n
        vc = sum(vcost[i] for i in idx)
        draws["quality"].append(q)
        draws["delta_points"].append(100 * (q - v))
        draws["savings"].append(1 - sum(cost[i] for i in idx) / vc if vc > 0 else 0.0)
    lo, hi = (1 - confidence) / 2, 1 - (1 - confidence) / 2
    out = {}
    for k, xs in draws.items():
        xs.sort()
        out[k] = [xs[int(lo * (n_boot - 1))], xs[int(round(hi * (n_boot - 1)))]]
    out["confidence"] = [confidence, confidence]
    return out


def _by_category(outcomes: Sequence[QueryOutcome]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[QueryOutcome]] = {}
    for o in outcomes:
        groups.setdefault(o.category, []).append(o)
    if len(groups) < 2:
        return {}
    out = {}
    for cat, os_ in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        n = len(os_)
        q = sum(o.correct for o in os_) / n
        v = sum(o.verifier_correct for o in os_) / n
        vc = sum(o.verifier_cost for o in os_)
        out[cat] = {
            "n": n,
            "quality": q,
            "verifier_quality": v,
            "delta_points": 100 * (q - v),
            "cost_ratio": sum(o.cost for o in os_) / vc if vc > 0 else float("nan"),
        }
    return out


# --- building the replayed cascade ---------------------------------------------------------------------


def _replay_spec(spec: ModelSpec, rs: ReplaySet, where: str) -> ModelSpec:
    if spec.backend is not None:
        raise ConfigError(
            where,
            f"{spec.label} has its own backend and cannot be replayed",
            "configure it by model string so the replay provider can serve it",
        )
    name = replay_model(spec)
    if name is None:
        candidates = [spec.model, spec.model.split("/", 1)[-1]]
        name = next((c for c in candidates if c in rs.models), None)
        if name is None:
            try:
                rs.answer(spec.model.split("/", 1)[-1], "")
            except ReplayError as e:
                raise ConfigError(where, str(e), f"use a model of the replay set {rs.name!r}") from e
    elif name not in rs.models:
        try:
            rs.answer(name, "")
        except ReplayError as e:
            raise ConfigError(where, str(e), f"use a model of the replay set {rs.name!r}") from e
    # Recorded costs are used: prices on the spec would override them.
    return replace(
        spec,
        model=f"{PROVIDER}/{name}",
        input_cost_per_token=None,
        output_cost_per_token=None,
        api_base=None,
        api_key=None,
    )


def replay_cascade(cascade: Cascade, rs: ReplaySet) -> Cascade:
    """The same cascade (tiers, validators, router, guardrails) with every model served by ``rs``.

    Model strings may be ``"replay/<model>"``, the recorded name itself, or ``"<provider>/<recorded name>"``.
    The tracker and cache are left out (a bench must neither write a real ledger nor hit a cache).
    """
    tiers = []
    for i, t in enumerate(cascade.tiers):
        models = [_replay_spec(s, rs, f"tiers[{i}].models[{j}]") for j, s in enumerate(t.specs)]
        fallbacks = [
            _replay_spec(s, rs, f"tiers[{i}].fallbacks[{j}]") for j, s in enumerate(t.fallback_specs)
        ]
        tiers.append(Tier(models, t.validator, t.name, fallbacks, t.domains))
    options = replace(cascade.options, verifier_cost=rs.verifier_cost, progress=False)
    return Cascade(tiers, guardrails=cascade.guardrails, router=cascade.router, options=options)


def _coerce_cascade(obj: Any) -> Cascade:
    if isinstance(obj, Cascade):
        return obj
    if isinstance(obj, (str, os.PathLike, Mapping)):
        return Cascade.from_config(obj)
    if isinstance(obj, Sequence):
        return Cascade(obj)
    raise ConfigError(
        "config",
        f"cannot benchmark a {type(obj).__name__}",
        "pass a Cascade, a YAML path, a config mapping or a list of tiers",
    )


def default_config(
    rs: ReplaySet, drafters: Sequence[str] | None = None, verifier: str | None = None
) -> Cascade:
    """Two cheap drafters that must agree, else the verifier (the GSM8K-style default).

    Without arguments: the set's most accurate model as the verifier (ties: the cheaper; not the most
    expensive, which is often not the best), and as drafters the
    first two of gpt-4o-mini / gemma-2-9b / llama3.1-8b present in the set, filled up with the cheapest
    other models. A set with one other model gets one drafter judged by its logprob (when recorded) or
    by the rule checks alone.
    """
    from ..validation._validators import AgreementValidator, AllOf, LogprobValidator, RuleValidator

    by_cost = sorted(rs.models, key=lambda m: model_stats(rs, [m])[0].cost)
    if verifier is None:
        from ._calibrate import best_verifier

        verifier = best_verifier(rs)
    if drafters is None:
        cheap = [m for m in by_cost if m != verifier]
        drafters = [m for m in _DEFAULT_DRAFTERS if m in cheap][:2]
        drafters = [*drafters, *[m for m in cheap if m not in drafters]][:2]
    if not drafters:
        return Cascade([Tier([rs.spec(verifier)], name="verifier")])
    if len(drafters) > 1:
        validator: Any = AllOf(RuleValidator(("empty", "truncated")), AgreementValidator())
    elif any(rs.answer(drafters[0], q).logprob is not None for q in rs.ids[:50] if rs.has(drafters[0], q)):
        validator = AllOf(RuleValidator(), LogprobValidator(0.9))  # one drafter: a confident draft
    else:
        validator = RuleValidator()  # one drafter and no signal but the rule checks
    first = Tier([rs.spec(m) for m in drafters], validator, name="drafters")
    return Cascade([first, Tier([rs.spec(verifier)], name="verifier")])


# --- statistics from the recorded data -----------------------------------------------------------------


def model_stats(rs: ReplaySet, models: Sequence[str], ids: Sequence[str] | None = None) -> list[ModelStats]:
    """Each model answering every query alone (queries it did not answer count as wrong, cost 0)."""
    ids = rs.ids if ids is None else ids
    out = []
    for m in models:
        recs = [rs.records.get((m, q)) for q in ids]
        ok = sum(1 for r in recs if r is not None and r.correct)
        cost = sum(r.cost for r in recs if r is not None)
        out.append(ModelStats(m, ok / len(ids) if ids else 0.0, cost, len(ids)))
    return out


def oracle_stats(
    rs: ReplaySet, models: Sequence[str], ids: Sequence[str] | None = None, label: str = "oracle"
) -> ModelStats:
    """Cheapest correct model per query (when none is correct: the cheapest answer, counted wrong)."""
    ids = rs.ids if ids is None else ids
    ok, cost = 0, 0.0
    for q in ids:
        recs = [r for m in models if (r := rs.records.get((m, q))) is not None]
        right = [r.cost for r in recs if r.correct]
        if right:
            ok += 1
            cost += min(right)
        elif recs:
            cost += min(r.cost for r in recs)
    return ModelStats(label, ok / len(ids) if ids else 0.0, cost, len(ids))


# --- running -------------------------------------------------------------------------------------------


def _progress(flag: bool | None, total: int, desc: str) -> Any:
    if flag is None:
        flag = sys.stderr.isatty() and not os.environ.get("CI")
    if not flag or total < 2:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="q", leave=False)


def _outcome(
    rs: ReplaySet, qid: str, result: CascadeResult, names: Mapping[str, str], verifier: str
) -> QueryOutcome:
    errors = [a for a in result.attempts if a.status == "error"]
    if errors:
        raise ReplayError(f"query {qid!r}: a replayed call failed: {errors[0].describe()}")
    model = names.get(result.model) or replay_model(result.model) or result.model
    rec = rs.answer(model, qid)
    called = tuple(dict.fromkeys(a.tier for a in result.attempts))
    accepted = result.accepted_attempt
    return QueryOutcome(
        qid,
        model,
        result.tier,
        rec.correct,
        result.cost,
        rs.answer(verifier, qid).cost,
        result.escalated,
        called,
        accepted.reasons if accepted else (),
        rs.answer(verifier, qid).correct,
        _category(rs.query(qid)),
    )


def _category(q: Any) -> str:
    """The query's category: ``reference.category`` / ``reference.subject`` when present, else its task."""
    ref = q.reference if isinstance(q.reference, Mapping) else {}
    return str(ref.get("category") or ref.get("subject") or q.task or "")


async def arun_benchmark(
    cascade_or_config: Any,
    replay_set: ReplaySet | str | os.PathLike[str],
    *,
    ids: Sequence[str] | None = None,
    max_concurrency: int = 64,
    progress: bool | None = None,
) -> BenchReport:
    """Async ``run_benchmark``."""
    rs = replay_set if isinstance(replay_set, ReplaySet) else ReplaySet.load(replay_set)
    cascade = replay_cascade(_coerce_cascade(cascade_or_config), rs)
    names = {
        s.label: replay_model(s) or s.model for t in cascade.tiers for s in (*t.specs, *t.fallback_specs)
    }
    configured = tuple(dict.fromkeys(names.values()))
    verifier = replay_model(cascade.tiers[-1].specs[0]) or ""
    wanted = rs.ids if ids is None else tuple(ids)
    covered = set(rs.covered(configured))
    run_ids = [q for q in wanted if q in covered]
    skipped = tuple(q for q in wanted if q not in covered)
    if not run_ids:
        raise ReplayError(
            f"no query of {rs.name!r} was answered by every configured model {list(configured)}"
        )
    sem = asyncio.Semaphore(max_concurrency)
    bar = _progress(progress, len(run_ids), f"bench {rs.name}")
    t0 = time.perf_counter()

    async def one(qid: str) -> QueryOutcome:
        async with sem:
            result = await cascade.acomplete(list(rs.query(qid).messages), replay_id=qid)
            if bar is not None:
                bar.update(1)
            return _outcome(rs, qid, result, names, verifier)

    with register_replay(rs):
        try:
            outcomes = await asyncio.gather(*(one(q) for q in run_ids))
        finally:
            if bar is not None:
                bar.close()
    wall = time.perf_counter() - t0
    return _report(rs, cascade, outcomes, configured, verifier, run_ids, skipped, wall)


def run_benchmark(
    cascade_or_config: Any,
    replay_set: ReplaySet | str | os.PathLike[str],
    *,
    ids: Sequence[str] | None = None,
    max_concurrency: int = 64,
    progress: bool | None = None,
) -> BenchReport:
    """Run a configuration over a replay set through the real engine and report quality and cost.

    Args:
        cascade_or_config: a ``Cascade``, a YAML config path, a config mapping, or a list of tiers.
            Model names are resolved against the set (``"replay/<m>"``, ``"<m>"`` or ``"<provider>/<m>"``).
        replay_set: a ``ReplaySet`` or the path of a replay folder.
        ids: only these query ids (default: all).
        max_concurrency: requests in flight at once.
        progress: progress bar; None = only on a TTY outside CI.
    """
    coro = arun_benchmark(
        cascade_or_config, replay_set, ids=ids, max_concurrency=max_concurrency, progress=progress
    )
    return run_coroutine(coro)  # also inside a running loop (Jupyter)


def _describe(cascade: Cascade) -> str:
    parts = []
    for t in cascade.tiers:
        models = " + ".join(replay_model(s) or s.model for s in t.specs)
        v = (
            ""
            if t is cascade.tiers[-1] and t.validator is None
            else f" {t.validator!r}"
            if t.validator
            else ""
        )
        parts.append(f"{t.name} [{models}]{v}")
    return " -> ".join(parts)


def _tier_stats(cascade: Cascade, outcomes: Sequence[QueryOutcome]) -> tuple[TierStats, ...]:
    n = len(outcomes) or 1
    stats = []
    for t in cascade.tiers:
        name = t.name or ""
        reached = sum(1 for o in outcomes if name in o.tiers_called)
        answered = sum(1 for o in outcomes if o.tier == name)
        stats.append(
            TierStats(
                name,
                tuple(replay_model(s) or s.model for s in t.specs),
                reached / n,
                answered / n,
                (reached - answered) / reached if reached else 0.0,
            )
        )
    return tuple(stats)


def _report(
    rs: ReplaySet,
    cascade: Cascade,
    outcomes: Sequence[QueryOutcome],
    configured: tuple[str, ...],
    verifier: str,
    ids: Sequence[str],
    skipped: tuple[str, ...],
    wall: float,
) -> BenchReport:
    n = len(outcomes)
    others = [m for m in rs.models if m not in configured]
    singles = model_stats(rs, [*configured, *others], ids)
    vstats = next(s for s in singles if s.model == verifier)
    return BenchReport(
        set_name=rs.name,
        config=_describe(cascade),
        n=n,
        quality=sum(o.correct for o in outcomes) / n,
        cost=sum(o.cost for o in outcomes),
        verifier=verifier,
        verifier_quality=vstats.quality,
        verifier_cost=vstats.cost,
        tiers=_tier_stats(cascade, outcomes),
        models=tuple(singles),
        configured=configured,
        oracle=oracle_stats(rs, configured, ids, "oracle (configured models)"),
        oracle_all=oracle_stats(rs, rs.models, ids, f"oracle (all {len(rs.models)} models)"),
        wall_s=wall,
        outcomes=tuple(outcomes),
        skipped=skipped,
    )


def _row(label: str, quality: float, cost: float, ref: float) -> str:
    ratio = f"{100 * cost / ref:6.1f}%" if ref > 0 else "     -"
    return f"  {label[:42]:<42} {quality:7.3f}  {cost:11.6f}  {ratio}"


def _format(r: BenchReport, all_models: bool) -> str:
    lines = [
        f"CascadeFlow bench: {r.set_name}, {r.n} queries"
        + (f" ({len(r.skipped)} skipped: a configured model has no recorded answer)" if r.skipped else ""),
        f"config: {r.config}",
        "",
        f"  {'':<42} {'quality':>7}  {'cost ($)':>11}  {'vs verifier':>7}",
        _row("cascade", r.quality, r.cost, r.verifier_cost),
        _row(f"verifier alone ({r.verifier})", r.verifier_quality, r.verifier_cost, r.verifier_cost),
        _row(r.oracle.model, r.oracle.quality, r.oracle.cost, r.verifier_cost),
        _row(r.oracle_all.model, r.oracle_all.quality, r.oracle_all.cost, r.verifier_cost),
        "",
        f"  quality {r.quality_delta_points:+.1f} points vs the verifier; cost {100 * r.cost_ratio:.1f}% of it "
        f"(savings {100 * r.savings:.1f}%)",
        "",
        "  tiers:",
    ]
    for t in r.tiers:
        lines.append(
            f"    {t.name:<12} reached {100 * t.reached:5.1f}%  answered {100 * t.answered:5.1f}%  "
            f"escalated {100 * t.escalation_rate:5.1f}% of those reached  [{', '.join(t.models)}]"
        )
    shown = r.models if all_models else [m for m in r.models if m.model in r.configured]
    ci = r.intervals()
    if ci:
        conf = 100 * ci["confidence"][0]
        lines.insert(
            lines.index("  tiers:") - 1,
            f"  {conf:g}% bootstrap intervals: quality [{ci['quality'][0]:.3f}, {ci['quality'][1]:.3f}], "
            f"Δ [{ci['delta_points'][0]:+.1f}, {ci['delta_points'][1]:+.1f}] points, savings "
            f"[{100 * ci['savings'][0]:.1f}%, {100 * ci['savings'][1]:.1f}%]",
        )
    lines += _category_lines(r)
    lines += [
        "",
        "  single models" + ("" if all_models else " (configured; --all-models for every model)") + ":",
    ]
    lines += [_row(m.model, m.quality, m.cost, r.verifier_cost) for m in shown]
    rate = r.n / r.wall_s if r.wall_s > 0 else 0.0
    lines += ["", f"  wall time {r.wall_s:.2f} s ({rate:.0f} queries/s through the engine)"]
    return "\n".join(lines)


def _category_lines(r: BenchReport, top: int = 15) -> list[str]:
    cats = r.categories()
    if not cats:
        return []
    lines = ["", f"  per category ({len(cats)}; the {min(top, len(cats))} largest shown; all in --json):"]
    for name, c in list(cats.items())[:top]:
        lines.append(
            f"    {name[:30]:<30} n={c['n']:<4} quality {c['quality']:.3f} (verifier {c['verifier_quality']:.3f}, "
            f"{c['delta_points']:+.1f} pts)  cost {100 * c['cost_ratio']:.1f}%"
        )
    return lines


def load_report(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a report written with ``to_json`` (plain dict)."""
    return dict(json.loads(Path(path).read_text(encoding="utf-8")))
