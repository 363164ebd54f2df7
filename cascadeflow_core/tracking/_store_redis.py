"""The Redis ledger store: many processes and machines share spend, reservations, rate limits and books.

Works on one Redis server, a Sentinel-managed master and a Redis Cluster (URL forms in
``_redis_connect``). ``reserve`` and ``settle`` are Lua scripts (``_redis_scripts``), each one atomic
step inside Redis: the check "spent + reserved + estimate <= limit" and the reservation cannot be split
by another worker. Every key a script touches is declared in ``KEYS``.

Key layout. Each counter belongs to a *tenant*: a budget key ``user:alice|d:2026-12-05`` to
``user:alice``, a per-user rate limit to ``user:<id>``, a global budget or global rate limit to
``global:all``, a tag/model/plan budget to ``tag:x`` / ``model:m`` / ``plan:p``. A tenant lives in one
of ``shards`` (default 64) shards, ``crc32(tenant) % shards``, and every key of a shard carries the hash
tag ``{namespace:NN}``, so one shard is one Cluster slot and the shards spread over the masters. A shard
holds: ``spent`` (hash: budget key -> dollars), ``res:<budget key>`` (hash: reservation id ->
"amount|expires"), ``rl:`` / ``tb:`` rate windows, ``settled`` (zset of settled operation ids) and
``ledger`` (zset of JSON entries scored by time: reports read time ranges, a page at a time, never one
ever-growing list; prune trims by score).

An admission whose keys all sit in one shard (per-user budgets and limits: the common case) is one
script on one slot: one round trip. One that spans shards (a global, tag or model budget beside the
user's) runs one script per shard, pipelined (still one round trip); if any shard refuses, the shards
that accepted are undone (a second round trip, only on refusal). Each counter is checked and reserved
atomically on its own shard, so no budget can be overspent; the cost is that, for the instant between a
refusal and its undo, another request may see the doomed reservation and be refused too (conservative,
never over). A settlement writes the ledger entries in the requesting user's shard, together with that
shard's counters; each shard's part is idempotent (the operation id is marked per shard), so a retried
settlement (spill journal) completes the shards that failed and changes nothing on the others.
"""

from __future__ import annotations

import contextlib
import json
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .._errors import ConfigError, StorageError
from . import _redis_scripts as lua
from ._redis_connect import _hide, open_client, url_of
from ._stores import LedgerEntry, LimitCheck, ReserveOp, ReserveOutcome, SettleOp, ended_periods

__all__ = ["RedisStore"]

_PRUNE_BATCH = 5000
_PAGE = 5000
_LAYOUT = "shards-v2"


def _f(x: float) -> str:
    return repr(float(x))


def tenant_of(key: str) -> str:
    """The tenant a counter key belongs to (see the module docstring)."""
    if key.startswith("rl:"):
        who = key.split(":", 4)[-1]
        return "global:all" if who == "all" else f"user:{who}"
    if "|" in key:
        return key.rpartition("|")[0]
    return key


@dataclass
class _Group:
    """What one admission or settlement does on one shard."""

    shard: int
    rates: list[tuple[int, LimitCheck]] = field(default_factory=list)  # (index in the op, check)
    budgets: list[tuple[int, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    charges: list[tuple[str, float]] = field(default_factory=list)
    entries: list[LedgerEntry] = field(default_factory=list)


class RedisStore:
    """Ledger state in Redis (one server, Sentinel or Cluster), shared by every process and machine.

    Args:
        url_or_client: a URL (``redis://``, ``rediss://``, ``unix://``, ``redis+cluster://h:p,h:p``,
            ``redis+sentinel://h:p,h:p/service``) or a ``redis.Redis`` / ``redis.cluster.RedisCluster``
            client.
        namespace: prefix of every key, so several applications can share one Redis.
        shards: how many hash-tag shards the tenants spread over (fixed for a deployment: the store
            refuses to open a namespace written with another number).
        clock: ``"server"`` (default): rate windows and reservation expiry use Redis's ``TIME``, so
            machines with skewed clocks agree; ``"tracker"``: the tracker's clock (tests that drive time).
        wait_replicas: after each reserve and settle, ``WAIT`` (pipelined: no extra round trip) until this
            many replicas hold the write, else raise ``StorageError`` (the admission fails closed or open
            per policy; the settlement is spilled and retried, idempotently). With Sentinel, 1 means a
            failover to that replica loses no acknowledged settlement. Not on a Cluster.
        wait_timeout_s: how long ``WAIT`` waits for the replicas.
        failover_wait_s: retry a failed reserve/settle (connection lost, master demoted, replicas not
            confirmed) for up to this many seconds, reconnecting each time, so a Sentinel failover delays
            requests instead of failing them. Safe: a settlement is idempotent, a retried reservation
            overwrites itself (same id) and at worst holds a token twice until it expires.

    Example:
        >>> store = RedisStore("redis+cluster://10.0.0.1:7000,10.0.0.2:7000")  # doctest: +SKIP
    """

    reports_usage = True  # reserve() returns each budget's spend (one round trip for the tracker)

    def __init__(
        self,
        url_or_client: Any = "redis://127.0.0.1:6379/0",
        *,
        namespace: str = "cascadeflow",
        shards: int = 64,
        clock: Literal["server", "tracker"] = "server",
        wait_replicas: int = 0,
        wait_timeout_s: float = 0.5,
        failover_wait_s: float = 0.0,
    ) -> None:
        try:
            import redis
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ConfigError(
                "RedisStore", "the redis package is not installed", "pip install 'cascadeflow-core[redis]'"
            ) from e
        if not isinstance(namespace, str) or not namespace or "}" in namespace or "{" in namespace:
            raise ConfigError(
                "RedisStore.namespace", f"must be a non-empty string without braces, got {namespace!r}"
            )
        if not isinstance(shards, int) or isinstance(shards, bool) or not 1 <= shards <= 16384:
            raise ConfigError("RedisStore.shards", f"must be an int in 1..16384, got {shards!r}", "e.g. 64")
        if clock not in ("server", "tracker"):
            raise ConfigError("RedisStore.clock", f"got {clock!r}", 'use "server" or "tracker"')
        if not isinstance(wait_replicas, int) or wait_replicas < 0:
            raise ConfigError("RedisStore.wait_replicas", f"must be an int >= 0, got {wait_replicas!r}")
        self.namespace, self.shards, self.clock = namespace, shards, clock
        self.wait_replicas, self.wait_timeout_s = wait_replicas, wait_timeout_s
        self.failover_wait_s = float(failover_wait_s)
        if isinstance(url_or_client, str):
            self.url: str | None = url_or_client
            self.client = open_client(url_or_client)
        elif hasattr(url_or_client, "evalsha"):
            self.url = url_of(url_or_client)
            self.client = url_or_client
        else:
            raise ConfigError(
                "RedisStore.url_or_client",
                f"got {type(url_or_client).__name__}",
                'give a URL like "redis://localhost:6379/0" or a redis.Redis client',
            )
        if wait_replicas and type(self.client).__name__ == "RedisCluster":
            raise ConfigError(
                "RedisStore.wait_replicas",
                "is not supported on a Redis Cluster",
                "use 0 with redis+cluster://",
            )
        self._redis_error = redis.RedisError
        self._noscript = redis.exceptions.NoScriptError
        self._sha: dict[str, str] = {}
        self._layout_checked = False

    @classmethod
    def from_url(cls, url: str, **kw: Any) -> RedisStore:
        """``RedisStore(url, **kw)``: a plain, ``redis+cluster://`` or ``redis+sentinel://`` URL."""
        return cls(url, **kw)

    @classmethod
    def cluster(cls, nodes: Sequence[str], **kw: Any) -> RedisStore:
        """A store on the Redis Cluster reachable at any of ``nodes`` (``"host:port"`` each)."""
        return cls("redis+cluster://" + ",".join(nodes), **kw)

    @classmethod
    def sentinel(cls, sentinels: Sequence[str], service: str, **kw: Any) -> RedisStore:
        """A store on the master the Sentinels at ``sentinels`` (``"host:port"`` each) name ``service``."""
        return cls(f"redis+sentinel://{','.join(sentinels)}/{service}", **kw)

    def __repr__(self) -> str:
        where = _hide(self.url) if self.url else type(self.client).__name__
        return f"RedisStore({where!r}, namespace={self.namespace!r}, shards={self.shards})"

    def __getstate__(self) -> dict[str, Any]:
        if self.url is None:
            raise TypeError(
                "this RedisStore's client has settings a URL cannot carry, so it cannot be pickled; "
                "build the store from a URL (redis://, redis+cluster://, redis+sentinel://)"
            )
        return {
            "url": self.url,
            "namespace": self.namespace,
            "shards": self.shards,
            "clock": self.clock,
            "wait_replicas": self.wait_replicas,
            "wait_timeout_s": self.wait_timeout_s,
            "failover_wait_s": self.failover_wait_s,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        url = state.pop("url")
        self.__init__(url, **state)  # type: ignore[misc]

    # --- keys --------------------------------------------------------------------------------------------
    def shard_of(self, key: str) -> int:
        """The shard holding the counters of ``key`` (a budget or rate-limit key)."""
        return zlib.crc32(tenant_of(key).encode()) % self.shards

    def _k(self, shard: int, kind: str, key: str = "") -> str:
        return f"{{{self.namespace}:{shard:02d}}}:{kind}{key}"

    def _rate_key(self, shard: int, check: LimitCheck) -> str:
        return self._k(shard, "tb:" if check.algorithm == "token_bucket" else "rl:", check.key)

    def migrate_legacy(self) -> int:
        """Move spend and ledger written by versions before shards (``{ns}:spent``, ``{ns}:ledger``) into
        this layout; return the ledger entries moved. Run once, with the workers stopped (not atomic).
        Live reservations and settled-operation marks of the old layout are dropped (reservations expire
        anyway; a settlement spilled before the upgrade and retried after it would count twice).
        """
        old = f"{{{self.namespace}}}:"
        try:
            for field_, amount in self.client.hgetall(old + "spent").items():
                name = field_.decode() if isinstance(field_, bytes) else field_
                self.client.hincrbyfloat(self._k(self.shard_of(name), "spent"), name, float(amount))
            moved = 0
            for raw in self.client.lrange(old + "ledger", 0, -1):
                d = json.loads(raw)
                shard = self.shard_of(f"user:{d.get('user') or 'anonymous'}|")
                self.client.zadd(self._k(shard, "ledger"), {raw: float(d["ts"])})
                moved += 1
            stale = [old + "spent", old + "ledger", old + "settled_at"]
            stale += list(self.client.scan_iter(match=old.replace("{", "\\{").replace("}", "\\}") + "res:*"))
            self.client.delete(*stale)
        except self._redis_error as e:
            raise self._fail("legacy migration", e) from e
        return moved

    # --- running scripts ---------------------------------------------------------------------------------
    def _fail(self, what: str, e: Exception) -> StorageError:
        return StorageError(
            f"Redis store {_hide(self.url) if self.url else ''} {what} failed: {type(e).__name__}: {e}"
        )

    def _check_layout(self) -> None:
        """Refuse a namespace written with another shard count (its counters would silently move)."""
        if self._layout_checked:
            return
        key, want = f"{{{self.namespace}}}:layout", f"{_LAYOUT} shards={self.shards}"
        legacy = [f"{{{self.namespace}}}:{k}" for k in ("spent", "ledger")]
        if not self.client.get(key) and self.client.exists(*legacy):
            raise ConfigError(
                "RedisStore.namespace",
                f"namespace {self.namespace!r} holds counters and a ledger in the layout before shards "
                "(one hash tag): this store would not see them, so budgets would restart from zero",
                "stop the workers and run RedisStore(url).migrate_legacy() once, or use a new namespace",
            )
        if not self.client.set(key, want, nx=True):
            have = self.client.get(key)
            have = have.decode() if isinstance(have, bytes) else have
            if have != want:
                raise ConfigError(
                    "RedisStore.shards",
                    f"namespace {self.namespace!r} was written with layout {have!r}, this store has {want!r}",
                    "open it with the same shards, or use a new namespace",
                )
        self._layout_checked = True

    def _run(self, calls: list[tuple[str, list[str], list[Any]]], what: str) -> list[Any]:
        """Run each (script, keys, args) as EVALSHA, pipelined: one round trip for all of them.

        Retried for up to ``failover_wait_s`` (a Sentinel pool reconnects to the master it names).
        """
        deadline = time.monotonic() + self.failover_wait_s
        while True:
            try:
                return self._run_once(calls, what)
            except StorageError:
                if time.monotonic() >= deadline:
                    raise
                # no pool-wide disconnect (other threads' sockets): a connection to a demoted master gets
                # READONLY and is dropped by redis-py, and a new one asks the Sentinels for the master
                time.sleep(0.1)

    def _run_once(self, calls: list[tuple[str, list[str], list[Any]]], what: str) -> list[Any]:
        try:
            self._check_layout()
            for script, _, _ in calls:
                if script not in self._sha:
                    self._sha[script] = self.client.script_load(script)
            if len(calls) == 1 and not self.wait_replicas:
                script, keys, args = calls[0]
                try:
                    return [self.client.evalsha(self._sha[script], len(keys), *keys, *args)]
                except self._noscript:  # a failed-over master or a new node without the script
                    return [self.client.eval(script, len(keys), *keys, *args)]
            pipe = self.client.pipeline(transaction=False)
            for script, keys, args in calls:
                # execute_command: a cluster pipeline blocks .evalsha() but routes EVALSHA by its keys
                pipe.execute_command("EVALSHA", self._sha[script], len(keys), *keys, *args)
            if self.wait_replicas:
                pipe.execute_command("WAIT", self.wait_replicas, int(self.wait_timeout_s * 1000))
            out = pipe.execute(raise_on_error=False)
            for i, (script, keys, args) in enumerate(calls):
                if isinstance(out[i], self._noscript):
                    out[i] = self.client.eval(script, len(keys), *keys, *args)
                    if self.wait_replicas:
                        out[-1] = self.client.execute_command(
                            "WAIT", self.wait_replicas, int(self.wait_timeout_s * 1000)
                        )
                elif isinstance(out[i], Exception):
                    raise out[i]
            if self.wait_replicas and not (isinstance(out[-1], int) and out[-1] >= self.wait_replicas):
                raise StorageError(
                    f"Redis store {_hide(self.url or '')} {what}: written on the master but only "
                    f"{out[-1]!r} of {self.wait_replicas} replicas confirmed within {self.wait_timeout_s:g} s; "
                    "a failover now could lose it"
                )
            return list(out[: len(calls)])
        except self._redis_error as e:
            raise self._fail(what, e) from e

    # --- reserve -----------------------------------------------------------------------------------------
    def _groups(self, op: ReserveOp) -> list[_Group]:
        groups: dict[int, _Group] = {}
        for i, c in enumerate(op.rates):
            s = self.shard_of(c.key)
            groups.setdefault(s, _Group(s)).rates.append((i, c))
        for i, b in enumerate(op.budgets):
            s = self.shard_of(b.key)
            groups.setdefault(s, _Group(s)).budgets.append((i, b))
        return list(groups.values())

    def _reserve_call(self, g: _Group, op: ReserveOp) -> tuple[str, list[str], list[Any]]:
        keys = [self._k(g.shard, "spent")]
        keys += [self._rate_key(g.shard, c) for _, c in g.rates]
        keys += [self._k(g.shard, "res:", b.key) for _, b in g.budgets]
        ttl = max(0.0, op.expires_at - op.now)
        args: list[Any] = [self.clock, _f(op.now), _f(op.amount), op.reservation_id, _f(ttl), len(g.rates)]
        for _, c in g.rates:
            args += [_f(c.limit), _f(c.window_s), _f(c.amount), c.algorithm, "1" if c.record else "0"]
        args.append(len(g.budgets))
        for _, b in g.budgets:
            args += [b.key, "" if b.limit is None else _f(b.limit)]
        return lua.RESERVE, keys, args

    def _undo_call(self, g: _Group, rid: str) -> tuple[str, list[str], list[Any]]:
        keys = [self._rate_key(g.shard, c) for _, c in g.rates]
        keys += [self._k(g.shard, "res:", b.key) for _, b in g.budgets]
        args: list[Any] = [rid, len(g.rates)]
        for _, c in g.rates:
            args += [_f(c.limit), _f(c.amount), c.algorithm, "1" if c.record else "0"]
        return lua.UNDO, keys, args

    def reserve(self, op: ReserveOp) -> ReserveOutcome:
        groups = self._groups(op)
        if not groups:
            return ReserveOutcome(True, usage={})
        results = self._run([self._reserve_call(g, op) for g in groups], "reserve")
        refusals = []
        for g, out in zip(groups, results, strict=True):
            vals = [v.decode() if isinstance(v, bytes) else str(v) for v in out]
            if vals[0] == "1":
                continue
            kind, idx = vals[1], int(vals[2]) - 1
            pos, check = g.rates[idx] if kind == "rate" else g.budgets[idx]
            key = check.key
            outcome = ReserveOutcome(
                False,
                kind,
                key,
                float(vals[3]),
                float(vals[4]),
                float(vals[5]) if vals[5] else None,
                float(vals[6]) if vals[6] else None,
            )
            refusals.append((kind != "rate", pos, outcome))
        if not refusals:
            usage: dict[str, tuple[float, float]] = {}
            for g, out in zip(groups, results, strict=True):
                nums = [float(v) for v in out[1:]]
                for j, (_, b) in enumerate(g.budgets):
                    usage[b.key] = (nums[2 * j], nums[2 * j + 1])
            return ReserveOutcome(True, usage=usage)
        accepted = [g for g, out in zip(groups, results, strict=True) if _ok(out)]
        if accepted:  # another shard refused: give back what these shards reserved
            self._run([self._undo_call(g, op.reservation_id) for g in accepted], "reserve undo")
        return min(refusals, key=lambda r: (r[0], r[1]))[2]  # a rate refusal first, then op order

    # --- settle ------------------------------------------------------------------------------------------
    def _settle_groups(self, op: SettleOp) -> list[_Group]:
        groups: dict[int, _Group] = {}

        def group(key: str) -> _Group:
            s = self.shard_of(key)
            return groups.setdefault(s, _Group(s))

        for k in op.keys:
            group(k).keys.append(k)
        for k, a in op.charges.items():
            group(k).charges.append((k, a))
        for i, c in enumerate(op.rates):
            group(c.key).rates.append((i, c))
        if op.entries:
            home = group(f"user:{op.entries[0].user or 'anonymous'}|")
            home.entries.extend(op.entries)
        return list(groups.values())

    def _settle_call(self, g: _Group, op: SettleOp) -> tuple[str, list[str], list[Any]]:
        keys = [self._k(g.shard, "settled"), self._k(g.shard, "spent"), self._k(g.shard, "ledger")]
        keys += [self._k(g.shard, "res:", k) for k in g.keys]
        keys += [self._rate_key(g.shard, c) for _, c in g.rates]
        args: list[Any] = [op.op_id, op.reservation_id or "", self.clock, _f(op.now), len(g.keys)]
        args.append(len(g.charges))
        for k, a in g.charges:
            args += [k, _f(a)]
        args.append(len(g.rates))
        for _, c in g.rates:
            args += [_f(c.limit), _f(c.window_s), _f(c.amount), c.algorithm]
        args.append(len(g.entries))
        for e in g.entries:
            args += [_f(e.ts), json.dumps(e.to_dict(), separators=(",", ":"))]
        return lua.SETTLE, keys, args

    def settle(self, op: SettleOp) -> None:
        groups = self._settle_groups(op)
        if groups:
            self._run([self._settle_call(g, op) for g in groups], "settle")

    def release(self, reservation_id: str, keys: Sequence[str]) -> None:
        try:
            pipe = self.client.pipeline(transaction=False)
            for k in keys:
                pipe.hdel(self._k(self.shard_of(k), "res:", k), reservation_id)
            pipe.execute()
        except self._redis_error as e:
            raise self._fail("release", e) from e

    # --- reading -----------------------------------------------------------------------------------------
    def usage(self, keys: Sequence[str], now: float) -> dict[str, tuple[float, float]]:
        by_shard: dict[int, list[str]] = {}
        for k in dict.fromkeys(keys):
            by_shard.setdefault(self.shard_of(k), []).append(k)
        calls = [
            (
                lua.USAGE,
                [self._k(s, "spent")] + [self._k(s, "res:", k) for k in ks],
                [self.clock, _f(now), *ks],
            )
            for s, ks in by_shard.items()
        ]
        out: dict[str, tuple[float, float]] = {}
        for ks, raw in zip(by_shard.values(), self._run(calls, "usage") if calls else [], strict=True):
            vals = [float(v) for v in raw]
            for j, k in enumerate(ks):
                out[k] = (vals[2 * j], vals[2 * j + 1])
        return {k: out.get(k, (0.0, 0.0)) for k in keys}

    def _ledger_pages(self, lo: str, hi: str) -> Iterator[list[Any]]:
        self._check_layout()
        pending = {s: 0 for s in range(self.shards)}
        while pending:
            pipe = self.client.pipeline(transaction=False)
            for s, offset in pending.items():
                pipe.zrangebyscore(self._k(s, "ledger"), lo, hi, start=offset, num=_PAGE)
            pages = pipe.execute()
            nxt = {}
            for (s, offset), page in zip(pending.items(), pages, strict=True):
                yield page
                if len(page) == _PAGE:
                    nxt[s] = offset + _PAGE
            pending = nxt

    def entries(self, since: float | None = None, until: float | None = None) -> list[LedgerEntry]:
        """Entries with ``since <= ts < until``: a bounded range read on each shard, a page at a time."""
        lo = "-inf" if since is None else _f(since)
        hi = "+inf" if until is None else f"({_f(until)}"
        try:
            out = [
                LedgerEntry.from_dict(json.loads(item))
                for page in self._ledger_pages(lo, hi)
                for item in page
            ]
        except self._redis_error as e:
            raise self._fail("ledger read", e) from e
        return sorted(out, key=lambda x: (x.ts, x.id))

    def prune(self, before: float) -> int:
        """Delete what is older than ``before`` (see ``_stores``); return the ledger entries deleted."""
        removed = 0
        for s in range(self.shards):
            while True:
                (n,) = self._run(
                    [(lua.PRUNE, [self._k(s, "ledger"), self._k(s, "settled")], [_f(before), _PRUNE_BATCH])],
                    "prune",
                )
                removed += int(n)
                if int(n) < _PRUNE_BATCH:
                    break
            try:  # counters of ended periods are never written again, so this needs no script
                fields = [
                    k.decode() if isinstance(k, bytes) else k for k in self.client.hkeys(self._k(s, "spent"))
                ]
                ended = ended_periods(fields, before)
                if ended:
                    pipe = self.client.pipeline(transaction=False)
                    pipe.hdel(self._k(s, "spent"), *ended)
                    for k in ended:
                        pipe.delete(self._k(s, "res:", k))
                    pipe.execute()
            except self._redis_error as e:
                raise self._fail("prune", e) from e
        try:
            self.client.zremrangebyscore(self._audit_key, "-inf", f"({_f(before)}")
        except self._redis_error as e:
            raise self._fail("prune", e) from e
        return removed

    # --- audit records (``_audit.AuditStore``): a sorted set scored by time, one JSON document a member ------
    @property
    def _audit_key(self) -> str:
        return self._k(0, "audit")  # one sorted set, in shard 0's slot (audits are few: a sampled share)

    def append_audit(self, records: Sequence[Mapping[str, Any]]) -> None:
        if not records:
            return
        members = {
            json.dumps(dict(r), sort_keys=True, separators=(",", ":")): float(r["ts"]) for r in records
        }
        try:
            self.client.zadd(self._audit_key, members)
        except self._redis_error as e:
            raise self._fail("audit write", e) from e

    def audit_records(self, since: float | None = None) -> list[dict[str, Any]]:
        low = "-inf" if since is None else _f(since)
        try:
            raw: list[Any] = self.client.zrangebyscore(self._audit_key, low, "+inf")
        except self._redis_error as e:
            raise self._fail("audit read", e) from e
        return [json.loads(m) for m in raw]

    def close(self) -> None:
        with contextlib.suppress(self._redis_error):
            self.client.close()


def _ok(out: Any) -> bool:
    first = out[0]
    return (first.decode() if isinstance(first, bytes) else str(first)) == "1"
