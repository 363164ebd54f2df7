"""Observe mode over recorded outputs, exported, read back as a replay set by ``cascadeflow bench``."""

from __future__ import annotations

import json

import pytest

from cascadeflow_core import (
    AgreementValidator,
    AllOf,
    Cascade,
    CascadeOptions,
    CostTracker,
    InputError,
    ReplaySet,
    RuleValidator,
    Tier,
    observed_replay_set,
    register_replay,
    run_benchmark,
)
from cascadeflow_core.__main__ import main
from tests.support.replay_sets import SAMPLE

D1, D2, V = "gpt-4o-mini-2024-07-18", "gemma-2-9b-it", "gpt-4o-2024-08-06"


def _observed(tmp_path):  # type: ignore[no-untyped-def]
    rs = ReplaySet.load(SAMPLE)
    validator = AllOf(RuleValidator(("empty", "truncated")), AgreementValidator())
    tiers = [
        Tier([rs.spec(D1), rs.spec(D2)], validator, name="drafters"),
        Tier([rs.spec(V)], name="verifier"),
    ]
    tracker = CostTracker()
    cascade = Cascade(tiers, tracker=tracker, options=CascadeOptions(mode="observe"))
    with register_replay(rs):
        answers = [cascade.complete(list(rs.query(q).messages), replay_id=q) for q in rs.ids]
        assert cascade.flush_audits(30.0)
    assert {a.model for a in answers} == {f"replay/{V}"}  # the user always got the verifier's answer
    path = tmp_path / "audit.jsonl"
    tracker.audit_export(str(path))
    return rs, tiers, tracker, path


def test_observe_records_become_a_replay_set_the_bench_reads(tmp_path, capsys):
    rs, tiers, tracker, path = _observed(tmp_path)
    records = tracker.audit_log.records()
    assert len(records) == len(rs) and all(r.kind == "observe" for r in records)
    obs = observed_replay_set(str(path), tmp_path / "observed")
    assert len(obs) == len(rs) and set(obs.models) == {D1, D2, V}
    # Benchmarking the same configuration on what was observed reproduces what observe mode recorded.
    verifier = V
    report = run_benchmark(
        Cascade([Tier([obs.spec(D1), obs.spec(D2)], tiers[0].validator), Tier([obs.spec(verifier)])]),
        obs,
        progress=False,
    )
    lost = sum(1 for r in records if r.loss == 1)
    assert report.quality == pytest.approx(1 - lost / len(records))
    assert report.verifier_quality == 1.0  # label-free: the verifier is the reference
    would_be = sum(r.cascade_cost or 0.0 for r in records)
    assert report.cost == pytest.approx(would_be, rel=1e-6)
    # and from the command line, by the export's path
    assert (
        main(["bench", "--data", str(path), "--drafters", f"{D1},{D2}", "--verifier", verifier, "--json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["quality"] == pytest.approx(report.quality)


def test_an_export_without_observe_records_is_an_input_error(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="observe"):
        observed_replay_set(str(path))


def test_observe_records_refresh_a_calibration_certificate(tmp_path):
    from cascadeflow_core import refresh_certificate

    rs, tiers, tracker, path = _observed(tmp_path)
    records = tracker.audit_log.records()
    cert = refresh_certificate(records, target_drop=50.0)
    lost = sum(1 for r in records if r.loss == 1)
    assert cert.n == len(records) and cert.losses == lost and cert.certified
