"""The Redis ledger store: many processes and machines share spend, reservations, rate limits and books.

``reserve`` and ``settle`` are Lua scripts, so each runs as one atomic step inside Redis: the check
"spent + reserved + estimate <= limit" and the reservation cannot be split by another worker.
All keys share one hash tag (``{namespace}``), so the scripts also work on a Redis Cluster.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import ConfigError, StorageError
from ._stores import LedgerEntry, ReserveOp, ReserveOutcome, SettleOp, ended_periods

__all__ = ["RedisStore"]

# Rate checks come first, then budgets; nothing is written unless everything passes.
_RESERVE = r"""
local p = KEYS[1]
local now = tonumber(ARGV[1]); local amount = tonumber(ARGV[2]); local rid = ARGV[3]
local expires = tonumber(ARGV[4]); local nr = tonumber(ARGV[5])
local i = 6
local rates = {}
for r = 1, nr do
  rates[r] = {key = ARGV[i], limit = tonumber(ARGV[i+1]), window = tonumber(ARGV[i+2]),
              amount = tonumber(ARGV[i+3]), algo = ARGV[i+4], record = ARGV[i+5] == '1'}
  i = i + 6
end
local nb = tonumber(ARGV[i]); i = i + 1
local budgets = {}
for b = 1, nb do budgets[b] = {key = ARGV[i], limit = ARGV[i+1]}; i = i + 2 end
local function fmt(x) return string.format('%.17g', x) end
local pending = {}
for r, c in ipairs(rates) do
  if c.algo == 'token_bucket' then
    local k = p .. 'tb:' .. c.key
    local st = redis.call('HMGET', k, 'tokens', 'ts')
    local rate = c.limit / c.window
    local avail = c.limit
    if st[1] then avail = math.min(c.limit, tonumber(st[1]) + (now - tonumber(st[2])) * rate) end
    if avail + 1e-12 < c.amount then
      return {'0', 'rate', c.key, '0', '0', fmt(c.limit), fmt((c.amount - avail) / rate)}
    end
    local after = avail
    if c.record then after = avail - c.amount end
    pending[r] = {k, after}
  else
    local k = p .. 'rl:' .. c.key
    redis.call('ZREMRANGEBYSCORE', k, '-inf', now - c.window)
    local ev = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')
    local used = 0
    local list = {}
    for j = 1, #ev, 2 do
      local a = tonumber(string.match(ev[j], '^[^|]*|([^|]*)'))
      used = used + a
      list[#list + 1] = {tonumber(ev[j + 1]), a}
    end
    if used + c.amount > c.limit + 1e-12 then
      local need = used + c.amount - c.limit
      local freed = 0
      local retry = c.window
      for _, e in ipairs(list) do
        freed = freed + e[2]
        if freed >= need - 1e-12 then retry = math.max(0, e[1] + c.window - now); break end
      end
      return {'0', 'rate', c.key, '0', '0', fmt(c.limit), fmt(retry)}
    end
    pending[r] = {k, nil}
  end
end
for _, b in ipairs(budgets) do
  local spent = tonumber(redis.call('HGET', p .. 'spent', b.key) or '0')
  local rk = p .. 'res:' .. b.key
  local res = redis.call('HGETALL', rk)
  local reserved = 0
  for j = 1, #res, 2 do
    local a, e = string.match(res[j + 1], '^([^|]*)|(.*)$')
    if tonumber(e) <= now then redis.call('HDEL', rk, res[j]) else reserved = reserved + tonumber(a) end
  end
  if b.limit ~= '' and spent + reserved + amount > tonumber(b.limit) + 1e-12 then
    return {'0', 'budget', b.key, fmt(spent), fmt(reserved), b.limit, ''}
  end
end
for r, c in ipairs(rates) do
  local k = pending[r][1]
  if c.algo == 'token_bucket' then
    redis.call('HSET', k, 'tokens', fmt(pending[r][2]), 'ts', fmt(now))
    redis.call('PEXPIRE', k, math.floor(c.window * 2000) + 1000)
  elseif c.record then
    redis.call('ZADD', k, now, rid .. '|' .. fmt(c.amount) .. '|' .. r)
    redis.call('PEXPIRE', k, math.floor(c.window * 1000) + 1000)
  end
end
for _, b in ipairs(budgets) do
  redis.call('HSET', p .. 'res:' .. b.key, rid, fmt(amount) .. '|' .. fmt(expires))
end
return {'1'}
"""

_SETTLE = r"""
local p = KEYS[1]
local op = ARGV[1]; local rid = ARGV[2]; local now = tonumber(ARGV[3])
if redis.call('ZADD', p .. 'settled_at', 'NX', now, op) == 0 then return 0 end
local i = 4
local nk = tonumber(ARGV[i]); i = i + 1
for k = 1, nk do
  if rid ~= '' then redis.call('HDEL', p .. 'res:' .. ARGV[i], rid) end
  i = i + 1
end
local nc = tonumber(ARGV[i]); i = i + 1
for c = 1, nc do redis.call('HINCRBYFLOAT', p .. 'spent', ARGV[i], ARGV[i + 1]); i = i + 2 end
local nr = tonumber(ARGV[i]); i = i + 1
for r = 1, nr do
  local key, limit, window, amount, algo = ARGV[i], tonumber(ARGV[i+1]), tonumber(ARGV[i+2]), tonumber(ARGV[i+3]), ARGV[i+4]
  i = i + 5
  if algo == 'token_bucket' then
    local k = p .. 'tb:' .. key
    local st = redis.call('HMGET', k, 'tokens', 'ts')
    local avail = limit
    if st[1] then avail = math.min(limit, tonumber(st[1]) + (now - tonumber(st[2])) * limit / window) end
    redis.call('HSET', k, 'tokens', string.format('%.17g', avail - amount), 'ts', string.format('%.17g', now))
    redis.call('PEXPIRE', k, math.floor(window * 2000) + 1000)
  else
    local k = p .. 'rl:' .. key
    redis.call('ZADD', k, now, op .. '|' .. string.format('%.17g', amount) .. '|' .. r)
    redis.call('PEXPIRE', k, math.floor(window * 1000) + 1000)
  end
end
local ne = tonumber(ARGV[i]); i = i + 1
for e = 1, ne do redis.call('RPUSH', p .. 'ledger', ARGV[i]); i = i + 1 end
return 1
"""


# Oldest first: pop ledger entries while the head is older than ``before`` (at most ``cap`` a call, so one
# call never blocks Redis for long). Entries from several workers can land slightly out of time order;
# pruning stops at the first newer one, so it may keep an old entry but never deletes a newer one.
_PRUNE = r"""
local p = KEYS[1]
local before = tonumber(ARGV[1]); local cap = tonumber(ARGV[2])
local n = 0
while n < cap do
  local head = redis.call('LINDEX', p .. 'ledger', 0)
  if not head then break end
  local ts = tonumber(cjson.decode(head)['ts'])
  if ts == nil or ts >= before then break end
  redis.call('LPOP', p .. 'ledger')
  n = n + 1
end
if n < cap then redis.call('ZREMRANGEBYSCORE', p .. 'settled_at', '-inf', '(' .. ARGV[1]) end
return n
"""
_PRUNE_BATCH = 5000


def _f(x: float) -> str:
    return repr(float(x))


class RedisStore:
    """Ledger state in Redis, shared by every process and machine that points at it.

    Args:
        url_or_client: a ``redis://`` URL or a ``redis.Redis`` client (``decode_responses`` either way).
        namespace: prefix of every key, so several applications can share one Redis.

    Example:
        >>> store = RedisStore("redis://127.0.0.1:6379/0")  # doctest: +SKIP
    """

    def __init__(
        self, url_or_client: Any = "redis://127.0.0.1:6379/0", *, namespace: str = "cascadeflow"
    ) -> None:
        try:
            import redis
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ConfigError(
                "RedisStore", "the redis package is not installed", "pip install 'cascadeflow-core[redis]'"
            ) from e
        if not isinstance(namespace, str) or not namespace or "}" in namespace:
            raise ConfigError(
                "RedisStore.namespace", f"must be a non-empty string without '}}', got {namespace!r}"
            )
        self.namespace = namespace
        self._prefix = f"{{{namespace}}}:"
        if isinstance(url_or_client, str):
            self.url: str | None = url_or_client
            self.client = redis.Redis.from_url(url_or_client)
        elif hasattr(url_or_client, "evalsha"):
            self.url = None
            self.client = url_or_client
        else:
            raise ConfigError(
                "RedisStore.url_or_client",
                f"got {type(url_or_client).__name__}",
                'give a URL like "redis://localhost:6379/0" or a redis.Redis client',
            )
        self._redis_error = redis.RedisError
        self._reserve = self.client.register_script(_RESERVE)
        self._settle = self.client.register_script(_SETTLE)
        self._prune = self.client.register_script(_PRUNE)

    def __repr__(self) -> str:
        where = _safe_url(self.url) if self.url else type(self.client).__name__
        return f"RedisStore({where!r}, namespace={self.namespace!r})"

    def __getstate__(self) -> dict[str, Any]:
        if self.url is None:
            raise TypeError("a RedisStore built from a client cannot be pickled; build it from a URL")
        return {"url": self.url, "namespace": self.namespace}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"], namespace=state["namespace"])  # type: ignore[misc]

    def _fail(self, what: str, e: Exception) -> StorageError:
        return StorageError(
            f"Redis store {_safe_url(self.url) if self.url else ''} {what} failed: {type(e).__name__}: {e}"
        )

    def reserve(self, op: ReserveOp) -> ReserveOutcome:
        args: list[Any] = [_f(op.now), _f(op.amount), op.reservation_id, _f(op.expires_at), len(op.rates)]
        for c in op.rates:
            args += [c.key, _f(c.limit), _f(c.window_s), _f(c.amount), c.algorithm, "1" if c.record else "0"]
        args.append(len(op.budgets))
        for b in op.budgets:
            args += [b.key, "" if b.limit is None else _f(b.limit)]
        try:
            out = self._reserve(keys=[self._prefix], args=args)
        except self._redis_error as e:
            raise self._fail("reserve", e) from e
        vals = [v.decode() if isinstance(v, bytes) else str(v) for v in out]
        if vals[0] == "1":
            return ReserveOutcome(True)
        return ReserveOutcome(
            False,
            vals[1],
            vals[2],
            float(vals[3]),
            float(vals[4]),
            float(vals[5]) if vals[5] else None,
            float(vals[6]) if vals[6] else None,
        )

    def settle(self, op: SettleOp) -> None:
        args: list[Any] = [
            op.op_id,
            op.reservation_id or "",
            _f(op.now),
            len(op.keys),
            *op.keys,
            len(op.charges),
        ]
        for k, a in op.charges.items():
            args += [k, _f(a)]
        args.append(len(op.rates))
        for c in op.rates:
            args += [c.key, _f(c.limit), _f(c.window_s), _f(c.amount), c.algorithm]
        args.append(len(op.entries))
        args += [json.dumps(e.to_dict(), separators=(",", ":")) for e in op.entries]
        try:
            self._settle(keys=[self._prefix], args=args)
        except self._redis_error as e:
            raise self._fail("settle", e) from e

    def release(self, reservation_id: str, keys: Sequence[str]) -> None:
        try:
            pipe = self.client.pipeline()
            for k in keys:
                pipe.hdel(f"{self._prefix}res:{k}", reservation_id)
            pipe.execute()
        except self._redis_error as e:
            raise self._fail("release", e) from e

    def usage(self, keys: Sequence[str], now: float) -> dict[str, tuple[float, float]]:
        try:
            pipe = self.client.pipeline(transaction=True)
            for k in keys:
                pipe.hget(f"{self._prefix}spent", k)
                pipe.hgetall(f"{self._prefix}res:{k}")
            raw = pipe.execute()
        except self._redis_error as e:
            raise self._fail("usage", e) from e
        out = {}
        for i, k in enumerate(keys):
            spent, res = raw[2 * i], raw[2 * i + 1]
            reserved = 0.0
            for v in res.values():
                amount, expires = (v.decode() if isinstance(v, bytes) else v).split("|")
                if float(expires) > now:
                    reserved += float(amount)
            out[k] = (float(spent) if spent is not None else 0.0, reserved)
        return out

    def entries(self, since: float | None = None, until: float | None = None) -> list[LedgerEntry]:
        try:
            raw = self.client.lrange(f"{self._prefix}ledger", 0, -1)
        except self._redis_error as e:
            raise self._fail("ledger read", e) from e
        out = []
        for item in raw:
            entry = LedgerEntry.from_dict(json.loads(item))
            if (since is None or entry.ts >= since) and (until is None or entry.ts < until):
                out.append(entry)
        return sorted(out, key=lambda x: (x.ts, x.id))

    def prune(self, before: float) -> int:
        """Delete what is older than ``before`` (see ``_stores``); return the ledger entries deleted."""
        removed = 0
        try:
            while True:
                n = int(self._prune(keys=[self._prefix], args=[_f(before), _PRUNE_BATCH]))
                removed += n
                if n < _PRUNE_BATCH:
                    break
            # Counters of ended periods are never written again, so this needs no script.
            keys = [
                k.decode() if isinstance(k, bytes) else k for k in self.client.hkeys(f"{self._prefix}spent")
            ]
            self.client.zremrangebyscore(f"{self._prefix}audit", "-inf", f"({_f(before)}")
            ended = ended_periods(keys, before)
            if ended:
                pipe = self.client.pipeline(transaction=True)
                pipe.hdel(f"{self._prefix}spent", *ended)
                pipe.delete(*(f"{self._prefix}res:{k}" for k in ended))
                pipe.execute()
        except self._redis_error as e:
            raise self._fail("prune", e) from e
        return removed

    # --- audit records (``_audit.AuditStore``): a sorted set scored by time, one JSON document a member ------
    def append_audit(self, records: Sequence[Mapping[str, Any]]) -> None:
        if not records:
            return
        members = {
            json.dumps(dict(r), sort_keys=True, separators=(",", ":")): float(r["ts"]) for r in records
        }
        try:
            self.client.zadd(f"{self._prefix}audit", members)
        except self._redis_error as e:
            raise self._fail("audit write", e) from e

    def audit_records(self, since: float | None = None) -> list[dict[str, Any]]:
        low = "-inf" if since is None else _f(since)
        try:
            raw: list[Any] = self.client.zrangebyscore(f"{self._prefix}audit", low, "+inf")
        except self._redis_error as e:
            raise self._fail("audit read", e) from e
        return [json.loads(m) for m in raw]

    def close(self) -> None:
        with contextlib.suppress(self._redis_error):
            self.client.close()


def _safe_url(url: str | None) -> str:
    """The URL without its password (never shown in errors or reprs)."""
    if not url or "@" not in url:
        return url or ""
    scheme, rest = url.split("://", 1) if "://" in url else ("", url)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
