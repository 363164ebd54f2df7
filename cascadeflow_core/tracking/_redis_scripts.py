"""The Lua scripts of the Redis store. Every key a script touches arrives in ``KEYS``; none is built inside.

All keys of one call share a hash tag (one shard of the store, see ``_store_redis``), so each call runs on
one Redis Cluster slot and proxies, Dragonfly and Kvrocks route it correctly. Windows use the server's
clock (``TIME``, allowed in scripts by effects replication, the default since Redis 5 and the only mode
since 7) unless the store was built with ``clock="tracker"``.
"""

from __future__ import annotations

__all__ = ["PRUNE", "RESERVE", "SETTLE", "UNDO", "USAGE"]

_NOW = r"""
local function clock(mode, given)
  if mode == 'server' then
    local t = redis.call('TIME')
    return tonumber(t[1]) + tonumber(t[2]) / 1000000
  end
  return tonumber(given)
end
local function fmt(x) return string.format('%.17g', x) end
"""

# KEYS: spent hash, then one key per rate check, then one reservation hash per budget.
# ARGV: clock mode, tracker now, amount, reservation id, ttl, nr, nr x (limit window amount algo record),
#       nb, nb x (budget field, limit or '').
# Rate checks first, then budgets; nothing is written unless everything passes. Returns {'1', spent,
# reserved per budget (before this hold)} or {'0', kind, index, spent, reserved, limit, retry_after}.
RESERVE = (
    _NOW
    + r"""
local now = clock(ARGV[1], ARGV[2])
local amount = tonumber(ARGV[3]); local rid = ARGV[4]; local expires = now + tonumber(ARGV[5])
local nr = tonumber(ARGV[6]); local i = 7
local rates = {}
for r = 1, nr do
  rates[r] = {key = KEYS[1 + r], limit = tonumber(ARGV[i]), window = tonumber(ARGV[i+1]),
              amount = tonumber(ARGV[i+2]), algo = ARGV[i+3], record = ARGV[i+4] == '1'}
  i = i + 5
end
local nb = tonumber(ARGV[i]); i = i + 1
local budgets = {}
for b = 1, nb do budgets[b] = {res = KEYS[1 + nr + b], field = ARGV[i], limit = ARGV[i+1]}; i = i + 2 end
-- A retried call (the reply was lost, or the write was not confirmed by a replica) finds its own earlier
-- reservation and rate event under the same id: they are not counted, and removed if it now refuses.
local function undo_own()
  for r, c in ipairs(rates) do
    if c.algo ~= 'token_bucket' then redis.call('ZREM', c.key, rid .. '|' .. fmt(c.amount) .. '|' .. r) end
  end
  for _, c in ipairs(budgets) do redis.call('HDEL', c.res, rid) end
end
local mine = rid .. '|'
local after = {}
for r, c in ipairs(rates) do
  if c.algo == 'token_bucket' then
    local st = redis.call('HMGET', c.key, 'tokens', 'ts')
    local rate = c.limit / c.window
    local avail = c.limit
    if st[1] then avail = math.min(c.limit, tonumber(st[1]) + math.max(0, now - tonumber(st[2])) * rate) end
    if avail + 1e-12 < c.amount then
      undo_own()
      return {'0', 'rate', tostring(r), '0', '0', fmt(c.limit), fmt((c.amount - avail) / rate)}
    end
    after[r] = avail
    if c.record then after[r] = avail - c.amount end
  else
    redis.call('ZREMRANGEBYSCORE', c.key, '-inf', now - c.window)
    local ev = redis.call('ZRANGE', c.key, 0, -1, 'WITHSCORES')
    local used = 0
    local list = {}
    for j = 1, #ev, 2 do
      if string.sub(ev[j], 1, #mine) ~= mine then
        local a = tonumber(string.match(ev[j], '^[^|]*|([^|]*)'))
        used = used + a
        list[#list + 1] = {tonumber(ev[j + 1]), a}
      end
    end
    if used + c.amount > c.limit + 1e-12 then
      undo_own()
      local need = used + c.amount - c.limit
      local freed = 0
      local retry = c.window
      for _, e in ipairs(list) do
        freed = freed + e[2]
        if freed >= need - 1e-12 then retry = math.max(0, e[1] + c.window - now); break end
      end
      return {'0', 'rate', tostring(r), '0', '0', fmt(c.limit), fmt(retry)}
    end
  end
end
for b, c in ipairs(budgets) do
  local spent = tonumber(redis.call('HGET', KEYS[1], c.field) or '0')
  local res = redis.call('HGETALL', c.res)
  local reserved = 0
  for j = 1, #res, 2 do
    local a, e = string.match(res[j + 1], '^([^|]*)|(.*)$')
    if res[j] == rid then
    elseif tonumber(e) <= now then redis.call('HDEL', c.res, res[j])
    else reserved = reserved + tonumber(a) end
  end
  if c.limit ~= '' and spent + reserved + amount > tonumber(c.limit) + 1e-12 then
    undo_own()
    return {'0', 'budget', tostring(b), fmt(spent), fmt(reserved), c.limit, ''}
  end
  c.spent = spent; c.reserved = reserved
end
for r, c in ipairs(rates) do
  if c.algo == 'token_bucket' then
    redis.call('HSET', c.key, 'tokens', fmt(after[r]), 'ts', fmt(now))
    redis.call('PEXPIRE', c.key, math.floor(c.window * 2000) + 1000)
  elseif c.record then
    redis.call('ZADD', c.key, now, rid .. '|' .. fmt(c.amount) .. '|' .. r)
    redis.call('PEXPIRE', c.key, math.floor(c.window * 1000) + 1000)
  end
end
local out = {'1'}
for _, c in ipairs(budgets) do
  redis.call('HSET', c.res, rid, fmt(amount) .. '|' .. fmt(expires))
  out[#out + 1] = fmt(c.spent); out[#out + 1] = fmt(c.reserved)
end
return out
"""
)

# Undo a RESERVE that succeeded on this shard while another shard of the same admission refused.
# KEYS: one key per rate check, then one reservation hash per budget (as RESERVE, without the spent hash).
# ARGV: reservation id, nr, nr x (limit amount algo record).
UNDO = r"""
local rid = ARGV[1]; local nr = tonumber(ARGV[2]); local i = 3
for r = 1, nr do
  local limit, amount, algo, record = tonumber(ARGV[i]), tonumber(ARGV[i+1]), ARGV[i+2], ARGV[i+3] == '1'
  i = i + 4
  if algo == 'token_bucket' then
    if record then
      local tokens = tonumber(redis.call('HGET', KEYS[r], 'tokens') or tostring(limit))
      redis.call('HSET', KEYS[r], 'tokens', string.format('%.17g', math.min(limit, tokens + amount)))
    end
  elseif record then
    redis.call('ZREM', KEYS[r], rid .. '|' .. string.format('%.17g', amount) .. '|' .. r)
  end
end
for k = nr + 1, #KEYS do redis.call('HDEL', KEYS[k], rid) end
return 1
"""

# KEYS: settled zset, spent hash, ledger zset, then nk reservation hashes, then nr rate keys.
# ARGV: op id, reservation id or '', clock mode, tracker now, nk, nc, nc x (field amount),
#       nr, nr x (limit window amount algo), ne, ne x (ts json).
# Idempotent: an op id already in the settled set changes nothing.
SETTLE = (
    _NOW
    + r"""
local op = ARGV[1]; local rid = ARGV[2]; local now = clock(ARGV[3], ARGV[4])
if redis.call('ZADD', KEYS[1], 'NX', now, op) == 0 then return 0 end
local nk = tonumber(ARGV[5]); local i = 6
if rid ~= '' then for k = 1, nk do redis.call('HDEL', KEYS[3 + k], rid) end end
local nc = tonumber(ARGV[i]); i = i + 1
for c = 1, nc do redis.call('HINCRBYFLOAT', KEYS[2], ARGV[i], ARGV[i + 1]); i = i + 2 end
local nr = tonumber(ARGV[i]); i = i + 1
for r = 1, nr do
  local k = KEYS[3 + nk + r]
  local limit, window, amount, algo = tonumber(ARGV[i]), tonumber(ARGV[i+1]), tonumber(ARGV[i+2]), ARGV[i+3]
  i = i + 4
  if algo == 'token_bucket' then
    local st = redis.call('HMGET', k, 'tokens', 'ts')
    local avail = limit
    if st[1] then
      avail = math.min(limit, tonumber(st[1]) + math.max(0, now - tonumber(st[2])) * limit / window)
    end
    redis.call('HSET', k, 'tokens', fmt(avail - amount), 'ts', fmt(now))
    redis.call('PEXPIRE', k, math.floor(window * 2000) + 1000)
  else
    redis.call('ZADD', k, now, op .. '|' .. fmt(amount) .. '|' .. r)
    redis.call('PEXPIRE', k, math.floor(window * 1000) + 1000)
  end
end
local ne = tonumber(ARGV[i]); i = i + 1
for e = 1, ne do redis.call('ZADD', KEYS[3], ARGV[i], ARGV[i + 1]); i = i + 2 end
return 1
"""
)

# KEYS: spent hash, then one reservation hash per field. ARGV: clock mode, tracker now, the fields.
# Returns spent, reserved for each field (live reservations only).
USAGE = (
    _NOW
    + r"""
local now = clock(ARGV[1], ARGV[2])
local out = {}
for f = 3, #ARGV do
  local res = redis.call('HGETALL', KEYS[f - 1])
  local reserved = 0
  for j = 1, #res, 2 do
    local a, e = string.match(res[j + 1], '^([^|]*)|(.*)$')
    if tonumber(e) > now then reserved = reserved + tonumber(a) end
  end
  out[#out + 1] = redis.call('HGET', KEYS[1], ARGV[f]) or '0'
  out[#out + 1] = fmt(reserved)
end
return out
"""
)

# KEYS: ledger zset, settled zset. ARGV: before, cap. Deletes at most ``cap`` ledger entries older than
# ``before`` (the lowest scores, so by rank), so one call never blocks Redis for long; returns how many.
PRUNE = r"""
local before = '(' .. ARGV[1]
local n = redis.call('ZCOUNT', KEYS[1], '-inf', before)
local cap = tonumber(ARGV[2])
if n > cap then n = cap end
if n > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - 1) end
if n < cap then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', before) end
return n
"""
