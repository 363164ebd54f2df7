"""The ``cascadeflow`` command line: bench (report, JSON, sweep, plot, calibrate) and the offline demo."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cascadeflow_core.__main__ import main
from tests.support.replay_sets import SAMPLE, mcq_set


def test_bench_default_config_prints_an_honest_report(capsys):
    assert main(["bench", "--data", str(SAMPLE), "--no-progress"]) == 0
    out = capsys.readouterr().out
    for needle in (
        "cascade",
        "verifier alone (gpt-4o-2024-08-06)",
        "oracle (configured models)",
        "oracle (all 8 models)",
        "escalated",
        "single models",
        "wall time",
        "savings",
    ):
        assert needle in out


def test_bench_json_is_machine_readable(capsys):
    assert (
        main(
            [
                "bench",
                "--data",
                str(SAMPLE),
                "--json",
                "--drafters",
                "gpt-4o-mini-2024-07-18",
                "--verifier",
                "gpt-4o-2024-08-06",
                "--validator",
                "rules",
                "--limit",
                "10",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["n"] == 10 and data["tiers"][0]["answered"] == 1.0
    assert 0 < data["cost_ratio"] < 1 and data["verifier"] == "gpt-4o-2024-08-06"


def test_bench_logprob_validator_sweep_and_plot_on_an_unseen_set(tmp_path, capsys):
    folder = mcq_set(tmp_path / "mcq")
    png = tmp_path / "curve.png"
    assert (
        main(
            [
                "bench",
                "--data",
                str(folder),
                "--drafters",
                "small",
                "--verifier",
                "big",
                "--validator",
                "logprob",
                "--threshold",
                "0.9",
                "--plot",
                str(png),
                "--no-progress",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "cost-quality frontier" in out and "logprob p>=" in out and png.read_bytes()[:4] == b"\x89PNG"
    assert "cascade                                      1.000" in out


def test_calibrate_saves_a_config_that_bench_can_run(tmp_path, capsys):
    folder = mcq_set(tmp_path / "mcq")
    cfg = tmp_path / "chosen.yaml"
    assert (
        main(
            [
                "bench",
                "--data",
                str(folder),
                "--calibrate",
                "--verifier",
                "big",
                "--target-drop",
                "0",
                "--split",
                "0.5",
                "--save",
                str(cfg),
                "--no-progress",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "calibrated:" in out and "held-out" in out and cfg.exists()
    assert main(["bench", "--data", str(folder), "--config", str(cfg), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 40


def test_errors_are_reported_not_raised(tmp_path, capsys):
    assert main(["bench", "--data", str(tmp_path / "missing")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert main(["bench", "--data", str(SAMPLE), "--drafters", "gpt-5", "--validator", "rules"]) == 2
    assert "nearest" in capsys.readouterr().err


def test_demo_offline_prints_tier_reason_and_totals(capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(["demo", "-n", "8"]) == 0
    out = capsys.readouterr().out
    assert "drafters agree on" in out and "quality:" in out and "savings" in out and "no API key" in out
    assert main(["demo", "--live"]) == 2
    assert "OPENAI_API_KEY" in capsys.readouterr().err


@pytest.mark.slow
def test_console_entry_runs_the_demo_as_a_module():
    done = subprocess.run(
        [sys.executable, "-m", "cascadeflow_core", "demo", "-n", "3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "answered by" in done.stdout
