"""Command line: ``cascadeflow bench``, ``demo`` and ``schema`` (also ``python -m cascadeflow_core``).

cascadeflow demo [--live] [-n N]
cascadeflow schema [--output cascadeflow.schema.json]      the JSON Schema of a configuration file
cascadeflow bench --data FOLDER [--config cfg.yaml | --drafters a,b --verifier c --validator agreement]
                  [--json] [--all-models] [--sweep] [--plot out.png] [--heldout [--split 0.5 --seed 0]]
                  [--calibrate --target-drop 2 --split 0.5 --seed 0 --delta 0.1 [--loss signed]
                   [--label-free] [--min-savings 0.2] [--save cfg.yaml]]

A flag that does nothing in the chosen mode is an error, not silence.
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
        "--data",
        required=True,
        help="replay folder (queries.jsonl, responses.jsonl.gz, models.json), or an observe-mode "
        "audit export (.jsonl, tracker.audit_export)",
    )
    b.add_argument("--config", help="YAML configuration (models as replay/<name> or the recorded names)")
    b.add_argument("--drafters", help="comma-separated recorded model names of the first tier")
    b.add_argument("--verifier", help="recorded model name of the last tier")
    b.add_argument(
        "--validator",
        choices=_RULES,
        help="how the drafters are judged (default: agreement for 2+ drafters, else rules)",
    )
    b.add_argument(
        "--threshold", type=float, help="logprob confidence threshold of a logprob validator (default 0.9)"
    )
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
    _calibrate_flags(b)
    b.add_argument("--pool", help="comma-separated models allowed as drafters when calibrating or sweeping")
    b.add_argument("--max-drafters", type=int, help="largest drafter tier searched (1-3, default 2)")
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


def _calibrate_flags(b: argparse.ArgumentParser) -> None:
    """The flags of ``bench --calibrate`` (and of ``--heldout``)."""
    b.add_argument("--calibrate", action="store_true", help="choose drafters and validator for a target")
    b.add_argument(
        "--target-drop",
        type=float,
        help="with --calibrate: allowed loss vs the verifier, points (default 0.5)",
    )
    b.add_argument(
        "--split",
        type=float,
        help="with --calibrate: fraction fitted on, the rest reports (default 0.5; 1 = no split); "
        "with --heldout: the calibration's split",
    )
    b.add_argument("--seed", type=int, help="seed of the split (default 0)")
    b.add_argument(
        "--heldout",
        action="store_true",
        help="bench only the held-out part of a calibration (split/seed from --split/--seed or the "
        "config's calibration record)",
    )
    b.add_argument("--delta", type=float, help="with --calibrate: 1 - confidence of the certificate (0.1)")
    b.add_argument(
        "--loss",
        choices=("one_sided", "signed"),
        help="with --calibrate: one_sided (default; a wrong accepted draft where the verifier is right) "
        "or signed (wins offset losses; weaker under a shift)",
    )
    b.add_argument(
        "--label-free",
        action="store_true",
        help="with --calibrate: certify agreement with the verifier's answers (no correctness labels)",
    )
    b.add_argument("--no-scorer", action="store_true", help="with --calibrate: no learned acceptance scorer")
    b.add_argument(
        "--min-savings", type=float, help="with --calibrate: keep the verifier unless this fraction is saved"
    )
    b.add_argument(
        "--method",
        choices=("risk", "point"),
        help="with --calibrate: risk (certified, default) or point (the former point estimate)",
    )
    b.add_argument(
        "--safety", type=float, help="with --calibrate --method point: standard errors of margin (default 1)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cascadeflow`` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "bench":
            _check_flags(args)
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


_CALIBRATE_ONLY = (
    "target_drop",
    "delta",
    "loss",
    "min_savings",
    "method",
    "safety",
    "save",
    "require",
)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _check_flags(args: argparse.Namespace) -> None:
    """A flag that does nothing in the chosen mode is an error (``ConfigError``)."""
    from ._errors import ConfigError

    if not args.calibrate:
        for name in (*_CALIBRATE_ONLY, "label_free", "no_scorer"):
            if getattr(args, name) not in (None, False):
                raise ConfigError(_flag(name), "only applies with --calibrate", "add --calibrate or drop it")
        if (args.split is not None or args.seed is not None) and not args.heldout:
            raise ConfigError("--split", "only applies with --calibrate or --heldout", "add one or drop it")
    else:
        for name in ("drafters", "config", "validator", "threshold", "heldout", "sweep"):
            if getattr(args, name) not in (None, False):
                fix = "use --pool / --require to constrain the drafters" if name == "drafters" else "drop it"
                raise ConfigError(_flag(name), "does not apply with --calibrate (it searches them)", fix)
    _check_values(args)
    if args.config:
        for name in ("drafters", "verifier", "validator", "threshold"):
            if getattr(args, name) is not None:
                raise ConfigError(
                    _flag(name), "does not apply with --config (the file names the tiers)", "drop it"
                )
    rule = args.validator or ""
    if args.threshold is not None and "logprob" not in rule:
        raise ConfigError("--threshold", "applies only to a logprob validator", "add --validator logprob")
    if rule.startswith("agreement") and len(_csv(args.drafters)) < 2:
        raise ConfigError("--validator", f"{rule} needs 2+ --drafters", "name two drafters, or use logprob")
    searching = args.calibrate or args.sweep or args.plot
    for name in ("max_drafters", "pool"):
        if getattr(args, name) is not None and not searching:
            raise ConfigError(_flag(name), "only applies with --calibrate or --sweep", "drop it")
    if args.also and not args.calibrate:
        raise ConfigError("--also", "only applies with --calibrate", "add --calibrate or drop it")


def _check_values(args: argparse.Namespace) -> None:
    from ._errors import ConfigError

    if args.split is not None and not 0.0 < args.split <= 1.0:
        raise ConfigError("--split", f"must be in (0, 1], got {args.split}", "e.g. 0.5 (1 = no split)")
    if args.max_drafters is not None and not 1 <= args.max_drafters <= 3:
        raise ConfigError("--max-drafters", f"must be 1, 2 or 3, got {args.max_drafters}")
    if args.min_savings is not None and not 0.0 <= args.min_savings < 1.0:
        raise ConfigError("--min-savings", f"must be in [0, 1), got {args.min_savings}", "e.g. 0.2 = 20%")
    if args.delta is not None and not 0.0 < args.delta < 1.0:
        raise ConfigError("--delta", f"must be in (0, 1), got {args.delta}", "e.g. 0.1 for 90% confidence")


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
    threshold = (0.9 if args.threshold is None else args.threshold) if "logprob" in rule else None
    from ._cascade import Cascade

    return Cascade(Candidate(tuple(drafters), verifier, rule, threshold).tiers(rs))


def _bench(args: argparse.Namespace) -> int:
    from .replay._bench import run_benchmark
    from .replay._provider import ReplaySet

    if str(args.data).endswith(".jsonl") and os.path.isfile(args.data):  # an audit_export of observe mode
        from .replay._observed import observed_replay_set

        rs = observed_replay_set(args.data)
    else:
        rs = ReplaySet.load(args.data)
    if args.limit:
        rs = rs.subset(rs.ids[: args.limit])
    progress = False if (args.no_progress or args.json) else None
    if args.calibrate:
        return _calibrate(args, rs, progress)
    cascade = _cascade(args, rs)
    part = _heldout_part(args, rs) if args.heldout else rs
    report = run_benchmark(cascade, part, max_concurrency=args.concurrency, progress=progress)
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


def _heldout_part(args: argparse.Namespace, rs: Any) -> Any:
    """The held-out part of a calibration: --split/--seed, else the config's ``calibration`` record."""
    from ._errors import ConfigError

    record: dict[str, Any] = {}
    if args.config:
        import yaml

        record = (yaml.safe_load(Path(args.config).read_text(encoding="utf-8")) or {}).get(
            "calibration"
        ) or {}
    split = args.split if args.split is not None else record.get("split")
    seed = args.seed if args.seed is not None else record.get("seed", 0)
    if split is None or split >= 1:
        raise ConfigError(
            "--heldout", "no held-out part: the split is unknown or 1", "pass --split 0.5 --seed 0"
        )
    return rs.split(split, seed)[1]


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
    return sweep(rs, report.verifier, pool=_csv(args.pool) or None, max_drafters=args.max_drafters or 2)


def _calibrate(args: argparse.Namespace, rs: Any, progress: bool | None) -> int:
    from .replay._calibrate import best_verifier, calibrate
    from .replay._provider import ReplaySet

    split = 0.5 if args.split is None else args.split
    split = None if split >= 1 else split
    seed = args.seed or 0
    # The most accurate model on the part fitted on (never the held-out part), not the most expensive.
    verifier = args.verifier or best_verifier(rs.split(split, seed)[0] if split else rs)
    also = [ReplaySet.load(p) for p in args.also]
    cal = calibrate(
        rs,
        verifier,
        target_drop=0.5 if args.target_drop is None else args.target_drop,
        split=split,
        seed=seed,
        pool=_csv(args.pool) or None,
        max_drafters=args.max_drafters or 2,
        also=also,
        safety=1.0 if args.safety is None else args.safety,
        require=_csv(args.require),
        progress=progress,
        method=args.method or "risk",
        delta=0.1 if args.delta is None else args.delta,
        loss=args.loss or "one_sided",
        labels=not args.label_free,
        scorer=not args.no_scorer,
        min_savings=args.min_savings or 0.0,
    )
    if args.save:
        import yaml

        text = yaml.safe_dump(cal.to_saved_config(), sort_keys=False)
        Path(args.save).write_text(text, encoding="utf-8")
    if args.json:
        print(json.dumps(_calibration_json(cal), indent=2))
    else:
        print(cal.summary())
        print("\nengine run of the chosen configuration on the held-out split:\n")
        print((cal.heldout_report or cal.fit_report).table(args.all_models))
        if args.save:
            print(f"\nconfiguration written to {args.save} (with its provenance under calibration:)")
    if args.plot:
        from .replay._plot import plot_tradeoff, sweep

        sw = sweep(rs, verifier, pool=_csv(args.pool) or None, max_drafters=args.max_drafters or 2)
        r = cal.heldout_report or cal.fit_report
        scaled_cost = r.cost_ratio * sw.verifier_cost  # the held-out ratio, on the sweep's cost scale
        plot_tradeoff(sw, args.plot, chosen=("calibrated (held-out)", r.quality, scaled_cost))
    return 0


def _calibration_json(cal: Any) -> dict[str, Any]:
    return {
        "chosen": cal.candidate.label,
        "config": cal.to_config(),
        "target_drop": cal.target_drop,
        "target_quality": cal.target_quality,
        "certified": cal.certified,
        "heldout_target_met": cal.heldout_target_met,
        "certificate": None if cal.selection is None else cal.selection.to_dict(),
        "provenance": cal.provenance(),
        "candidates": len(cal.evaluated),
        "fit": cal.fit_report.to_dict(),
        "heldout": cal.heldout_report.to_dict() if cal.heldout_report else None,
        "also": [r.to_dict() for r in cal.extra_reports],
    }


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    sys.exit(main())
