"""Threshold sweep and the cost-quality curve.

``sweep`` scores many configurations on a replay set with the fast evaluator of ``_calibrate`` (which
mirrors the engine's validators) and returns their points and the Pareto frontier; ``plot_tradeoff``
draws them with matplotlib (Agg backend, imported lazily), the single models and the oracle marked.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from ._calibrate import Candidate, Evaluated, RecordedMatrix, candidates, evaluate
from ._provider import ReplaySet

__all__ = ["Sweep", "frontier", "plot_tradeoff", "sweep"]


@dataclass(frozen=True)
class Sweep:
    """Points of a sweep: every configuration, its Pareto frontier, single models and the oracles."""

    set_name: str
    verifier: str
    points: tuple[Evaluated, ...]
    frontier: tuple[Evaluated, ...]
    singles: tuple[tuple[str, float, float], ...]
    oracle: tuple[float, float]
    oracle_all: tuple[float, float]
    verifier_cost: float

    def table(self, limit: int = 25) -> str:
        lines = [
            f"cost-quality frontier on {self.set_name} ({len(self.points)} configurations, fast evaluator; "
            f"cost relative to {self.verifier} alone)",
            f"  {'quality':>7}  {'cost':>7}  configuration",
        ]
        step = max(1, len(self.frontier) // limit)
        for e in self.frontier[::step]:
            lines.append(f"  {e.quality:7.3f}  {100 * e.cost_ratio:6.1f}%  {e.candidate.label}")
        return "\n".join(lines)


def frontier(points: Sequence[Evaluated]) -> list[Evaluated]:
    """Configurations no other beats on both cost and quality, cheapest first."""
    out: list[Evaluated] = []
    for e in sorted(points, key=lambda e: (e.cost, -e.quality)):
        if not out or e.quality > out[-1].quality + 1e-12:
            out.append(e)
    return out


def sweep(
    rs: ReplaySet,
    verifier: str,
    *,
    drafters: Sequence[str] | None = None,
    rule: str | None = None,
    thresholds: Sequence[float] | None = None,
    pool: Sequence[str] | None = None,
    max_drafters: int = 2,
) -> Sweep:
    """Score configurations on ``rs``: with ``drafters`` and ``rule`` a threshold sweep of that
    configuration, else the whole calibration search space over ``pool``."""
    from ._bench import model_stats, oracle_stats

    if drafters:
        models = [verifier, *drafters]
        mx = RecordedMatrix(rs, models)
        if rule in (None, "agreement", "accept"):
            cands = [
                Candidate(tuple(drafters), verifier, rule or ("agreement" if len(drafters) > 1 else "accept"))
            ]
        else:
            ts = thresholds or [i / 100 for i in range(50, 100)] + [0.995, 0.999, 0.9995]
            cands = [Candidate(tuple(drafters), verifier, rule, t) for t in ts]
        cands.append(Candidate((), verifier, "verifier", gate=False))
    else:
        names = [m for m in (pool or rs.models) if m != verifier]
        mx = RecordedMatrix(rs, [verifier, *names])
        vcost = sum(mx.cost[verifier])
        cheaper = [m for m in names if sum(mx.cost[m]) < vcost]
        cands = candidates(mx, verifier, cheaper, max_drafters, thresholds)
    points = [evaluate(mx, c) for c in cands]
    singles = tuple((s.model, s.quality, s.cost) for s in model_stats(rs, mx.models, mx.ids))
    o = oracle_stats(rs, mx.models, mx.ids)
    oa = oracle_stats(rs, rs.models, mx.ids)
    return Sweep(
        rs.name,
        verifier,
        tuple(points),
        tuple(frontier(points)),
        singles,
        (o.quality, o.cost),
        (oa.quality, oa.cost),
        sum(mx.cost[verifier]),
    )


def pyplot_for(path: Any) -> tuple[Path, Any]:
    """The output path, checked (``.png`` / ``.svg`` / ``.pdf``), and matplotlib's pyplot on the Agg backend."""
    out = Path(path)
    if out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ConfigError("plot", f"unsupported file type {out.suffix!r}", "use a .png or .svg path")
    try:
        import matplotlib
    except ImportError as e:
        raise ConfigError("plot", "matplotlib is not installed", 'pip install "cascadeflow-core[all]"') from e
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return out, plt


def plot_tradeoff(
    sw: Sweep,
    path: str | os.PathLike[str],
    *,
    chosen: tuple[str, float, float] | None = None,
    title: str | None = None,
) -> Path:
    """Draw the cost-quality curve to ``path`` (``.png`` or ``.svg``); return the path."""
    out, plt = pyplot_for(path)

    ref = sw.verifier_cost or 1.0
    fig, ax = plt.subplots(figsize=(8, 5.5))
    ax.scatter(
        [100 * p.cost / ref for p in sw.points],
        [p.quality for p in sw.points],
        s=6,
        alpha=0.25,
        color="tab:gray",
        label=f"configurations ({len(sw.points)})",
    )
    ax.plot(
        [100 * p.cost / ref for p in sw.frontier],
        [p.quality for p in sw.frontier],
        "-o",
        ms=3,
        color="tab:blue",
        label="frontier (cascades)",
    )
    for name, q, c in sw.singles:
        ax.scatter([100 * c / ref], [q], marker="s", s=30, color="tab:orange")
        ax.annotate(name, (100 * c / ref, q), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.scatter(
        [100 * sw.oracle[1] / ref],
        [sw.oracle[0]],
        marker="*",
        s=140,
        color="tab:green",
        label="oracle (configured models)",
    )
    ax.scatter(
        [100 * sw.oracle_all[1] / ref],
        [sw.oracle_all[0]],
        marker="*",
        s=140,
        color="tab:olive",
        label="oracle (all models)",
    )
    if chosen is not None:
        ax.scatter([100 * chosen[2] / ref], [chosen[1]], marker="D", s=60, color="tab:red", label=chosen[0])
    ax.axhline([q for n, q, _ in sw.singles if n == sw.verifier][0], ls=":", color="tab:red", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel(f"cost, % of {sw.verifier} alone")
    ax.set_ylabel("quality (fraction correct)")
    ax.set_title(title or f"{sw.set_name}: cost vs quality")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
