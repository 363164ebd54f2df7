"""API keys never leak: sentinel keys go through a full run, and every output is scanned for them.

The run: a two-tier cascade over the local HTTP server, one model keyed through ``ModelSpec.api_key``,
one through ``OPENAI_API_KEY``, one through a config file's ``api_key_env``; accepted, escalated,
streamed, async, batched and failing requests (rate limits, resets, 5xx, exhausted). Scanned: every
log record (root at DEBUG, LiteLLM's loggers included) with its arguments and traceback, stdout and
stderr, the tracker's JSON / CSV / SQLite exports and report, OpenTelemetry spans and metrics, and the
repr / str / dict / HTML of every object a user can print. The keys must reach the server (so the run
is real) and nowhere else.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import traceback
from pathlib import Path
from typing import Any

import pytest

from cascadeflow_core import (
    Cascade,
    CascadeError,
    CascadeOptions,
    CostTracker,
    ModelSpec,
    RetryPolicy,
    Tier,
    Verdict,
)
from cascadeflow_core.testing import OpenAICompatServer

SPEC_KEY = "sk-SENTINEL-spec-5f2a9c7e1d"
ENV_KEY = "sk-SENTINEL-env-b81e4d0c33"
CFG_KEY = "sk-SENTINEL-cfg-0a9d7e66f2"
SENTINELS = (SPEC_KEY, ENV_KEY, CFG_KEY)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        parts = [record.getMessage(), repr(record.args), repr(record.__dict__)]
        if record.exc_info:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
        self.texts.append("\n".join(parts))


@pytest.fixture
def capture_logs() -> Any:
    handler = _Capture()
    names = ["", "cascadeflow", "LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx", "httpcore", "openai"]
    loggers = [logging.getLogger(n) for n in names]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    for lg in loggers[1:]:
        if not lg.propagate:
            lg.addHandler(handler)
    try:
        yield handler
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
        for lg, level in saved:
            lg.setLevel(level)


def _has_digit(drafts: Any, request: Any) -> Verdict:
    ok = any(c.isdigit() for c in drafts[0].text)
    return Verdict(ok, 0.9 if ok else 0.1, ("number" if ok else "no number",), validator="has_digit")


def _leaks(text: str) -> list[str]:
    found = [s for s in SENTINELS if s in text]
    # a key cut short (e.g. masked as "sk-SENTINEL-spec-5f2a****") must not appear either
    found += [s[:20] for s in SENTINELS if s[:20] in text and s not in found]
    return found


def test_sentinel_keys_never_appear_in_logs_traces_exports_or_reprs(
    capture_logs: _Capture, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from cascadeflow_core import OTelExporter

    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    monkeypatch.setenv("CF_TEST_SECRET_KEY", CFG_KEY)
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(spans))
    tracker = CostTracker()
    OTelExporter.instrument(tracker, tp, MeterProvider(metric_readers=[reader]))
    outputs: list[str] = []
    replies = {"small": ["4", "not sure", "4"], "big": "The answer is 4.", "cfg": "7"}
    with OpenAICompatServer(replies=replies, seed=5) as server:
        small = ModelSpec(
            "openai/small",
            api_base=server.base_url,
            api_key=SPEC_KEY,
            input_cost_per_token=1e-7,
            output_cost_per_token=4e-7,
            params={"timeout": 10},
        )
        big = ModelSpec(
            "openai/big",
            api_base=server.base_url,
            input_cost_per_token=3e-6,
            output_cost_per_token=1.2e-5,
            params={"timeout": 10},
        )
        cascade = Cascade(
            [Tier([small], validator=_has_digit), Tier([big])],
            tracker=tracker,
            options=CascadeOptions(retry=RetryPolicy(max_retries=1, backoff=0.0, max_retry_after=0.01)),
        )
        outputs += _run(cascade, server, outputs)
        cfg = tmp_path / "cascade.yaml"
        cfg.write_text(
            f"tiers:\n  - models:\n      - model: openai/cfg\n        api_base: {server.base_url}\n"
            "        api_key_env: CF_TEST_SECRET_KEY\n"
        )
        from_cfg = Cascade.from_config(str(cfg), tracker=tracker)
        res = from_cfg.complete("What is 3 + 4?")
        outputs += [repr(from_cfg), repr(from_cfg.tiers), str(res.to_dict()), cfg.read_text()]
        from cascadeflow_core import load_config

        outputs += [repr(load_config(str(cfg))), str(load_config(str(cfg)).to_dict())]
        sent = {r.headers.get("Authorization", "") for r in server.served}
    # the keys were really used: each reached the server, and only the server
    assert f"Bearer {SPEC_KEY}" in sent and f"Bearer {ENV_KEY}" in sent and f"Bearer {CFG_KEY}" in sent
    outputs += _exports(tracker, tmp_path)
    outputs += [s.to_json() for s in spans.get_finished_spans()]
    outputs.append(str(reader.get_metrics_data().to_json()))
    assert len(spans.get_finished_spans()) > 5
    outputs += capture_logs.texts
    out, err = capfd.readouterr()
    outputs += [out, err]
    leaks = {(i, tuple(_leaks(t))) for i, t in enumerate(outputs) if _leaks(t)}
    assert not leaks, [outputs[i][:400] for i, _ in leaks]
    assert sum(len(t) for t in capture_logs.texts) > 10_000  # the scan saw real DEBUG traffic
    assert _leaks(f"Bearer {SPEC_KEY[:22]}****")  # and would have caught a masked key


def _run(cascade: Cascade, server: OpenAICompatServer, outputs: list[str]) -> list[str]:
    out: list[str] = []
    results = [cascade.complete("What is 2 + 2?", user="alice") for _ in range(3)]  # accepted + escalated
    results.append(asyncio.run(cascade.acomplete("What is 2 + 2?", user="bob")))
    events = list(cascade.stream("What is 2 + 2?"))
    results.append(events[-1].result)
    out += [repr(e) for e in events]
    results += cascade.batch(["a 1", "b 2"], max_concurrency=2)
    server.fail_next("rate_limit", retry_after=0)
    server.fail_next("reset")
    results.append(cascade.complete("retry me"))
    for kind in ("server_error", "reset", "unavailable", "malformed"):
        server.fail_next(kind, 2)
    errors: list[CascadeError] = []
    for _ in range(2):
        try:
            cascade.complete("fail me")
        except CascadeError as e:
            errors.append(e)
    assert errors, "the failing requests must fail"
    for r in results:
        assert r is not None
        out += [
            repr(r),
            str(r),
            r.explain(),
            str(r.to_dict()),
            r._repr_html_(),
            repr(r.attempts),
            repr(r.draft),
        ]
    for e in errors:
        out += [repr(e), str(e), "".join(traceback.format_exception(e)), repr(getattr(e, "attempts", ()))]
    out += [
        repr(cascade),
        repr(cascade.tiers),
        repr([m for t in cascade.tiers for m in t.specs]),
        repr(cascade.tracker),
        repr(cascade.backend),
        repr(cascade.options),
    ]
    return out


def _exports(tracker: CostTracker, tmp_path: Path) -> list[str]:
    db = tmp_path / "ledger.sqlite"
    tracker.to_sqlite(str(db))
    with sqlite3.connect(db) as conn:
        rows = [
            repr(r)
            for (t,) in conn.execute("select name from sqlite_master where type='table'")
            for r in conn.execute(f"select * from {t}")
        ]
    return [
        tracker.to_json(),
        tracker.to_csv(),
        tracker.report(),
        repr(tracker.entries()),
        "\n".join(rows),
        db.read_bytes().decode("latin-1"),
    ]
