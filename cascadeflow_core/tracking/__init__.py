"""Tracking: the books. Cost per attempt, budgets and rate limits, reserve-then-settle, stores.

Owns ``CostTracker`` (admission and settlement), budgets and limits (``_budget``), the stores (memory,
SQLite, Redis, PostgreSQL), exports and reports, forecasts and anomalies, audit records with the running
loss estimate and drift detection (``_audit``), OpenTelemetry export and the LiteLLM
callback that books calls made outside a cascade. May import: the vocabulary and ``providers``; never the
cascade, configuration, or another station.
"""

from ._audit import Audit, AuditRecord, AuditStore, DriftEvent, load_audit_records
from ._audit_report import AuditReport, TierAudit
from ._budget import Budget, EnforcementContext, EnforcementDecision, RateLimit, TrackerPolicy
from ._forecast import Anomaly, Forecast, detect_anomalies, forecast_spend
from ._otel import OTelExporter
from ._run import AgentRun, RunLimits, counted_tool, current_run
from ._store_postgres import PostgresStore
from ._store_redis import RedisStore
from ._stores import LedgerEntry, LedgerStore, MemoryStore, SQLiteStore
from ._tracker import CostTracker, SettlementEvent

__all__ = [
    "AgentRun",
    "Anomaly",
    "Audit",
    "AuditRecord",
    "AuditReport",
    "AuditStore",
    "Budget",
    "CostTracker",
    "DriftEvent",
    "EnforcementContext",
    "EnforcementDecision",
    "Forecast",
    "LedgerEntry",
    "LedgerStore",
    "MemoryStore",
    "OTelExporter",
    "PostgresStore",
    "RateLimit",
    "RedisStore",
    "RunLimits",
    "SQLiteStore",
    "SettlementEvent",
    "TierAudit",
    "TrackerPolicy",
    "counted_tool",
    "current_run",
    "detect_anomalies",
    "forecast_spend",
    "load_audit_records",
]
