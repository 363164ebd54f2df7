"""The PostgreSQL store: spend, reservations, rate windows and the ledger in the team's own database.

The whole store lives in PostgreSQL (not a ledger behind Redis counters): a settlement's charges, its
idempotency mark and its ledger rows commit in ONE transaction, so the books and the counters can never
disagree, and a crash loses neither. Redis counters with a Postgres ledger would need a second commit
across two systems (an outbox) to give the same guarantee; a team that needs Redis's admission rate
keeps ``RedisStore`` and exports the ledger (``CostTracker.to_sqlite`` / ``to_csv``) or reads it here.

Tables (in ``schema``, default ``cascadeflow``; columns documented in docs/tracker.md): ``ledger`` (one
row per model call, with ``at timestamptz`` for joins and indexes on time, user, model and request),
``counters`` (budget spend and token buckets, one row per key), ``reservations``, ``rate_events``,
``settled`` and ``schema_version``. The library creates and migrates them itself, under an advisory lock
so workers starting together do not race.

``reserve`` locks the counter rows it needs (``SELECT ... FOR UPDATE``, always in key order, so two
transactions never deadlock), checks every rate limit and budget, and writes the reservation, all in one
transaction: N workers on N machines enforce one budget exactly.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from .._errors import ConfigError, StorageError
from ._stores import (
    EPS,
    LEDGER_COLUMNS,
    LedgerEntry,
    LimitCheck,
    ReserveOp,
    ReserveOutcome,
    SettleOp,
    bucket_check,
    ended_periods,
    sliding_check,
)

__all__ = ["PostgresStore"]

_COLUMNS = LEDGER_COLUMNS
_COLS_SQL = ", ".join(f'"{c}"' for c in _COLUMNS)

# Each migration runs once, in order, in one transaction; ``schema_version`` records the last applied.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE {s}.counters (key text PRIMARY KEY, spent double precision NOT NULL DEFAULT 0,
        tokens double precision, ts double precision);
    CREATE TABLE {s}.reservations (key text NOT NULL, id text NOT NULL, amount double precision NOT NULL,
        expires double precision NOT NULL, PRIMARY KEY (key, id));
    CREATE TABLE {s}.rate_events (key text NOT NULL, ts double precision NOT NULL,
        amount double precision NOT NULL);
    CREATE INDEX rate_events_key_ts ON {s}.rate_events (key, ts);
    CREATE TABLE {s}.settled (op_id text PRIMARY KEY, ts double precision NOT NULL);
    CREATE INDEX settled_ts ON {s}.settled (ts);
    CREATE TABLE {s}.ledger (
        id text PRIMARY KEY,
        ts double precision NOT NULL,
        at timestamptz GENERATED ALWAYS AS (to_timestamp(ts)) STORED,
        request_id text NOT NULL,
        "user" text,
        model text NOT NULL,
        cost double precision NOT NULL,
        input_tokens bigint NOT NULL DEFAULT 0,
        output_tokens bigint NOT NULL DEFAULT 0,
        latency_s double precision NOT NULL DEFAULT 0,
        status text NOT NULL,
        tier text NOT NULL DEFAULT '',
        plan text,
        tags text[] NOT NULL DEFAULT '{{}}',
        error_kind text,
        cached boolean NOT NULL DEFAULT false,
        source text NOT NULL DEFAULT 'cascade',
        guardrails text[] NOT NULL DEFAULT '{{}}');
    CREATE INDEX ledger_ts ON {s}.ledger (ts);
    CREATE INDEX ledger_user_ts ON {s}.ledger ("user", ts);
    CREATE INDEX ledger_model_ts ON {s}.ledger (model, ts);
    CREATE INDEX ledger_request ON {s}.ledger (request_id);
    """,
)
_RETRIES = 5


class PostgresStore:
    """Ledger state in PostgreSQL (psycopg 3), shared by every process and machine that connects.

    Args:
        dsn: a libpq connection string or URL (``postgresql://user:pass@host:5432/db``).
        schema: where the tables live (created if missing).
        pool_size: connections this process keeps at most (threads wait for a free one).
        timeout_s: connect timeout, and how long a thread waits for a pooled connection.
        synchronous_commit: ``False`` sets ``synchronous_commit = off`` on the store's sessions: a commit
            returns before its WAL is flushed, so a server crash can lose the last fraction of a second of
            settlements (counters and ledger rows together: never one without the other), like SQLite's
            ``synchronous=NORMAL``; several times the throughput on slow disks.

    Example:
        >>> store = PostgresStore("postgresql://app@db.internal/billing")  # doctest: +SKIP
    """

    reports_usage = True  # reserve() returns each budget's spend (one step for the tracker)

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "cascadeflow",
        pool_size: int = 8,
        timeout_s: float = 10.0,
        synchronous_commit: bool = True,
    ) -> None:
        try:
            import psycopg
            from psycopg import sql
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ConfigError(
                "PostgresStore",
                "the psycopg package is not installed",
                "pip install 'cascadeflow-core[postgres]'",
            ) from e
        if not isinstance(dsn, str) or not dsn:
            raise ConfigError("PostgresStore.dsn", f"must be a connection string, got {dsn!r}")
        if not isinstance(schema, str) or not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
            raise ConfigError(
                "PostgresStore.schema",
                f"must be a lower-case SQL identifier, got {schema!r}",
                'e.g. "cascadeflow"',
            )
        if not isinstance(pool_size, int) or pool_size < 1:
            raise ConfigError("PostgresStore.pool_size", f"must be a positive int, got {pool_size!r}")
        self.dsn, self.schema, self.pool_size, self.timeout_s = dsn, schema, pool_size, timeout_s
        self.synchronous_commit = bool(synchronous_commit)
        self._psycopg = psycopg
        self._s = sql.Identifier(schema).as_string(None)
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(pool_size)
        self._pid = os.getpid()
        self._migrate()

    def __repr__(self) -> str:
        return f"PostgresStore({_hide(self.dsn)!r}, schema={self.schema!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {
            "dsn": self.dsn,
            "schema": self.schema,
            "pool_size": self.pool_size,
            "timeout_s": self.timeout_s,
            "synchronous_commit": self.synchronous_commit,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        dsn = state.pop("dsn")
        self.__init__(dsn, **state)  # type: ignore[misc]

    # --- connections ---------------------------------------------------------------------------------------
    def _fail(self, what: str, e: Exception) -> StorageError:
        return StorageError(f"Postgres store {_hide(self.dsn)} {what} failed: {type(e).__name__}: {e}")

    @contextlib.contextmanager
    def _conn(self) -> Iterator[Any]:
        if self._pid != os.getpid():  # a forked child: never reuse (or close) the parent's sockets
            self._idle, self._pid = [], os.getpid()
            self._slots = threading.BoundedSemaphore(self.pool_size)
        if not self._slots.acquire(timeout=self.timeout_s):
            raise StorageError(f"Postgres store: no free connection within {self.timeout_s:g} s (pool_size)")
        conn = None
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None or conn.closed:
                conn = self._psycopg.connect(
                    self.dsn, autocommit=True, connect_timeout=max(1, int(self.timeout_s))
                )
                if not self.synchronous_commit:
                    conn.execute("SET synchronous_commit = off")
            yield conn
            with self._lock:
                self._idle.append(conn)
            conn = None
        finally:
            if conn is not None:  # it failed mid-use: drop it rather than reuse a broken session
                with contextlib.suppress(Exception):
                    conn.close()
            self._slots.release()

    def _tx(self, what: str, fn: Any) -> Any:
        """Run ``fn(cursor)`` in one transaction; retry deadlocks and serialization failures."""
        errors = self._psycopg.errors
        for attempt in range(_RETRIES):
            try:
                with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
                    return fn(cur)
            except (errors.DeadlockDetected, errors.SerializationFailure) as e:
                if attempt == _RETRIES - 1:
                    raise self._fail(what, e) from e
            except self._psycopg.Error as e:
                raise self._fail(what, e) from e
        raise AssertionError("unreachable")  # pragma: no cover

    def _migrate(self) -> None:
        def run(cur: Any) -> None:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"cascadeflow:{self.schema}",))
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {self._s}")
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self._s}.schema_version (version int NOT NULL, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur.execute(f"SELECT COALESCE(max(version), 0) FROM {self._s}.schema_version")
            have = int(cur.fetchone()[0])
            if have > len(MIGRATIONS):
                raise StorageError(
                    f"Postgres schema {self.schema!r} is at version {have}, newer than this cascadeflow "
                    f"({len(MIGRATIONS)}): upgrade cascadeflow-core"
                )
            for version in range(have + 1, len(MIGRATIONS) + 1):
                cur.execute(MIGRATIONS[version - 1].format(s=self._s))
                cur.execute(f"INSERT INTO {self._s}.schema_version (version) VALUES (%s)", (version,))

        self._tx("migration", run)

    @property
    def version(self) -> int:
        """The schema version of the tables (``len(MIGRATIONS)`` once opened)."""
        with self._conn() as conn:
            return int(conn.execute(f"SELECT max(version) FROM {self._s}.schema_version").fetchone()[0])

    # --- reserve / settle ---------------------------------------------------------------------------------
    def _lock_counters(
        self, cur: Any, keys: Sequence[str]
    ) -> dict[str, tuple[float, float | None, float | None]]:
        """Lock the counter rows, in key order (no deadlocks), creating the missing ones first."""
        ordered = sorted(set(keys))
        lock = f"SELECT key, spent, tokens, ts FROM {self._s}.counters WHERE key = ANY(%s) ORDER BY key FOR UPDATE"
        cur.execute(lock, (ordered,))
        rows = cur.fetchall()
        if len(rows) < len(ordered):  # new keys (a user's first request of a period): insert, lock again
            cur.execute(
                f"INSERT INTO {self._s}.counters (key) SELECT k FROM unnest(%s::text[]) AS k ORDER BY k "
                "ON CONFLICT (key) DO NOTHING",
                (ordered,),
            )
            cur.execute(lock, (ordered,))
            rows = cur.fetchall()
        return {k: (spent, tokens, ts) for k, spent, tokens, ts in rows}

    def _rate(self, cur: Any, row: tuple[Any, ...], check: LimitCheck, now: float) -> tuple[bool, float, Any]:
        if check.algorithm == "token_bucket":
            return bucket_check(row[1], row[2], check, now)
        cut = now - check.window_s  # one statement: drop the events out of the window, read the rest
        cur.execute(
            f"WITH gone AS (DELETE FROM {self._s}.rate_events WHERE key = %s AND ts <= %s) "
            f"SELECT ts, amount FROM {self._s}.rate_events WHERE key = %s AND ts > %s",
            (check.key, cut, check.key, cut),
        )
        ok, retry = sliding_check(cur.fetchall(), check, now)
        return ok, retry, None

    def _reserved(self, cur: Any, keys: Sequence[str], now: float) -> dict[str, float]:
        cur.execute(  # one statement: drop expired reservations, sum the live ones
            f"WITH gone AS (DELETE FROM {self._s}.reservations WHERE key = ANY(%s) AND expires <= %s) "
            f"SELECT key, sum(amount) FROM {self._s}.reservations WHERE key = ANY(%s) AND expires > %s "
            "GROUP BY key",
            (list(keys), now, list(keys), now),
        )
        return {k: float(v) for k, v in cur.fetchall()}

    def reserve(self, op: ReserveOp) -> ReserveOutcome:
        def run(cur: Any) -> ReserveOutcome:
            rows = self._lock_counters(cur, [c.key for c in op.rates] + [b.key for b in op.budgets])
            after = []
            for check in op.rates:
                ok, retry, tokens = self._rate(cur, rows[check.key], check, op.now)
                if not ok:
                    return ReserveOutcome(False, "rate", check.key, limit=check.limit, retry_after=retry)
                after.append(tokens)
            reserved = self._reserved(cur, [b.key for b in op.budgets], op.now) if op.budgets else {}
            seen = {}
            for b in op.budgets:
                spent, held = float(rows[b.key][0]), reserved.get(b.key, 0.0)
                if b.limit is not None and spent + held + op.amount > b.limit + EPS:
                    return ReserveOutcome(False, "budget", b.key, spent, held, b.limit)
                seen[b.key] = (spent, held)
            for check, tokens in zip(op.rates, after, strict=True):
                if check.algorithm == "token_bucket":
                    cur.execute(
                        f"UPDATE {self._s}.counters SET tokens = %s, ts = %s WHERE key = %s",
                        (tokens, op.now, check.key),
                    )
                elif check.record:
                    cur.execute(
                        f"INSERT INTO {self._s}.rate_events VALUES (%s, %s, %s)",
                        (check.key, op.now, check.amount),
                    )
            if op.budgets:
                cur.executemany(
                    f"INSERT INTO {self._s}.reservations VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (key, id) DO UPDATE SET amount = excluded.amount, expires = excluded.expires",
                    [(b.key, op.reservation_id, op.amount, op.expires_at) for b in op.budgets],
                )
            return ReserveOutcome(True, usage=seen)

        return self._tx("reserve", run)

    def settle(self, op: SettleOp) -> None:
        def run(cur: Any) -> None:
            cur.execute(
                f"INSERT INTO {self._s}.settled VALUES (%s, %s) ON CONFLICT DO NOTHING", (op.op_id, op.now)
            )
            if cur.rowcount == 0:
                return
            rows = self._lock_counters(cur, [*op.keys, *op.charges, *(c.key for c in op.rates)])
            if op.reservation_id is not None and op.keys:
                cur.execute(
                    f"DELETE FROM {self._s}.reservations WHERE id = %s AND key = ANY(%s)",
                    (op.reservation_id, list(op.keys)),
                )
            if op.charges:
                keys = sorted(op.charges)
                cur.execute(
                    f"UPDATE {self._s}.counters AS c SET spent = c.spent + v.amount "
                    "FROM unnest(%s::text[], %s::float8[]) AS v(key, amount) WHERE c.key = v.key",
                    (keys, [op.charges[k] for k in keys]),
                )

            for check in op.rates:
                if check.algorithm == "token_bucket":
                    row = rows[check.key]
                    zero = LimitCheck(check.key, check.limit, check.window_s, 0.0, check.algorithm, False)
                    _, _, avail = bucket_check(row[1], row[2], zero, op.now)
                    cur.execute(
                        f"UPDATE {self._s}.counters SET tokens = %s, ts = %s WHERE key = %s",
                        (avail - check.amount, op.now, check.key),
                    )
                else:
                    cur.execute(
                        f"INSERT INTO {self._s}.rate_events VALUES (%s, %s, %s)",
                        (check.key, op.now, check.amount),
                    )
            if op.entries:
                cur.executemany(
                    f"INSERT INTO {self._s}.ledger ({_COLS_SQL}) VALUES ({', '.join(['%s'] * len(_COLUMNS))}) "
                    "ON CONFLICT (id) DO NOTHING",
                    [_row(e) for e in op.entries],
                )

        self._tx("settle", run)

    def release(self, reservation_id: str, keys: Sequence[str]) -> None:
        def run(cur: Any) -> None:
            cur.execute(
                f"DELETE FROM {self._s}.reservations WHERE id = %s AND key = ANY(%s)",
                (reservation_id, list(keys)),
            )

        self._tx("release", run)

    # --- reading ------------------------------------------------------------------------------------------
    def usage(self, keys: Sequence[str], now: float) -> dict[str, tuple[float, float]]:
        def run(cur: Any) -> dict[str, tuple[float, float]]:
            cur.execute(f"SELECT key, spent FROM {self._s}.counters WHERE key = ANY(%s)", (list(keys),))
            spent = {k: float(v) for k, v in cur.fetchall()}
            cur.execute(
                f"SELECT key, sum(amount) FROM {self._s}.reservations WHERE key = ANY(%s) AND expires > %s "
                "GROUP BY key",
                (list(keys), now),
            )
            held = {k: float(v) for k, v in cur.fetchall()}
            return {k: (spent.get(k, 0.0), held.get(k, 0.0)) for k in keys}

        return self._tx("usage", run)

    def entries(self, since: float | None = None, until: float | None = None) -> list[LedgerEntry]:
        def run(cur: Any) -> list[LedgerEntry]:
            cur.execute(
                f"SELECT {_COLS_SQL} FROM {self._s}.ledger WHERE ts >= %s AND ts < %s ORDER BY ts, id",
                (
                    since if since is not None else float("-inf"),
                    until if until is not None else float("inf"),
                ),
            )
            return [LedgerEntry.from_dict(dict(zip(_COLUMNS, r, strict=True))) for r in cur.fetchall()]

        return self._tx("ledger read", run)

    def prune(self, before: float) -> int:
        """Delete what is older than ``before`` (see ``_stores``); return the ledger entries deleted."""

        def run(cur: Any) -> int:
            cur.execute(f"DELETE FROM {self._s}.ledger WHERE ts < %s", (before,))
            removed = int(cur.rowcount)
            cur.execute(f"DELETE FROM {self._s}.settled WHERE ts < %s", (before,))
            cur.execute(f"SELECT key FROM {self._s}.counters WHERE key LIKE %s", ("%|%",))
            ended = ended_periods([r[0] for r in cur.fetchall()], before)
            if ended:
                cur.execute(f"DELETE FROM {self._s}.counters WHERE key = ANY(%s)", (ended,))
                cur.execute(f"DELETE FROM {self._s}.reservations WHERE key = ANY(%s)", (ended,))
            cur.execute(f"DELETE FROM {self._s}.reservations WHERE expires <= %s", (before,))
            return removed

        return self._tx("prune", run)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()


def _row(e: LedgerEntry) -> tuple[Any, ...]:
    d = e.to_dict()
    d["tags"], d["guardrails"] = list(e.tags), list(e.guardrails)
    return tuple(d[c] for c in _COLUMNS)


def _hide(dsn: str) -> str:
    """The DSN without its password (never shown in errors or reprs)."""
    dsn = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", dsn)
    return re.sub(r"(password\s*=\s*)\S+", r"\1***", dsn)
