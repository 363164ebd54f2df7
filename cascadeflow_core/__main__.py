"""Command line: ``cascadeflow bench``, ``demo`` and ``schema`` (also ``python -m cascadeflow_core``).

cascadeflow demo [--live] [-n N]
cascadeflow schema [--output cascadeflow.schema.json]      the JSON Schema of a configuration file
cascadeflow bench --data FOLDER [--config cfg.yaml | --drafters a,b --verifier c --validator agreement]
                  [--json] [--all-models] [--sweep] [--plot out.png]
                  [--calibrate --target-drop 0.5 --split 0.5 [--save cfg.yaml]]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._errors import CascadeError

__all__ = ["main"]

_RULES = ("agreement", "logprob", "agreement_or_logprob", "agreement_and_logprob", "rules")


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cascadeflow", description="Cost-aware LLM cascades: benchmark, demo, configuration schema."
    )
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bench", help="run a configuration over recorded outputs and report quality and cost")
    b.add_argument(
        "--data", required=True, help="replay folder (queries.jsonl, responses.jsonl.gz, models.json)"
    )
    b.add_argument("--config", help="YAML configuration (models as replay/<name> or the recorded names)")
    b.add_argument("--drafters", help="comma-separated recorded model names of the first tier")
    b.add_argument("--verifier", help="recorded model name of the last tier")
    b.add_argument(
        "--validator",
        choices=_RULES,
        help="how the drafters are judged (default: agreement for 2+ drafters, else rules)",
    )
    b.add_argument("--threshold", type=float, default=0.9, help="logprob confidence threshold (default 0.9)")
    b.add_argument("--json", action="store_true", help="print the report as JSON")
    b.add_argument("--outcomes", action="store_true", help="with --json: include per-query records")
    b.add_argument("--all-models", action="store_true", help="list every model of the set in the report")
    b.add_argument("--limit", type=int, help="only the first N queries")
    b.add_argument("--concurrency", type=int, default=64, help="requests in flight (default 64)")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.add_argument(
        "--sweep", action="store_true", help="also sweep thresholds / drafters: cost-quality frontier"
    )
    b.add_argument("--plot", help="write the cost-quality curve to this .png/.svg (implies --sweep)")
    b.add_argument("--calibrate", action="store_true", help="choose drafters and validator for a target")
    b.add_argument(
        "--target-drop", type=float, default=0.5, help="allowed quality loss vs the verifier, points"
    )
    b.add_argument(
        "--split", type=float, default=0.5, help="fraction fitted on (the rest reports); 1 = no split"
    )
    b.add_argument(
        "--safety", type=float, default=1.0, help="standard errors of margin when fitting (default 1)"
    )
    b.add_argument("--pool", help="comma-separated models allowed as drafters when calibrating or sweeping")
    b.add_argument("--max-drafters", type=int, default=2, help="largest drafter tier searched (1-3)")
    b.add_argument("--require", help="comma-separated drafters every calibrated configuration must use")
    b.add_argument("--also", action="append", default=[], help="another replay folder to report on")
    b.add_argument("--save", help="with --calibrate: write the chosen configuration as YAML")
    d = sub.add_parser("demo", help="the offline demo: GSM8K through a cascade over replayed real outputs")
    d.add_argument("--live", action="store_true", help="call real providers (needs OPENAI_API_KEY)")
    d.add_argument("-n", type=int, default=None, help="number of questions (default: all of the sample)")
    d.add_argument("--data", help="replay folder (default: the shipped GSM8K sample)")
    s = sub.add_parser(
        "schema", help="print the JSON Schema of a YAML configuration (for editors; docs/configuration.md)"
    )
    s.add_argument("--output", "-o", help="write it to this file instead of printing it")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cascadeflow`` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "bench":
            return _bench(args)
        if args.command == "schema":
            return _schema(args.output)
        from .replay._demo import run_demo

        return run_demo(live=args.live, n=args.n, data=args.data)
    except CascadeError as e:
        print(f"cascadeflow: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2


def _schema(output: str | None) -> int:
    from .config._config import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if output:
        Path(output).write_text(text, encoding="utf-8")
        print(f"JSON Schema written to {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _cascade(args: argparse.Namespace, rs: Any) -> Any:
    from .replay._bench import default_config
    from .replay._calibrate import Candidate

    if args.config:
        from ._cascade import Cascade

        return Cascade.from_config(args.config)
    drafters = _csv(args.drafters)
    if not drafters or args.validator is None and len(drafters) > 1:
        return default_config(rs, drafters or None, args.verifier)
    verifier = args.verifier or default_config(rs).tiers[-1].specs[0].model.split("/", 1)[1]
    rule = args.validator or "accept"
    rule = "accept" if rule == "rules" else rule
    threshold = args.threshold if "logprob" in rule else None
    from ._cascade import Cascade

    return Cascade(Candidate(tuple(drafters), verifier, rule, threshold).tiers(rs))


def _bench(args: argparse.Namespace) -> int:
    from .replay._bench import run_benchmark
    from .replay._provider import ReplaySet

    rs = ReplaySet.load(args.data)
    if args.limit:
        rs = rs.subset(rs.ids[: args.limit])
    progress = False if (args.no_progress or args.json) else None
    if args.calibrate:
        return _calibrate(args, rs, progress)
    cascade = _cascade(args, rs)
    report = run_benchmark(cascade, rs, max_concurrency=args.concurrency, progress=progress)
    out: dict[str, Any] = {"report": report.to_dict(args.outcomes)}
    if not args.json:
        print(report.table(args.all_models))
        print(_hint(cascade, rs, report), end="")
    if args.sweep or args.plot:
        sw = _sweep(args, rs, report)
        out["frontier"] = [_point(e) for e in sw.frontier]
        if not args.json:
            print("\n" + sw.table())
        if args.plot:
            from .replay._plot import plot_tradeoff

            path = plot_tradeoff(sw, args.plot, chosen=("benchmarked config", report.quality, report.cost))
            out["plot"] = str(path)
            if not args.json:
                print(f"\nplot written to {path}")
    if args.json:
        print(json.dumps(out if len(out) > 1 else out["report"], indent=2))
    return 0


def _hint(cascade: Any, rs: Any, report: Any) -> str:
    """Point at logprob-based validation when the drafters recorded logprobs the validator ignores."""
    from .validation._validators import needs_logprobs

    first = cascade.tiers[0]
    if len(cascade.tiers) < 2 or needs_logprobs(first.validator):
        return ""
    names = [m for m in report.configured if m != report.verifier]
    if not any(rs.answer(m, q).logprob is not None for m in names for q in rs.ids[:20] if rs.has(m, q)):
        return ""
    return (
        "\n  hint: the drafters recorded logprobs; for short answers (a letter, a fact) a confident draft is "
        "the better signal: try --validator agreement_or_logprob, or --calibrate\n"
    )


def _point(e: Any) -> dict[str, Any]:
    return {"config": e.candidate.label, "quality": e.quality, "cost": e.cost, "cost_ratio": e.cost_ratio}


def _sweep(args: argparse.Namespace, rs: Any, report: Any) -> Any:
    from .replay._plot import sweep

    drafters = _csv(args.drafters)
    rule = None if args.validator in (None, "rules") else args.validator
    if drafters and rule is not None and "logprob" in rule:
        return sweep(rs, report.verifier, drafters=drafters, rule=rule)
    return sweep(rs, report.verifier, pool=_csv(args.pool) or None, max_drafters=args.max_drafters)


def _calibrate(args: argparse.Namespace, rs: Any, progress: bool | None) -> int:
    from .replay._bench import default_config
    from .replay._calibrate import calibrate
    from .replay._provider import ReplaySet

    verifier = args.verifier or default_config(rs).tiers[-1].specs[0].model.split("/", 1)[1]
    also = [ReplaySet.load(p) for p in args.also]
    split = None if args.split >= 1 else args.split
    cal = calibrate(
        rs,
        verifier,
        target_drop=args.target_drop,
        split=split,
        pool=_csv(args.pool) or None,
        max_drafters=args.max_drafters,
        also=also,
        safety=args.safety,
        require=_csv(args.require),
        progress=progress,
    )
    if args.save:
        import yaml

        Path(args.save).write_text(yaml.safe_dump(cal.to_config(), sort_keys=False), encoding="utf-8")
    if args.json:
        reports = {
            "fit": cal.fit_report.to_dict(),
            "heldout": cal.heldout_report.to_dict() if cal.heldout_report else None,
            "also": [r.to_dict() for r in cal.extra_reports],
        }
        print(
            json.dumps(
                {
                    "chosen": cal.candidate.label,
                    "config": cal.to_config(),
                    "target_drop": cal.target_drop,
                    "target_quality": cal.target_quality,
                    "candidates": len(cal.evaluated),
                    **reports,
                },
                indent=2,
            )
        )
    else:
        print(cal.summary())
        print("\nengine run of the chosen configuration on the held-out split:\n")
        print((cal.heldout_report or cal.fit_report).table(args.all_models))
        if args.save:
            print(f"\nconfiguration written to {args.save}")
    if args.plot:
        from .replay._plot import plot_tradeoff, sweep

        sw = sweep(rs, verifier, pool=_csv(args.pool) or None, max_drafters=args.max_drafters)
        r = cal.heldout_report or cal.fit_report
        scaled_cost = r.cost_ratio * sw.verifier_cost  # the held-out ratio, on the sweep's cost scale
        plot_tradeoff(sw, args.plot, chosen=("calibrated (held-out)", r.quality, scaled_cost))
    return 0


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    sys.exit(main())
