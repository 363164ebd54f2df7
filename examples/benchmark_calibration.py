"""Benchmark a cascade on recorded real outputs, then calibrate one to a quality target: no API key, no cost.

Run: python examples/benchmark_calibration.py

Uses the GSM8K sample shipped in the package (49 questions, 8 models' real recorded answers with
correctness labels; see cascadeflow_core/replay/data/gsm8k_sample/PROVENANCE.md). The benchmark runs the real
engine through the replay provider and prints quality and cost against every single model and the
oracle. Calibration then searches drafters and validators for the cheapest configuration that keeps
gpt-4o's quality within the target, fitted on one half and reported on the other. Offline only: it
replays recordings, so there is no ``--live`` mode (``cascadeflow bench`` runs the same on your own data).
"""

from __future__ import annotations

import sys

import yaml

from cascadeflow_core import (
    AgreementValidator,
    Cascade,
    CascadeError,
    ReplaySet,
    Tier,
    calibrate,
    run_benchmark,
)

if "--live" in sys.argv:
    print(
        "This example replays recorded outputs and has no --live mode; run it without --live.",
        file=sys.stderr,
    )
    sys.exit(2)

VERIFIER = "gpt-4o-2024-08-06"


def main() -> int:
    rs = ReplaySet.load(ReplaySet.sample_path())
    cascade = [
        Tier(
            [rs.spec("gpt-4o-mini-2024-07-18"), rs.spec("gemma-2-9b-it")],
            AgreementValidator(),
            name="drafters",
        ),
        Tier([rs.spec(VERIFIER)], name="verifier"),
    ]
    try:
        report = run_benchmark(cascade, rs, progress=False)
    except CascadeError as e:  # ReplayError: a (model, query) pair that was never recorded, ConfigError ...
        print(f"benchmark failed: {type(e).__name__}: {e}")
        return 1
    print(report.table(all_models=True))
    print(
        f"\n=> {report.quality:.3f} quality at {report.cost_ratio:.1%} of gpt-4o's cost "
        f"({report.quality_delta_points:+.1f} points)\n"
    )

    # The former point estimate without a margin: the cheapest configuration that met the target on the
    # fit half (it overfits: see its held-out line) ...
    raw = calibrate(rs, VERIFIER, target_drop=1.0, split=0.5, safety=0, method="point")
    print("Point estimate, no margin (overfits the fit half; see held-out):\n" + raw.summary() + "\n")
    # ... against the default, a certificate at 90% confidence: 24 fit questions certify nothing cheaper,
    # and the summary says how many labelled examples would.
    safe = calibrate(rs, VERIFIER, target_drop=1.0, split=0.5)
    print("Risk-controlled (the default):\n" + safe.summary())
    print("\nchosen configuration, for Cascade.from_config:")
    print(yaml.safe_dump(safe.to_config(), sort_keys=False).rstrip())
    print("built:", Cascade.from_config(safe.to_config()))
    print(
        "\nOn 49 questions nothing cheaper than gpt-4o is certified; on larger samples the certificate "
        "tightens (docs/calibration.md)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
