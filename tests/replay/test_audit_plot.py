"""The audit estimate over time with its band, as points and as a figure."""

from __future__ import annotations

import pytest

from cascadeflow_core import Audit, AuditRecord, InputError, audit_history, plot_audit


def _records() -> list[AuditRecord]:
    # 100 good audits, then the drafter gets much worse
    return [
        AuditRecord(f"r{i}", float(i), f"r{i}", "t1", "m", "v", not (i >= 100 and i % 3 == 0))
        for i in range(200)
    ]


def test_history_has_one_point_per_audit_with_a_band_around_the_estimate():
    h = audit_history(_records(), "t1", Audit(window=50))
    assert [p["n"] for p in h] == list(range(1, 201))
    assert all(p["lower"] <= p["estimate"] <= p["upper"] for p in h)
    assert h[99]["estimate"] == 0.0 and h[-1]["window"] > h[-1]["estimate"] > 0.1
    with pytest.raises(InputError, match="no audit of tier"):
        audit_history(_records(), "t2")


def test_plot_writes_the_figure(tmp_path):
    pytest.importorskip("matplotlib")
    out = plot_audit(_records(), "t1", tmp_path / "audit.png", audit=Audit(target=0.1))
    assert out.exists() and out.stat().st_size > 10_000
    from cascadeflow_core import ConfigError

    with pytest.raises(ConfigError, match="file type"):
        plot_audit(_records(), "t1", tmp_path / "audit.txt")
