"""The command line a data scientist expects: no silent flags, certified calibration, held-out bench."""

from __future__ import annotations

import json

import pytest
import yaml

from cascadeflow_core.__main__ import main
from tests.support.replay_sets import mcq_set, query, write_replay

pytest.importorskip("numpy")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (
            ["--drafters", "small", "--verifier", "big", "--validator", "rules", "--threshold", "0.5"],
            "--threshold",
        ),
        (["--save", "x.yaml"], "--save"),
        (["--target-drop", "2"], "--target-drop"),
        (["--split", "0.5"], "--split"),
        (["--calibrate", "--drafters", "small"], "--drafters"),
        (["--calibrate", "--split", "1.5"], "--split"),
        (["--drafters", "small", "--verifier", "big", "--validator", "agreement"], "needs 2+ --drafters"),
        (["--max-drafters", "3"], "--max-drafters"),
        (["--calibrate", "--max-drafters", "4"], "--max-drafters"),
        (["--delta", "0.2"], "--delta"),
    ],
)
def test_flags_that_do_nothing_are_errors(tmp_path, capsys, argv, needle):
    folder = mcq_set(tmp_path / "mcq")
    assert main(["bench", "--data", str(folder), "--no-progress", *argv]) == 2
    err = capsys.readouterr().err
    assert "ConfigError" in err and needle in err


def _skewed_set(folder):
    """The most expensive model is not the most accurate one."""
    queries, answers = [], []
    for i in range(30):
        queries.append(query(f"q{i}", f"Q{i}?", {"answer_letter": "A"}, "mcq"))
        answers += [
            {
                "id": f"q{i}",
                "model": "cheap",
                "text": "A" if i % 3 else "B",
                "correct": int(i % 3 > 0),
                "cost_usd": 1e-4,
            },
            {
                "id": f"q{i}",
                "model": "pricey",
                "text": "A" if i % 2 else "C",
                "correct": int(i % 2),
                "cost_usd": 1e-2,
            },
            {"id": f"q{i}", "model": "best", "text": "A", "correct": 1, "cost_usd": 1e-3},
        ]
    return write_replay(folder, queries, answers)


def test_default_verifier_is_the_most_accurate_model(tmp_path, capsys):
    folder = _skewed_set(tmp_path / "skewed")
    assert main(["bench", "--data", str(folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verifier"] == "best"
    assert main(["bench", "--data", str(folder), "--calibrate", "--json", "--target-drop", "20"]) == 0
    assert json.loads(capsys.readouterr().out)["provenance"]["verifier"] == "best"


def test_calibrate_json_carries_certificate_intervals_and_heldout_verdict(tmp_path, capsys):
    folder = mcq_set(tmp_path / "mcq")
    cfg = tmp_path / "cal.yaml"
    argv = ["bench", "--data", str(folder), "--calibrate", "--verifier", "big", "--target-drop", "15"]
    assert (
        main([*argv, "--split", "0.5", "--seed", "2", "--json", "--save", str(cfg), "--min-savings", "0.1"])
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["certificate"]["confidence"] == pytest.approx(0.9)
    assert [p["target_points"] for p in data["certificate"]["frontier"]] == [0.5, 1.0, 2.0, 3.0]
    assert data["heldout_target_met"] in (True, False) and isinstance(data["certified"], bool)
    assert set(data["heldout"]["intervals"]) >= {"quality", "delta_points", "savings"}
    saved = yaml.safe_load(cfg.read_text())
    prov = saved["calibration"]
    assert prov["split"] == 0.5 and prov["seed"] == 2 and prov["delta"] == 0.1 and prov["n_heldout"] == 20
    # bench exactly the held-out part, from the saved record or from the flags
    assert main(["bench", "--data", str(folder), "--config", str(cfg), "--heldout", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == prov["n_heldout"]
    assert report["quality"] == pytest.approx(prov["heldout"]["quality"])
    assert (
        main(
            [
                "bench",
                "--data",
                str(folder),
                "--config",
                str(cfg),
                "--heldout",
                "--split",
                "0.5",
                "--seed",
                "2",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["cost"] == pytest.approx(report["cost"])


def test_calibrate_text_report_says_what_is_certified(tmp_path, capsys):
    folder = mcq_set(tmp_path / "mcq")
    assert main(["bench", "--data", str(folder), "--calibrate", "--verifier", "big", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "NOT certified" in out and "certified frontier" in out and "bootstrap intervals" in out
    assert "target (0.5 points)" in out
