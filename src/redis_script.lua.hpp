#pragma once
// The matchmaking script, run by EVALSHA (see docs/redis.md). It is one
// script with an operation name as its first argument, so every instance runs
// exactly the same rules and Redis runs each operation atomically: two
// instances can never both take the same waiting user.
//
// Embedded as a raw string rather than installed as a .lua file: the binary
// then cannot run with a script of another version, and needs no install
// path. Keys are built inside the script, so it needs a single (non-cluster)
// Redis, which is what this store supports.
//
// Arguments: op, instance, fallback_ms, pair_timeout_ms, resume_ms,
// held_max, recent_max, session_ttl_ms, instance_ttl_ms, then the op's own.
// Reply: {delay_ms to the next deadline or -1, {local actions}, {extra}}.
// An action is "to US kind US a US b": kinds q (queued: mode, interests),
// m (matched: role, common, partner), s (signal: data), l (peer_left:
// reason), e (error: code, ref). Lists inside a field are joined with RS.
// Batches published to another instance's channel are joined with GS.

namespace serendip::detail {

inline constexpr const char* redis_script = R"LUA(
local US, RS, GS = '\31', '\30', '\29'
local OP, SELF = ARGV[1], ARGV[2]
local FALLBACK, PAIR_TIMEOUT, RESUME = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local HELD_MAX, RECENT_MAX = tonumber(ARGV[6]), tonumber(ARGV[7])
local SESS_TTL, INST_TTL = tonumber(ARGV[8]), tonumber(ARGV[9])
local HOLD_TTL = RESUME + SESS_TTL
local EXPIRES = tonumber(ARGV[10])

local t = redis.call('TIME')
local NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local NOW_US = tonumber(t[1]) * 1000000 + tonumber(t[2])

local function S(n) return string.format('%.0f', n) end
local function SK(id) return 'sd:s:' .. id end
local function BK(id) return 'sd:b:' .. id end
local function HK(id) return 'sd:h:' .. id end
local function QK(mode) return 'sd:q:' .. mode end
local function OK_(inst) return 'sd:o:' .. inst end
local function IK(inst) return 'sd:i:' .. inst end
local DK, INSTS = 'sd:d', 'sd:I'

local function split(s, sep)
  local out = {}
  if not s or s == '' then return out end
  local start = 1
  while true do
    local i = string.find(s, sep, start, true)
    if not i then out[#out + 1] = string.sub(s, start); break end
    out[#out + 1] = string.sub(s, start, i - 1)
    start = i + 1
  end
  return out
end
local function has(list, x)
  for _, v in ipairs(list) do if v == x then return true end end
  return false
end

local out = {}        -- actions for sessions of this instance
local pubs = {}       -- instance -> actions for it
local alive_cache = {}
local function alive(inst)
  if inst == SELF then return true end
  local a = alive_cache[inst]
  if a == nil then
    a = redis.call('EXISTS', IK(inst)) == 1
    alive_cache[inst] = a
  end
  return a
end

-- Whether the instance's subscriber is connected: a killed instance loses it
-- at once (the kernel closes its socket), long before its key expires.
local listening_cache = {}
local function listening(inst)
  if inst == SELF then return true end
  local l = listening_cache[inst]
  if l == nil then
    l = tonumber(redis.call('PUBSUB', 'NUMSUB', 'sd:c:' .. inst)[2]) > 0
    listening_cache[inst] = l
  end
  return l
end

-- Every key of a session gets the TTL its state calls for.
local function touch(id)
  local h = redis.call('HMGET', SK(id), 'c', 'k')
  if not h[1] then return end
  local ttl = (h[1] == '1') and SESS_TTL or HOLD_TTL
  redis.call('PEXPIRE', SK(id), ttl)
  redis.call('PEXPIRE', BK(id), ttl)
  redis.call('PEXPIRE', HK(id), ttl)
  if h[2] then redis.call('PEXPIRE', 'sd:t:' .. h[2], ttl) end
end

-- `h`, if given, is the recipient's {c, i, hn}, already read.
local function emit(to, kind, a, b, c, h)
  h = h or redis.call('HMGET', SK(to), 'c', 'i', 'hn')
  if not h[1] then return end
  local enc = kind .. US .. (a or '') .. US .. (b or '') .. US .. (c or '')
  if h[1] == '1' then
    if h[2] == SELF then
      out[#out + 1] = to .. US .. enc
    else
      local list = pubs[h[2]]
      if not list then list = {}; pubs[h[2]] = list end
      list[#list + 1] = to .. US .. enc
    end
    return
  end
  -- Away: kept for the resume, signals up to a bound (the first carry the offer).
  if kind == 's' then
    if tonumber(h[3] or '0') >= HELD_MAX then return end
    redis.call('HINCRBY', SK(to), 'hn', 1)
  end
  redis.call('RPUSH', HK(to), enc)
  redis.call('PEXPIRE', HK(to), HOLD_TTL)
end

local added_deadline = false
local function deadline(at, kind, id, gen)
  added_deadline = true
  redis.call('ZADD', DK, S(at), kind .. US .. id .. US .. gen)
  redis.call('PEXPIRE', DK, SESS_TTL + RESUME + PAIR_TIMEOUT)
end

local function dequeue(id)
  local h = redis.call('HMGET', SK(id), 'q', 'qm')
  if h[1] then
    redis.call('ZREM', QK(h[2]), id)
    redis.call('HDEL', SK(id), 'q', 'qm', 'qs')
  end
end

local function remember(id, partner)
  local r = split(redis.call('HGET', SK(id), 'r'), RS)
  r[#r + 1] = partner
  while #r > RECENT_MAX do table.remove(r, 1) end
  redis.call('HSET', SK(id), 'r', table.concat(r, RS))
end

local function end_pair(id, reason)
  local partner = redis.call('HGET', SK(id), 'p')
  if not partner then return end
  redis.call('HDEL', SK(id), 'p', 'pid', 'ps')
  if redis.call('HGET', SK(partner), 'p') == id then
    redis.call('HDEL', SK(partner), 'p', 'pid', 'ps')
    remember(partner, id)
  end
  remember(id, partner)
  emit(partner, 'l', reason)
end

local function is_open(ints, fb, since)
  return ints == '' or (fb == '1' and NOW - tonumber(since) >= FALLBACK)
end

local function pair_up(older, newer, o_ints, n_ints)
  local common = {}
  local nl = split(n_ints, RS)
  for _, x in ipairs(split(o_ints, RS)) do if has(nl, x) then common[#common + 1] = x end end
  dequeue(older)
  dequeue(newer)
  local pid = S(NOW_US)
  redis.call('HSET', SK(older), 'p', newer, 'pid', pid, 'ps', '0')
  redis.call('HSET', SK(newer), 'p', older, 'pid', pid, 'ps', '0')
  local c = table.concat(common, RS)
  -- Rule 7: the longer-waiting side makes the offer.
  emit(older, 'm', 'offerer', c, newer)
  emit(newer, 'm', 'answerer', c, older)
  deadline(NOW + PAIR_TIMEOUT, 't', older, pid)
end

-- Rules 1-3: a shared interest beats none, a non-recent partner beats a
-- recent one (recent ones only when nobody else fits), then FIFO.
local function try_match(id)
  local me = redis.call('HMGET', SK(id), 'q', 'qm', 'ji', 'jf', 'qs', 'r')
  if not me[1] then return false end
  local my_ints = split(me[3], RS)
  local my_recent = split(me[6], RS)
  local my_open = is_open(me[3] or '', me[4], me[5])
  local cands = redis.call('ZRANGE', QK(me[2]), 0, 999, 'WITHSCORES')
  local best, best_rank, best_seq, best_ints = nil, 4, nil, nil
  for i = 1, #cands, 2 do
    local cid = cands[i]
    if cid ~= id and redis.call('SISMEMBER', BK(id), cid) == 0 then
      local c = redis.call('HMGET', SK(cid), 'c', 'i', 'ji', 'jf', 'qs', 'r', 'q')
      if not c[1] or c[1] ~= '1' or not c[7] then
        -- Expired or no longer waiting: a stale entry.
        redis.call('ZREM', QK(me[2]), cid)
      elseif alive(c[2]) and listening(c[2]) then
        local shared = false
        for _, x in ipairs(split(c[3], RS)) do if has(my_ints, x) then shared = true; break end end
        if shared or (my_open and is_open(c[3] or '', c[4], c[5])) then
          local recent = has(my_recent, cid) or has(split(c[6], RS), id)
          local rank = (recent and 2 or 0) + (shared and 0 or 1)
          if rank < best_rank then
            best, best_rank, best_seq, best_ints = cid, rank, tonumber(cands[i + 1]), c[3] or ''
            -- Without interests of my own, no candidate can share one: the first fit is best.
            if rank == 0 or (rank == 1 and #my_ints == 0) then break end
          end
        end
      end
    end
  end
  if not best then return false end
  if tonumber(me[1]) < best_seq then pair_up(id, best, me[3] or '', best_ints)
  else pair_up(best, id, best_ints, me[3] or '') end
  return true
end

local function enqueue(id, quiet)
  local j = redis.call('HMGET', SK(id), 'jm', 'ji', 'jf')
  if not j[1] then return end
  local seq = S(NOW_US)
  redis.call('ZADD', QK(j[1]), seq, id)
  redis.call('PEXPIRE', QK(j[1]), SESS_TTL)
  redis.call('HSET', SK(id), 'q', seq, 'qm', j[1], 'qs', S(NOW))
  if not quiet then emit(id, 'q', j[1], j[2] or '') end
  if not try_match(id) and (j[2] or '') ~= '' and j[3] == '1' then
    deadline(NOW + FALLBACK, 'o', id, seq)
  end
end

-- The connection dropped: out of the queue at once, the session held.
local function hold(id)
  local h = redis.call('HMGET', SK(id), 'c', 'i')
  if h[1] ~= '1' then return end
  dequeue(id)
  local gen = S(NOW_US)
  redis.call('HSET', SK(id), 'c', '0', 'hg', gen)
  redis.call('SREM', OK_(h[2]), id)
  deadline(NOW + RESUME, 'h', id, gen)
  touch(id)
end

local function erase(id)
  local k = redis.call('HGET', SK(id), 'k')
  if k then redis.call('DEL', 'sd:t:' .. k) end
  redis.call('DEL', SK(id), BK(id), HK(id))
end

-- An instance that stopped beating: its sessions are held like dropped ones,
-- so their clients may resume elsewhere and their partners hear of it.
local function bury(inst)
  for _, id in ipairs(redis.call('SMEMBERS', OK_(inst))) do
    if redis.call('HGET', SK(id), 'i') == inst then hold(id) end
  end
  redis.call('DEL', OK_(inst), IK(inst))
  redis.call('ZREM', INSTS, inst)
end

local function create(id, tok)
  redis.call('HSET', SK(id), 'i', SELF, 'k', tok, 'c', '1')
  redis.call('SET', 'sd:t:' .. tok, id)
  redis.call('SADD', OK_(SELF), id)
  redis.call('PEXPIRE', OK_(SELF), SESS_TTL)
  touch(id)
end

-- The session as this instance knows it: recreated if Redis lost it,
-- re-attached if it was held by mistake (this instance looked dead).
-- False if another instance owns it now (it resumed there).
local function ensure(id, tok)
  local h = redis.call('HMGET', SK(id), 'i', 'c')
  if not h[1] then create(id, tok); return true end
  if h[1] ~= SELF then return false end
  if h[2] ~= '1' then
    redis.call('HSET', SK(id), 'c', '1')
    redis.call('HDEL', SK(id), 'hg')
    redis.call('SADD', OK_(SELF), id)
    touch(id)
  end
  return true
end

local function due_delay()
  local d = redis.call('ZRANGE', DK, 0, 0, 'WITHSCORES')
  if #d == 0 then return -1 end
  local delay = tonumber(d[2]) - NOW
  if delay < 0 then delay = 0 end
  return delay
end

-- The delay to the earliest deadline is only worth reading when this call
-- added one (or is a tick/beat): the caller arms its timer with it.
local function finish(extra, with_delay)
  for inst, list in pairs(pubs) do
    redis.call('PUBLISH', 'sd:c:' .. inst, table.concat(list, GS))
  end
  local delay = -1
  if added_deadline or with_delay then delay = due_delay() end
  return {delay, out, extra or {}}
end

local function tick()
  local due = redis.call('ZRANGEBYSCORE', DK, '-inf', S(NOW), 'LIMIT', 0, 500)
  for _, m in ipairs(due) do
    redis.call('ZREM', DK, m)
    local f = split(m, US)
    local kind, id, gen = f[1], f[2], f[3]
    local h = redis.call('HMGET', SK(id), 'q', 'pid', 'ps', 'p', 'c', 'hg')
    if kind == 'o' then
      if h[1] == gen then try_match(id) end
    elseif kind == 't' then
      -- Rule 8: a pair that never signalled is ended for both.
      if h[4] and h[2] == gen and h[3] ~= '1' then
        end_pair(id, 'timeout')
        emit(id, 'l', 'timeout')
      end
    elseif kind == 'h' then
      if h[5] == '0' and h[6] == gen then
        if h[4] then end_pair(id, 'disconnect') end
        erase(id)
      end
    end
  end
end

local A = 11  -- first op argument
-- A client operation whose sender gave up waiting (Redis was frozen, the
-- reply late) must not take effect afterwards: the client was told
-- `unavailable`.
if EXPIRES > 0 and NOW > EXPIRES then return {-1, {}, {'stale'}} end
if OP == 'connect' then
  if redis.call('EXISTS', SK(ARGV[A])) == 0 then create(ARGV[A], ARGV[A + 1]) end
  return finish()
elseif OP == 'resume' then
  local id = redis.call('GET', 'sd:t:' .. ARGV[A])
  if not id then return finish({'-'}) end
  local h = redis.call('HMGET', SK(id), 'i', 'c', 'k', 'jm', 'ji', 'jf', 'p', 'q')
  if not h[1] or h[3] ~= ARGV[A] then return finish({'-'}) end
  redis.call('DEL', 'sd:t:' .. ARGV[A])
  redis.call('SET', 'sd:t:' .. ARGV[A + 1], id)
  redis.call('SREM', OK_(h[1]), id)
  redis.call('HSET', SK(id), 'i', SELF, 'k', ARGV[A + 1], 'c', '1', 'hn', '0')
  redis.call('HDEL', SK(id), 'hg')
  redis.call('SADD', OK_(SELF), id)
  redis.call('PEXPIRE', OK_(SELF), SESS_TTL)
  local held = redis.call('LRANGE', HK(id), 0, -1)
  redis.call('DEL', HK(id))
  touch(id)
  local extra = {id, h[4] or '', h[5] or '', h[6] or '', h[7] or '', h[8] and '1' or '0', h[1]}
  for _, x in ipairs(held) do extra[#extra + 1] = x end
  return finish(extra)
elseif OP == 'join' then
  local id = ARGV[A]
  if not ensure(id, ARGV[A + 1]) then return finish() end
  end_pair(id, 'next')
  dequeue(id)
  redis.call('HSET', SK(id), 'jm', ARGV[A + 2], 'ji', ARGV[A + 3], 'jf', ARGV[A + 4])
  enqueue(id, false)
  return finish()
elseif OP == 'next' then
  local id = ARGV[A]
  if not ensure(id, ARGV[A + 1]) then return finish() end
  local h = redis.call('HMGET', SK(id), 'jm', 'q', 'ji')
  if not h[1] then
    emit(id, 'e', 'bad_message', 'next')
    return finish()
  end
  end_pair(id, 'next')
  -- Already waiting: keep the place in line.
  if h[2] then emit(id, 'q', h[1], h[3] or '') else enqueue(id, false) end
  return finish()
elseif OP == 'leave' then
  local id = ARGV[A]
  if not ensure(id, ARGV[A + 1]) then return finish() end
  end_pair(id, 'leave')
  dequeue(id)
  return finish()
elseif OP == 'report' then
  local id = ARGV[A]
  if not ensure(id, ARGV[A + 1]) then return finish() end
  local partner = redis.call('HGET', SK(id), 'p')
  if not partner then
    emit(id, 'e', 'not_paired', 'report')
    return finish()
  end
  redis.call('SADD', BK(id), partner)
  redis.call('SADD', BK(partner), id)
  touch(id)
  touch(partner)
  end_pair(id, 'report')
  enqueue(id, false)
  return finish()
elseif OP == 'signal' then
  -- The hot path: two reads when all is well.
  local id = ARGV[A]
  local me = redis.call('HMGET', SK(id), 'i', 'c', 'p', 'ps')
  if me[1] ~= SELF or me[2] ~= '1' then
    if not ensure(id, ARGV[A + 1]) then return finish() end
    me = redis.call('HMGET', SK(id), 'i', 'c', 'p', 'ps')
  end
  local partner = me[3]
  if not partner then
    emit(id, 'e', 'not_paired', 'signal')
    return finish()
  end
  local ph = redis.call('HMGET', SK(partner), 'c', 'i', 'hn')
  if not ph[1] or (ph[1] == '1' and not alive(ph[2])) then
    -- The partner's instance is gone: say so instead of dropping the signal.
    if ph[1] then bury(ph[2]) end
    end_pair(id, 'disconnect')
    emit(id, 'l', 'disconnect')
    return finish()
  end
  if me[4] ~= '1' then
    redis.call('HSET', SK(id), 'ps', '1')
    redis.call('HSET', SK(partner), 'ps', '1')
  end
  emit(partner, 's', ARGV[A + 2], nil, nil, ph)
  return finish()
elseif OP == 'disconnect' then
  local id = ARGV[A]
  if redis.call('HGET', SK(id), 'i') == SELF then hold(id) end
  return finish()
elseif OP == 'tick' then
  tick()
  return finish(nil, true)
elseif OP == 'beat' then
  -- ARGV[A]: sessions here; ARGV[A+1]: '1' to refresh their TTLs.
  local prev = redis.call('ZSCORE', INSTS, SELF)
  local had = redis.call('EXISTS', IK(SELF))
  redis.call('SET', IK(SELF), ARGV[A], 'PX', INST_TTL)
  redis.call('ZADD', INSTS, S(NOW), SELF)
  redis.call('PEXPIRE', INSTS, SESS_TTL + INST_TTL)
  redis.call('PEXPIRE', OK_(SELF), SESS_TTL)
  for _, mode in ipairs({'video', 'text'}) do redis.call('PEXPIRE', QK(mode), SESS_TTL) end
  if redis.call('EXISTS', DK) == 1 then redis.call('PEXPIRE', DK, SESS_TTL + RESUME + PAIR_TIMEOUT) end
  if ARGV[A + 1] == '1' then
    for _, id in ipairs(redis.call('SMEMBERS', OK_(SELF))) do touch(id) end
  end
  -- Bury instances that stopped beating, unless this one was silent as long
  -- (then Redis itself was frozen or away and everyone looks dead).
  if prev and NOW - tonumber(prev) < INST_TTL then
    for _, inst in ipairs(redis.call('ZRANGEBYSCORE', INSTS, '-inf', S(NOW - INST_TTL))) do
      if inst ~= SELF and redis.call('EXISTS', IK(inst)) == 0 then bury(inst) end
    end
  end
  local others = 0
  for _, inst in ipairs(redis.call('ZRANGE', INSTS, 0, -1)) do
    if inst ~= SELF then others = others + tonumber(redis.call('GET', IK(inst)) or '0') end
  end
  tick()
  return finish({had, others, NOW}, true)
elseif OP == 'restore' then
  -- Groups of 7: id, token, mode, interests, fallback, waiting, partner.
  local i = A
  while ARGV[i] do
    local id, tok, jm, ji, jf, waiting, partner =
      ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
    i = i + 7
    local fresh = redis.call('EXISTS', SK(id)) == 0
    if ensure(id, tok) then
      -- This instance knows best whether its own user is waiting.
      if waiting ~= '1' and redis.call('HEXISTS', SK(id), 'q') == 1 then dequeue(id) end
      if fresh and jm ~= '' then redis.call('HSET', SK(id), 'jm', jm, 'ji', ji, 'jf', jf) end
      local h = redis.call('HMGET', SK(id), 'p', 'q')
      if not h[1] and partner ~= '' then
        local pp = redis.call('HGET', SK(partner), 'p')
        -- Its own instance restores the other half; marked signalled, so no timeout.
        if not pp or pp == id then redis.call('HSET', SK(id), 'p', partner, 'pid', '0', 'ps', '1') end
      elseif not h[1] and not h[2] and waiting == '1' then
        enqueue(id, true)
      elseif not h[1] and h[2] then
        -- Still waiting: partners may have become reachable meanwhile (rule 4).
        try_match(id)
      end
    end
  end
  return finish()
elseif OP == 'drop' then
  bury(SELF)
  return finish()
end
return redis.error_reply('unknown op ' .. tostring(OP))
)LUA";

}  // namespace serendip::detail
