"""Reading the books: exports (JSON, CSV, SQLite), reports, forecasts, anomalies, the LiteLLM callback."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3

import pytest

from cascadeflow_core import Budget, CostTracker, LedgerEntry, detect_anomalies, forecast_spend
from tests.support.tracker_stores import Clock

HOUR = 3600.0


@pytest.fixture
def books():
    clock = Clock()
    t = CostTracker(budgets=[Budget(0.05, "daily")], clock=clock)
    t.record("openai/gpt-4o-mini", cost=0.001, input_tokens=10, output_tokens=5, user="alice", tags=("chat",))
    t.record("openai/gpt-4o", cost=0.004, input_tokens=20, output_tokens=8, user="bob", plan="pro")
    return t


def test_json_csv_sqlite_exports_round_trip(books, tmp_path):
    data = json.loads(books.to_json(str(tmp_path / "l.json")))
    assert [d["user"] for d in data] == ["alice", "bob"] and data[0]["tags"] == ["chat"]
    assert LedgerEntry.from_dict(data[1]) == books.entries()[1]
    assert json.loads((tmp_path / "l.json").read_text()) == data
    rows = list(csv.DictReader(io.StringIO(books.to_csv(str(tmp_path / "l.csv")))))
    assert rows[1]["model"] == "openai/gpt-4o" and float(rows[1]["cost"]) == pytest.approx(0.004)
    assert rows[0]["time"].endswith("+00:00") and rows[0]["tags"] == "chat"
    db = str(tmp_path / "l.db")
    assert books.to_sqlite(db) == 2
    assert books.to_sqlite(db) == 0  # the same entries are not appended twice
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT SUM(cost), COUNT(*) FROM ledger").fetchone() == (pytest.approx(0.005), 2)


def test_report_text_and_html(books):
    text = books.report()
    assert "alice" in text and "openai/gpt-4o" in text and "$0.005000" in text
    assert "user:alice|d:" in text  # budget lines with forecasts
    html = books._repr_html_()
    assert "<table>" in html and "bob" in html
    assert books.totals("plan")["pro"]["cost"] == pytest.approx(0.004)
    assert list(books.totals("day")) == ["2026-09-21"]


def test_forecast_warns_when_the_projection_exceeds_the_budget():
    clock = Clock(1_790_035_200.0)  # 2026-09-22 00:00 UTC
    t = CostTracker(budgets=[Budget(1.0, "daily")], clock=clock)
    for _ in range(6):  # $0.06 an hour for the first six hours
        clock.advance(HOUR)
        t.record("m", cost=0.06, user="alice")
    [fc] = t.forecast(user="alice")
    assert fc.spent == pytest.approx(0.36) and fc.rate_per_hour == pytest.approx(0.06)
    assert fc.projected == pytest.approx(0.36 + 0.06 * 18) and fc.exceeds
    assert "WARNING" in fc.describe()
    spent, rate, projected = forecast_spend(
        t.entries(), clock() - 6 * HOUR, clock() + 18 * HOUR, clock(), lookback_s=2 * HOUR
    )
    assert (spent, rate * HOUR, projected) == (pytest.approx(0.36), pytest.approx(0.06), pytest.approx(1.44))
    from cascadeflow_core import Plan, Request

    adm = t.admit(Request("hi", user="alice"), Plan(()), 0.001)  # 36 % spent, but on course for 144 %
    assert adm.decision == "warn" and "forecast" in adm.message


def test_forecast_for_a_user_lists_only_their_plan_budgets_and_ignores_entries_after_now():
    clock = Clock(1_790_035_200.0)
    t = CostTracker(
        budgets=[Budget(0.10, "daily", plan="free"), Budget(1.0, "daily", plan="pro")], clock=clock
    )
    clock.advance(HOUR)
    t.record("m", cost=0.02, user="carol", plan="pro")
    t.record("m", cost=0.01, user="dave", plan="free")
    [fc] = t.forecast(user="carol")
    assert fc.limit == pytest.approx(1.0) and fc.spent == pytest.approx(0.02)
    clock.t -= 0.5 * HOUR  # a test clock moved back: later entries are not "spent yet"
    assert t.forecast(user="carol") == []


def test_anomaly_when_a_user_spends_far_above_their_baseline():
    clock = Clock()
    t = CostTracker(clock=clock)
    for _ in range(10):
        t.record("m", cost=0.01, user="steady")
        t.record("m", cost=0.01, user="spiky")
        clock.advance(HOUR)
    for _ in range(8):
        t.record("m", cost=0.01, user="spiky")
    t.record("m", cost=0.01, user="steady")
    t.record("new", cost=5.0, user="newcomer")  # no history: not judged
    found = t.anomalies(by="user")
    assert [a.key for a in found] == ["spiky"] and found[0].ratio == pytest.approx(8.0)
    [model] = detect_anomalies(t.entries(), by="model", now=clock())  # "m": $0.02/h -> $0.09/h
    assert model.key == "m" and model.ratio == pytest.approx(4.5)


def test_litellm_callback_books_calls_made_outside_the_cascade():
    from cascadeflow_core.providers._litellm import litellm_module

    litellm = litellm_module()
    t = CostTracker()
    cb = t.litellm_callback().register()
    try:
        litellm.completion(
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            mock_response="hello",
            user="carol",
            metadata={"tags": ["direct"]},
        )

        async def go():
            await litellm.acompletion(
                model="openai/gpt-4o-mini",
                messages=[{"role": "user", "content": "hi"}],
                mock_response="hello",
                metadata={"user": "dave"},
            )
            for _ in range(1000):  # LiteLLM delivers callbacks from background threads: wait up to 20 s
                if len([e for e in t.entries() if e.user in ("carol", "dave")]) >= 2:
                    break
                await asyncio.sleep(0.02)

        asyncio.run(go())
        with pytest.raises(Exception):  # noqa: B017 - litellm's own error type
            litellm.completion(
                model="openai/gpt-4o-mini",
                messages=[{"role": "user", "content": "hi"}],
                mock_response="litellm.RateLimitError",
                user="erin",
            )
        for _ in range(1000):
            if len([e for e in t.entries() if e.user in ("carol", "dave", "erin")]) >= 3:
                break
            asyncio.run(asyncio.sleep(0.02))
    finally:
        cb.unregister()
    # The callback is process-wide: it also (rightly) books late-delivered calls of earlier tests in this
    # worker, so look only at this test's users.
    mine = [e for e in t.entries() if e.user in {"carol", "dave", "erin"}]
    by_user = {e.user: e for e in mine}
    assert len(mine) == 3 and set(by_user) == {"carol", "dave", "erin"}
    carol = by_user["carol"]
    assert (
        carol.cost > 0 and carol.source == "litellm" and carol.tags == ("direct",) and carol.input_tokens > 0
    )
    assert by_user["erin"].status == "error" and by_user["erin"].cost == 0.0


def test_litellm_callback_skips_the_cascades_own_calls():
    from cascadeflow_core import Cascade, ModelSpec
    from cascadeflow_core.providers._litellm import litellm_module

    litellm = litellm_module()
    t = CostTracker()
    other = CostTracker()  # a second tracker's callback must not shadow this one
    cbs = [other.litellm_callback().register(), t.litellm_callback().register()]
    try:
        r = t.track(ModelSpec("openai/gpt-4o-mini", params={"mock_response": "hi"})).complete("x", user="u")
        litellm.completion(
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "x"}],
            mock_response="direct",
            user="u",
        )
        for _ in range(1000):  # background callback delivery: up to 20 s on a loaded machine
            if len([e for e in t.entries() if e.user == "u"]) >= 2 and any(
                e.user == "u" for e in other.entries()
            ):
                break
            asyncio.run(asyncio.sleep(0.02))
        asyncio.run(asyncio.sleep(0.1))
    finally:
        for cb in cbs:
            cb.unregister()
    assert cbs[0] not in litellm.success_callback and cbs[1] not in litellm.callbacks
    sources = sorted(e.source for e in t.entries() if e.user == "u")
    assert sources == ["cascade", "litellm"]  # the cascade's call is booked once, by the cascade
    assert isinstance(t.track("openai/gpt-4o-mini"), Cascade)
    assert len([e for e in other.entries() if e.user == "u"]) == 1
    assert t.spent(user="u") == pytest.approx(r.cost * 2)
