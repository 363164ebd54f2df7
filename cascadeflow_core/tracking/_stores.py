"""Ledger storage: one small interface; memory and SQLite here, Redis and PostgreSQL in their modules.

A store keeps, per key: the dollars spent, the live reservations, rate-limit windows, and the ledger.
``reserve`` checks every rate limit and every budget cap and, only if all pass, records the reservation:
one atomic step (a lock in memory, ``BEGIN IMMEDIATE`` in SQLite, a Lua script in Redis, a transaction in
PostgreSQL),
so N concurrent requests, across threads, processes or machines, cannot together overspend a budget.
``settle`` releases the reservation, adds the real cost and appends the ledger entries, also atomically
and idempotently (an operation id already settled is ignored, so a retried settle cannot double-count).
``prune(before)`` deletes ledger entries and settled-operation marks older than ``before``, and the
counters and reservations of budget periods that ended by then: what is enforced now never changes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, Protocol, runtime_checkable

from .._errors import ConfigError, StorageError
from ._budget import period_key_end

_log = logging.getLogger("cascadeflow.tracker")
_SETTLED_MARKS = 10_000

__all__ = [
    "BudgetCheck",
    "LedgerEntry",
    "LedgerStore",
    "LimitCheck",
    "MemoryStore",
    "ReserveOp",
    "ReserveOutcome",
    "SQLiteStore",
    "SettleOp",
]

EPS = 1e-12


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One model call (or one call recorded from outside the cascade) in the books.

    ``status`` is the attempt's outcome: ``accepted``, ``rejected``, ``superseded``, ``error``, or
    ``recorded`` for calls recorded by ``CostTracker.record`` / the LiteLLM callback.
    """

    id: str
    ts: float
    request_id: str
    user: str | None
    model: str
    cost: float
    input_tokens: int = 0
    output_tokens: int = 0
    latency_s: float = 0.0
    status: str = "accepted"
    tier: str = ""
    plan: str | None = None
    tags: tuple[str, ...] = ()
    error_kind: str | None = None
    cached: bool = False
    source: str = "cascade"
    guardrails: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.status in ("accepted", "recorded")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tags"] = list(self.tags)
        d["guardrails"] = list(self.guardrails)
        d["accepted"] = self.accepted
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LedgerEntry:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["tags"] = tuple(kw.get("tags") or ())
        kw["guardrails"] = tuple(kw.get("guardrails") or ())
        kw["cached"] = bool(kw.get("cached", False))
        return cls(**kw)


@dataclass(frozen=True)
class BudgetCheck:
    """Reserve on ``key``; refuse when ``spent + reserved + amount > limit`` (no cap when limit is None)."""

    key: str
    limit: float | None


@dataclass(frozen=True)
class LimitCheck:
    """A rate-limit window. ``record``: count ``amount`` now (requests) or only check (tokens)."""

    key: str
    limit: float
    window_s: float
    amount: float = 1.0
    algorithm: Literal["sliding", "token_bucket"] = "sliding"
    record: bool = True


@dataclass(frozen=True)
class ReserveOp:
    reservation_id: str
    amount: float
    budgets: tuple[BudgetCheck, ...]
    rates: tuple[LimitCheck, ...]
    now: float
    expires_at: float


@dataclass(frozen=True)
class ReserveOutcome:
    """``ok`` or the first thing that refused: ``reason`` ``budget`` / ``rate``, its ``key`` and numbers.

    A store that reads each budget's spend inside the atomic step returns it in ``usage`` (and says so
    with ``reports_usage = True``), so the tracker decides from it without a separate read.
    """

    ok: bool
    reason: str | None = None
    key: str | None = None
    spent: float = 0.0
    reserved: float = 0.0
    limit: float | None = None
    retry_after: float | None = None
    usage: Mapping[str, tuple[float, float]] | None = None  # when ok: (spent, reserved) before this hold


@dataclass(frozen=True)
class SettleOp:
    """Release ``reservation_id`` on ``keys``, add ``charges`` (key -> dollars), record rate usage
    (``rates``: checks whose ``amount`` is now the real usage) and append ``entries``."""

    op_id: str
    reservation_id: str | None
    keys: tuple[str, ...]
    charges: Mapping[str, float]
    rates: tuple[LimitCheck, ...] = ()
    entries: tuple[LedgerEntry, ...] = ()
    now: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class LedgerStore(Protocol):
    """Where the tracker keeps spend, reservations, rate windows and the ledger."""

    def reserve(self, op: ReserveOp) -> ReserveOutcome: ...

    def settle(self, op: SettleOp) -> None: ...

    def release(self, reservation_id: str, keys: Sequence[str]) -> None: ...

    def usage(self, keys: Sequence[str], now: float) -> dict[str, tuple[float, float]]: ...

    def entries(self, since: float | None = None, until: float | None = None) -> list[LedgerEntry]: ...

    def close(self) -> None: ...

    # Optional: ``prune(before: float) -> int`` (see ``CostTracker.prune``); the three stores here have it.


# --- rate-limit arithmetic shared by the memory and SQLite stores (Redis does the same in Lua) ----------


def sliding_check(events: Iterable[tuple[float, float]], check: LimitCheck, now: float) -> tuple[bool, float]:
    """(ok, retry_after) for a sliding window holding ``events`` (ts, amount) already inside the window."""
    ev = sorted(events)
    used = sum(a for _, a in ev)
    if used + check.amount <= check.limit + EPS:
        return True, 0.0
    need = used + check.amount - check.limit
    freed = 0.0
    for ts, amount in ev:
        freed += amount
        if freed >= need - EPS:
            return False, max(0.0, ts + check.window_s - now)
    return False, check.window_s


def bucket_check(
    tokens: float | None, ts: float | None, check: LimitCheck, now: float
) -> tuple[bool, float, float]:
    """(ok, retry_after, tokens_after) of a token bucket of capacity ``limit`` refilled over ``window_s``."""
    rate = check.limit / check.window_s
    avail = check.limit if tokens is None or ts is None else min(check.limit, tokens + (now - ts) * rate)
    if avail + EPS >= check.amount:
        return True, 0.0, avail - (check.amount if check.record else 0.0)
    return False, (check.amount - avail) / rate, avail


def ended_periods(keys: Iterable[str], before: float) -> list[str]:
    """The budget counter keys whose period ended by ``before`` (never ``total`` counters)."""
    return [k for k in keys if (end := period_key_end(k)) is not None and end <= before]


# --- memory ---------------------------------------------------------------------------------------------


class MemoryStore:
    """Everything in this process's memory, behind one lock. The default store.

    The ledger is bounded so a long-running process does not grow without end: the newest
    ``max_entries`` entries are kept (and, with ``retention_s``, none older than that); ``evicted``
    counts what went. Budget and rate-limit counters are kept apart from the ledger, so what is enforced
    stays exact; ``entries()``, ``spent()``, reports and exports see the retained window only (use
    ``SQLiteStore`` or ``RedisStore`` to keep the full books, or export first).

    Args:
        max_entries: ledger entries kept (``None``: unbounded, the old behaviour).
        retention_s: drop entries older than this many seconds (``None``: by count only).

    Example:
        >>> store = MemoryStore()
        >>> store.usage(["user:a|total"], 0.0)
        {'user:a|total': (0.0, 0.0)}
    """

    reports_usage = True  # reserve() returns each budget's spend (one step for the tracker)

    DEFAULT_MAX_ENTRIES = 100_000  # ~20 MB of lean entries

    def __init__(
        self, max_entries: int | None = DEFAULT_MAX_ENTRIES, retention_s: float | None = None
    ) -> None:
        if max_entries is not None and (
            isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1
        ):
            raise ConfigError("MemoryStore.max_entries", f"must be an int >= 1 or None, got {max_entries!r}")
        if retention_s is not None and (
            isinstance(retention_s, bool) or not isinstance(retention_s, (int, float)) or not retention_s > 0
        ):
            raise ConfigError("MemoryStore.retention_s", f"must be seconds > 0 or None, got {retention_s!r}")
        self.max_entries, self.retention_s = max_entries, retention_s
        self.evicted = 0  # ledger entries dropped by the bound (never silently: logged once, counted)
        self._lock = threading.Lock()
        self._spent: dict[str, float] = {}
        self._res: dict[str, dict[str, tuple[float, float]]] = {}  # key -> id -> (amount, expires)
        self._events: dict[str, deque[tuple[float, float]]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
        self._ledger: deque[LedgerEntry] = deque()
        self._settled: dict[str, float] = {}  # operation id -> when it was settled (oldest first)
        self._audit: dict[str, dict[str, Any]] = {}  # audit record id -> record (``_audit``)

    def __repr__(self) -> str:
        return f"MemoryStore(entries={len(self._ledger)})"

    def _reserved(self, key: str, now: float) -> float:
        live = self._res.get(key)
        if not live:
            return 0.0
        for rid in [r for r, (_, exp) in live.items() if exp <= now]:
            del live[rid]
        return sum(a for a, _ in live.values())

    def _window(self, check: LimitCheck, now: float) -> deque[tuple[float, float]]:
        ev = self._events.setdefault(check.key, deque())
        while ev and ev[0][0] <= now - check.window_s:
            ev.popleft()
        return ev

    def _rate(self, check: LimitCheck, now: float, apply: bool) -> tuple[bool, float]:
        if check.algorithm == "token_bucket":
            tokens, ts = self._buckets.get(check.key, (None, None))
            ok, retry, after = bucket_check(tokens, ts, check, now)
            if apply and ok:
                self._buckets[check.key] = (after, now)
            return ok, retry
        ev = self._window(check, now)
        ok, retry = sliding_check(ev, check, now)
        if apply and ok and check.record:
            ev.append((now, check.amount))
        return ok, retry

    def reserve(self, op: ReserveOp) -> ReserveOutcome:
        with self._lock:
            for check in op.rates:
                ok, retry = self._rate(check, op.now, apply=False)
                if not ok:
                    return ReserveOutcome(False, "rate", check.key, limit=check.limit, retry_after=retry)
            seen = {}
            for b in op.budgets:
                spent, reserved = self._spent.get(b.key, 0.0), self._reserved(b.key, op.now)
                if b.limit is not None and spent + reserved + op.amount > b.limit + EPS:
                    return ReserveOutcome(False, "budget", b.key, spent, reserved, b.limit)
                seen[b.key] = (spent, reserved)
            for check in op.rates:
                self._rate(check, op.now, apply=True)
            for b in op.budgets:
                self._res.setdefault(b.key, {})[op.reservation_id] = (op.amount, op.expires_at)
            return ReserveOutcome(True, usage=seen)

    def settle(self, op: SettleOp) -> None:
        with self._lock:
            if op.op_id in self._settled:
                return
            self._settled[op.op_id] = op.now
            for key in op.keys:
                if op.reservation_id is not None:
                    self._res.get(key, {}).pop(op.reservation_id, None)
            for key, amount in op.charges.items():
                self._spent[key] = self._spent.get(key, 0.0) + amount
            for check in op.rates:
                if check.algorithm == "token_bucket":
                    tokens, ts = self._buckets.get(check.key, (None, None))
                    _, _, avail = bucket_check(
                        tokens, ts, LimitCheck(**{**asdict(check), "amount": 0.0}), op.now
                    )
                    self._buckets[check.key] = (avail - check.amount, op.now)
                else:
                    self._window(check, op.now).append((op.now, check.amount))
            self._ledger.extend(op.entries)
            self._trim(op.now)

    def _trim(self, now: float) -> None:
        before = len(self._ledger)
        if self.retention_s is not None:
            while self._ledger and self._ledger[0].ts < now - self.retention_s:
                self._ledger.popleft()
        if self.max_entries is not None:
            while len(self._ledger) > self.max_entries:
                self._ledger.popleft()
            # Idempotency marks: a memory store never refuses a settle, so only a settle retried from a
            # shared spill journal comes back, soon: the newest marks suffice.
            while len(self._settled) > min(self.max_entries, _SETTLED_MARKS):
                del self._settled[next(iter(self._settled))]
        dropped = before - len(self._ledger)
        if dropped and not self.evicted:
            _log.warning(
                "MemoryStore keeps the newest %s ledger entries%s; older ones are dropped from the "
                "ledger (budgets stay exact; use SQLiteStore/RedisStore or export to keep them all)",
                self.max_entries,
                f" of the last {self.retention_s:g} s" if self.retention_s else "",
            )
        self.evicted += dropped

    def release(self, reservation_id: str, keys: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                self._res.get(key, {}).pop(reservation_id, None)

    def usage(self, keys: Sequence[str], now: float) -> dict[str, tuple[float, float]]:
        with self._lock:
            return {k: (self._spent.get(k, 0.0), self._reserved(k, now)) for k in keys}

    def entries(self, since: float | None = None, until: float | None = None) -> list[LedgerEntry]:
        with self._lock:
            return [
                e
                for e in self._ledger
                if (since is None or e.ts >= since) and (until is None or e.ts < until)
            ]

    def prune(self, before: float) -> int:
        """Delete what is older than ``before`` (see the module docstring); return the ledger entries deleted."""
        with self._lock:
            kept = deque(e for e in self._ledger if e.ts >= before)
            removed = len(self._ledger) - len(kept)
            self._ledger = kept
            self._settled = {k: ts for k, ts in self._settled.items() if ts >= before}
            for key in ended_periods(self._spent, before):
                del self._spent[key]
                self._res.pop(key, None)
            self._audit = {k: r for k, r in self._audit.items() if r["ts"] >= before}
            return removed

    # --- audit records (``_audit.AuditStore``): JSON-ready dicts with a unique ``id`` and a ``ts`` ----------
    def append_audit(self, records: Sequence[Mapping[str, Any]]) -> None:
        with self._lock:
            for r in records:
                self._audit.setdefault(str(r["id"]), dict(r))

    def audit_records(self, since: float | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._audit.values() if since is None or r["ts"] >= since]

    def close(self) -> None:
        return None


# --- SQLite ---------------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spent (key TEXT PRIMARY KEY, amount REAL NOT NULL);
CREATE TABLE IF NOT EXISTS reservations (id TEXT NOT NULL, key TEXT NOT NULL, amount REAL NOT NULL,
    expires REAL NOT NULL, PRIMARY KEY (key, id));
CREATE TABLE IF NOT EXISTS rate_events (key TEXT NOT NULL, ts REAL NOT NULL, amount REAL NOT NULL);
CREATE INDEX IF NOT EXISTS rate_events_key_ts ON rate_events (key, ts);
CREATE TABLE IF NOT EXISTS buckets (key TEXT PRIMARY KEY, tokens REAL NOT NULL, ts REAL NOT NULL);
CREATE TABLE IF NOT EXISTS settled (op_id TEXT PRIMARY KEY, ts REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS ledger (id TEXT PRIMARY KEY, ts REAL NOT NULL, request_id TEXT NOT NULL,
    user TEXT, model TEXT NOT NULL, cost REAL NOT NULL, input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL, latency_s REAL NOT NULL, status TEXT NOT NULL, tier TEXT NOT NULL,
    plan TEXT, tags TEXT NOT NULL, error_kind TEXT, cached INTEGER NOT NULL, source TEXT NOT NULL,
    guardrails TEXT NOT NULL DEFAULT '[]');
CREATE INDEX IF NOT EXISTS ledger_ts ON ledger (ts);
CREATE TABLE IF NOT EXISTS audit (id TEXT PRIMARY KEY, ts REAL NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts);
"""

LEDGER_COLUMNS = (
    "id",
    "ts",
    "request_id",
    "user",
    "model",
    "cost",
    "input_tokens",
    "output_tokens",
    "latency_s",
    "status",
    "tier",
    "plan",
    "tags",
    "error_kind",
    "cached",
    "source",
    "guardrails",
)


def migrate_ledger(conn: sqlite3.Connection) -> None:
    """Add columns newer versions keep (``ledger.guardrails``, ``settled.ts``) to tables an older one wrote."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(ledger)")}
    if "guardrails" not in have:
        with conn:
            conn.execute("ALTER TABLE ledger ADD COLUMN guardrails TEXT NOT NULL DEFAULT '[]'")
    settled = {row[1] for row in conn.execute("PRAGMA table_info(settled)")}
    if settled and "ts" not in settled:  # marks written before get ts 0: the first prune removes them
        with conn:
            conn.execute("ALTER TABLE settled ADD COLUMN ts REAL NOT NULL DEFAULT 0")


def entry_row(e: LedgerEntry) -> tuple[Any, ...]:
    d = e.to_dict()
    d["tags"] = json.dumps(d["tags"])
    d["guardrails"] = json.dumps(d["guardrails"])
    d["cached"] = int(d["cached"])
    return tuple(d[c] for c in LEDGER_COLUMNS)


def row_entry(row: Sequence[Any]) -> LedgerEntry:
    d = dict(zip(LEDGER_COLUMNS, row, strict=True))
    d["tags"] = tuple(json.loads(d["tags"] or "[]"))
    d["guardrails"] = tuple(json.loads(d["guardrails"] or "[]"))
    return LedgerEntry.from_dict(d)


class SQLiteStore:
    """One SQLite file (WAL), safe across threads and processes on one machine; survives restarts.

    Every reserve and settle is a ``BEGIN IMMEDIATE`` transaction: the budget check and the reservation
    happen under SQLite's write lock, so processes sharing the file enforce one budget exactly.

    Example:
        >>> import tempfile, os
        >>> store = SQLiteStore(os.path.join(tempfile.mkdtemp(), "ledger.db"))
        >>> store.usage(["global:all|total"], 0.0)
        {'global:all|total': (0.0, 0.0)}
    """

    reports_usage = True

    def __init__(self, path: str | os.PathLike[str], *, timeout_s: float = 30.0) -> None:
        if not isinstance(path, (str, os.PathLike)) or not str(path):
            raise ConfigError("SQLiteStore.path", f"must be a file path, got {path!r}", 'e.g. "ledger.db"')
        self.path = str(path)
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._pid = os.getpid()
        conn = self._conn()
        try:
            conn.executescript(_SCHEMA)
            migrate_ledger(conn)
        except sqlite3.Error as e:
            raise StorageError(f"SQLite store {self.path!r}: cannot create tables: {e}") from e

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "timeout_s": self.timeout_s}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], timeout_s=state["timeout_s"])  # type: ignore[misc]

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or self._pid != os.getpid():
            try:
                conn = sqlite3.connect(
                    self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(f"PRAGMA busy_timeout={int(self.timeout_s * 1000)}")
            except sqlite3.Error as e:
                raise StorageError(f"SQLite store {self.path!r} cannot be opened: {e}") from e
            self._local.conn = conn
            self._pid = os.getpid()
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    def _tx(self) -> _Tx:
        return _Tx(self)

    def _reserved(self, db: sqlite3.Connection, key: str, now: float, purge: bool = True) -> float:
        if purge:
            db.execute("DELETE FROM reservations WHERE key = ? AND expires <= ?", (key, now))
        row = db.execute(
            "SELECT COALESCE(SUM(amount), 0) FROM reservations WHERE key = ? AND expires > ?", (key, now)
        ).fetchone()
        return float(row[0])

    def _spent(self, db: sqlite3.Connection, key: str) -> float:
        row = db.execute("SELECT amount FROM spent WHERE key = ?", (key,)).fetchone()
        return float(row[0]) if row else 0.0

    def _rate(self, db: sqlite3.Connection, check: LimitCheck, now: float, apply: bool) -> tuple[bool, float]:
        if check.algorithm == "token_bucket":
            row = db.execute("SELECT tokens, ts FROM buckets WHERE key = ?", (check.key,)).fetchone()
            ok, retry, after = bucket_check(row[0] if row else None, row[1] if row else None, check, now)
            if apply and ok:
                db.execute("INSERT OR REPLACE INTO buckets VALUES (?, ?, ?)", (check.key, after, now))
            return ok, retry
        db.execute("DELETE FROM rate_events WHERE key = ? AND ts <= ?", (check.key, now - check.window_s))
        events = db.execute("SELECT ts, amount FROM rate_events WHERE key = ?", (check.key,)).fetchall()
        ok, retry = sliding_check(events, check, now)
        if apply and ok and check.record:
            db.execute("INSERT INTO rate_events VALUES (?, ?, ?)", (check.key, now, check.amount))
        return ok, retry

    def reserve(self, op: ReserveOp) -> ReserveOutcome:
        with self._tx() as db:
            for check in op.rates:
                ok, retry = self._rate(db, check, op.now, apply=False)
                if not ok:
                    return ReserveOutcome(False, "rate", check.key, limit=check.limit, retry_after=retry)
            seen = {}
            for b in op.budgets:
                spent, reserved = self._spent(db, b.key), self._reserved(db, b.key, op.now)
                if b.limit is not None and spent + reserved + op.amount > b.limit + EPS:
                    return ReserveOutcome(False, "budget", b.key, spent, reserved, b.limit)
                seen[b.key] = (spent, reserved)
            for check in op.rates:
                self._rate(db, check, op.now, apply=True)
            db.executemany(
                "INSERT OR REPLACE INTO reservations VALUES (?, ?, ?, ?)",
                [(op.reservation_id, b.key, op.amount, op.expires_at) for b in op.budgets],
            )
            return ReserveOutcome(True, usage=seen)

    def settle(self, op: SettleOp) -> None:
        with self._tx() as db:
            if db.execute("INSERT OR IGNORE INTO settled VALUES (?, ?)", (op.op_id, op.now)).rowcount == 0:
                return
            if op.reservation_id is not None:
                db.executemany(
                    "DELETE FROM reservations WHERE key = ? AND id = ?",
                    [(k, op.reservation_id) for k in op.keys],
                )
            db.executemany(
                "INSERT INTO spent VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET amount = amount + ?",
                [(k, a, a) for k, a in op.charges.items()],
            )
            for check in op.rates:
                if check.algorithm == "token_bucket":
                    row = db.execute("SELECT tokens, ts FROM buckets WHERE key = ?", (check.key,)).fetchone()
                    zero = LimitCheck(check.key, check.limit, check.window_s, 0.0, check.algorithm, False)
                    _, _, avail = bucket_check(row[0] if row else None, row[1] if row else None, zero, op.now)
                    db.execute(
                        "INSERT OR REPLACE INTO buckets VALUES (?, ?, ?)",
                        (check.key, avail - check.amount, op.now),
                    )
                else:
                    db.execute("INSERT INTO rate_events VALUES (?, ?, ?)", (check.key, op.now, check.amount))
            db.executemany(
                f"INSERT OR IGNORE INTO ledger VALUES ({', '.join('?' * len(LEDGER_COLUMNS))})",
                [entry_row(e) for e in op.entries],
            )

    def release(self, reservation_id: str, keys: Sequence[str]) -> None:
        with self._tx() as db:
            db.executemany(
                "DELETE FROM reservations WHERE key = ? AND id = ?", [(k, reservation_id) for k in keys]
            )

    def usage(self, keys: Sequence[str], now: float) -> dict[str, tuple[float, float]]:
        db = self._conn()
        try:  # a plain read (no write lock): one consistent snapshot in WAL mode
            db.execute("BEGIN")
            try:
                return {k: (self._spent(db, k), self._reserved(db, k, now, purge=False)) for k in keys}
            finally:
                db.execute("COMMIT")
        except sqlite3.Error as e:
            raise StorageError(f"SQLite store {self.path!r}: cannot read usage: {e}") from e

    def entries(self, since: float | None = None, until: float | None = None) -> list[LedgerEntry]:
        q = f"SELECT {', '.join(LEDGER_COLUMNS)} FROM ledger WHERE ts >= ? AND ts < ? ORDER BY ts, id"
        try:
            rows = (
                self._conn()
                .execute(
                    q,
                    (
                        since if since is not None else float("-inf"),
                        until if until is not None else float("inf"),
                    ),
                )
                .fetchall()
            )
        except sqlite3.Error as e:
            raise StorageError(f"SQLite store {self.path!r}: cannot read the ledger: {e}") from e
        return [row_entry(r) for r in rows]

    def prune(self, before: float) -> int:
        """Delete what is older than ``before`` (see the module docstring); return the ledger entries deleted.

        The file keeps its size (SQLite reuses the freed pages); run ``VACUUM`` to shrink it.
        """
        with self._tx() as db:
            removed = db.execute("DELETE FROM ledger WHERE ts < ?", (before,)).rowcount
            db.execute("DELETE FROM settled WHERE ts < ?", (before,))
            ended = ended_periods([row[0] for row in db.execute("SELECT key FROM spent")], before)
            db.executemany("DELETE FROM spent WHERE key = ?", [(k,) for k in ended])
            db.execute("DELETE FROM reservations WHERE expires <= ?", (before,))
            db.execute("DELETE FROM audit WHERE ts < ?", (before,))
            return int(removed)

    # --- audit records (``_audit.AuditStore``): one JSON document a row -----------------------------------
    def append_audit(self, records: Sequence[Mapping[str, Any]]) -> None:
        with self._tx() as db:
            db.executemany(
                "INSERT OR IGNORE INTO audit VALUES (?, ?, ?)",
                [(str(r["id"]), float(r["ts"]), json.dumps(dict(r))) for r in records],
            )

    def audit_records(self, since: float | None = None) -> list[dict[str, Any]]:
        try:
            rows = (
                self._conn()
                .execute("SELECT data FROM audit WHERE ts >= ? ORDER BY ts, id", (since or float("-inf"),))
                .fetchall()
            )
        except sqlite3.Error as e:
            raise StorageError(f"SQLite store {self.path!r}: cannot read audit records: {e}") from e
        return [json.loads(r[0]) for r in rows]

    def close(self) -> None:
        with self._conns_lock:
            for conn in self._conns:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._conns.clear()
        self._local = threading.local()


class _Tx:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error); SQLite errors become ``StorageError``."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self.db: sqlite3.Connection | None = None

    def __enter__(self) -> sqlite3.Connection:
        self.db = self.store._conn()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise StorageError(f"SQLite store {self.store.path!r}: cannot start a transaction: {e}") from e
        return self.db

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self.db is not None
        try:
            self.db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
        except sqlite3.Error as e:
            if exc_type is None:
                raise StorageError(f"SQLite store {self.store.path!r}: commit failed: {e}") from e
        if isinstance(exc, sqlite3.Error):
            raise StorageError(f"SQLite store {self.store.path!r} failed: {exc}") from exc


def ledger_labels(records: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """Short ledger labels for guardrail records, e.g. ``input.pii.EMAIL:redact`` (never values)."""
    out = []
    for r in records:
        parts = [str(r.get("stage", "?")), str(r.get("check", "?"))]
        if r.get("entity"):
            parts.append(str(r["entity"]))
        out.append(".".join(parts) + f":{r.get('action', '?')}")
    return tuple(dict.fromkeys(out))
