#pragma once
// The matchmaking script, run by EVALSHA (see docs/redis.md). It is one
// script that runs a batch of named operations, so every instance runs
// exactly the same rules and Redis runs each batch atomically: two instances
// can never both take the same waiting user.
//
// Embedded as a raw string rather than installed as a .lua file: the binary
// then cannot run with a script of another version, and needs no install
// path. Keys are built inside the script, so it needs a single (non-cluster)
// Redis, which is what this store supports.
//
// Arguments: instance, fallback_ms, pair_timeout_ms, resume_ms, held_max,
// recent_max, session_ttl_ms, instance_ttl_ms, report threshold, reports per
// hour, rematch window ms; then each operation as name, expiry (Redis ms, 0: none), argument
// count, arguments. Reply: {delay_ms to the next deadline or -1, {one answer
// per operation}}. Actions for sessions are published to their instance's
// channel, one PUBLISH per instance per batch. An action is "to US kind US a
// US b US c": kinds q (queued: mode, interests), m (matched: role, common,
// then partner US partner's instance US pair id US '1' if restored by
// "Going back"), s (signal: data, and the sender when an instance published
// it directly), l (peer_left: reason), e (error: code, ref), b (banned: ms
// left), w (rematch_wanted), x (resumed on another instance: close the old
// connection), B (the address with hash a was banned: each instance
// `banish`es its other sessions from it), u (the session's own pair ended,
// by its own `rematch`: for the instance's mirror, not for the client). Lists inside a field are
// joined with RS, the actions of one PUBLISH with GS.
//
// Cost matters here: Redis runs every script on its one thread. A call costs
// about 15 us before its first operation (arguments, helpers, TIME), so
// instances send what piled up while their previous call ran as one batch;
// and each operation reads a session hash once (HMGET of every field it
// needs) and writes it once. A cleared field is stored as '' so that one HSET
// can clear and set together; `get` reads '' back as false.

namespace serendip::detail {

inline constexpr const char* redis_script = R"LUA(
local US, RS, GS = '\31', '\30', '\29'
local SELF = ARGV[1]
local FALLBACK, PAIR_TIMEOUT, RESUME = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local HELD_MAX, RECENT_MAX = tonumber(ARGV[5]), tonumber(ARGV[6])
local SESS_TTL, INST_TTL = tonumber(ARGV[7]), tonumber(ARGV[8])
local HOLD_TTL = RESUME + SESS_TTL
local REPORT_THRESHOLD, REPORTS_PER_HOUR = tonumber(ARGV[9]), tonumber(ARGV[10])
local REMATCH = tonumber(ARGV[11])
local HOUR, DAY, WEEK = 3600000, 86400000, 604800000

-- One clock reading for the whole batch. Stamps made from it (queue order,
-- pair ids, generations) get a counter added, so that they stay unique and
-- ordered within the batch.
local t = redis.call('TIME')
local NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local NOW_US = tonumber(t[1]) * 1000000 + tonumber(t[2])
local NOW_S = string.format('%.0f', NOW)
local NOW_US_S = string.format('%.0f', NOW_US)
local stamps = 0

local function S(n) return string.format('%.0f', n) end
-- A unique id (text, never compared as a number).
local function uid()
  stamps = stamps + 1
  return NOW_US_S .. '.' .. stamps
end
-- A queue place: a number, so that Redis (not Lua's %.14g) writes it out.
local function place()
  stamps = stamps + 1
  return NOW_US + stamps
end
local function SK(id) return 'sd:s:' .. id end
local function BK(id) return 'sd:b:' .. id end
local function HK(id) return 'sd:h:' .. id end
local function QK(mode) return 'sd:q:' .. mode end
local function OK_(inst) return 'sd:o:' .. inst end
local function IK(inst) return 'sd:i:' .. inst end
local function RLK(a) return 'sd:rl:' .. a end  -- an address's counted reports, last hour
local function RAK(a) return 'sd:ra:' .. a end  -- who reported an address (address -> time), 24 h
local function BANK(a) return 'sd:ban:' .. a end  -- an address's ban: u (until, ms), n (bans so far)
-- A pair that ended by next or leave, open to "Going back" for REMATCH ms:
-- o, n (offerer, answerer), m (mode), t (end, ms), ao, an (who asked since).
local function RMK(pid) return 'sd:rm:' .. pid end
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
-- Whether the RS-joined `list` holds `x` (no table, no substrings: cheap).
local function listed(list, x)
  if not list or list == '' then return false end
  return string.find(RS .. list .. RS, RS .. x .. RS, 1, true) ~= nil
end

-- A session's fields; missing and cleared ('') ones are false.
local function get(id, ...)
  local r = redis.call('HMGET', SK(id), ...)
  for i = 1, #r do if r[i] == '' then r[i] = false end end
  return r
end

-- Actions go out over pub/sub, those for this instance's own sessions too:
-- each instance then reads every action for its sessions from one stream, in
-- the order Redis ran the calls (a reply on the command connection could
-- overtake or trail a message on the subscriber connection).
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

local function publish(inst, item)
  local list = pubs[inst]
  if not list then list = {}; pubs[inst] = list end
  list[#list + 1] = item
end

-- Every key of a session gets the TTL its state calls for.
local function touch(id)
  local h = get(id, 'c', 'k')
  if not h[1] then return end
  local ttl = (h[1] == '1') and SESS_TTL or HOLD_TTL
  redis.call('PEXPIRE', SK(id), ttl)
  redis.call('PEXPIRE', BK(id), ttl)
  redis.call('PEXPIRE', HK(id), ttl)
  if h[2] then redis.call('PEXPIRE', 'sd:t:' .. h[2], ttl) end
end

-- `h`, if given, is the recipient's {c, i, hn}, already read.
local function emit(to, kind, a, b, c, h)
  h = h or get(to, 'c', 'i', 'hn')
  if not h[1] then return end
  local enc = kind .. US .. (a or '') .. US .. (b or '') .. US .. (c or '')
  if h[1] == '1' then return publish(h[2], to .. US .. enc) end
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
  local h = get(id, 'q', 'qm')
  if h[1] then
    redis.call('ZREM', QK(h[2]), id)
    redis.call('HSET', SK(id), 'q', '', 'qm', '', 'qs', '')
  end
end

-- The last RECENT_MAX partners, `partner` added.
local function recent_with(r, partner)
  if RECENT_MAX < 1 then return '' end
  if not r or r == '' then return partner end
  r = r .. RS .. partner
  local seps, at = 0, 0
  while true do
    at = string.find(r, RS, at + 1, true)
    if not at then break end
    seps = seps + 1
  end
  for _ = RECENT_MAX, seps do r = string.sub(r, string.find(r, RS, 1, true) + 1) end
  return r
end

-- Ends id's pair; `mine` is id's {p, r} if already read. Returns id's recent
-- partners afterwards. A pair that ends by next or leave stays open to
-- "Going back"; one that ends because id asked to go back to an earlier
-- stranger (`going_back`) does not, and id's last ended pair (lp) stays the
-- one it asked for.
local function end_pair(id, reason, mine, going_back)
  mine = mine or get(id, 'p', 'r')
  local partner = mine[1]
  if not partner then return mine[2] or '' end
  local pair = get(id, 'pid', 'pr', 'pm')
  local pid = pair[1] or ''
  local r = recent_with(mine[2], partner)
  if going_back then
    redis.call('HSET', SK(id), 'p', '', 'pid', '', 'r', r)
    emit(id, 'u')
  else
    redis.call('HSET', SK(id), 'p', '', 'pid', '', 'r', r, 'lp', pid)
  end
  local ph = get(partner, 'c', 'i', 'hn', 'p', 'r')
  if ph[4] == id then redis.call('HSET', SK(partner), 'p', '', 'pid', '', 'r', recent_with(ph[5], id), 'lp', pid) end
  if not going_back and (reason == 'next' or reason == 'leave') and pair[3] and pid ~= '' then
    local offers = pair[2] == 'o'
    redis.call('HSET', RMK(pid), 'o', offers and id or partner, 'n', offers and partner or id, 'm', pair[3], 't', NOW_S)
    redis.call('PEXPIRE', RMK(pid), REMATCH)
  end
  emit(partner, 'l', reason, nil, nil, ph)
  return r
end

local function is_open(ints, fb, since)
  return ints == '' or (fb == '1' and NOW - tonumber(since) >= FALLBACK)
end

-- Pairs id with partner (id's role: 'o' or 'a'); one who waited leaves the
-- queue in the same write.
local function set_partner(id, partner, pid, queued, role, mode)
  if queued then redis.call('HSET', SK(id), 'p', partner, 'pid', pid, 'pr', role, 'pm', mode, 'q', '', 'qm', '', 'qs', '')
  else redis.call('HSET', SK(id), 'p', partner, 'pid', pid, 'pr', role, 'pm', mode) end
end

-- The interests two RS-joined lists share, RS-joined.
local function common_of(a, b)
  if a == '' or b == '' then return '' end
  local common = {}
  for _, x in ipairs(split(a, RS)) do if listed(b, x) then common[#common + 1] = x end end
  return table.concat(common, RS)
end

-- o and n: {ints, h = {c, i, hn}, queued}. Rule 7: the older makes the offer.
-- The pair timeout (rule 8) is kept by the offerer's instance, which sees
-- every signal of the pair.
local function pair_up(older, newer, o, n, mode)
  local c = common_of(o.ints, n.ints)
  if o.queued then redis.call('ZREM', QK(mode), older) end
  if n.queued then redis.call('ZREM', QK(mode), newer) end
  local pid = uid()
  set_partner(older, newer, pid, o.queued, 'o', mode)
  set_partner(newer, older, pid, n.queued, 'a', mode)
  emit(older, 'm', 'offerer', c, newer .. US .. n.h[2] .. US .. pid, o.h)
  emit(newer, 'm', 'answerer', c, older .. US .. o.h[2] .. US .. pid, n.h)
end

-- Rules 1-3: a shared interest beats none, a non-recent partner beats a
-- recent one (recent ones only when nobody else fits), then FIFO.
-- Returns the best waiting partner for id as {id, seq, ints, h, queued}.
local function find(id, mode, ints, open, recent, blocks)
  local my_ints = (ints or '') ~= '' and split(ints, RS) or nil
  local best, best_rank = nil, 4
  -- The line is read in growing slices (8, 32, 128...; 1000 in all): the
  -- first few entries usually hold the match, and each entry read costs Lua.
  local seen, size, stale = 0, 8, 0
  while seen < 1000 do
    local first = seen - stale  -- stale entries removed meanwhile shift the rest
    local cands = redis.call('ZRANGE', QK(mode), first, first + math.min(size, 1000 - seen) - 1)
    if #cands == 0 then break end
    seen, size = seen + #cands, size * 4
    for i = 1, #cands do
      local cid = cands[i]
      if cid ~= id and not (blocks and redis.call('SISMEMBER', BK(id), cid) == 1) then
        local c = get(cid, 'c', 'i', 'hn', 'ji', 'jf', 'qs', 'r', 'q')
        if c[1] ~= '1' or not c[8] then
          -- Expired or no longer waiting: a stale entry.
          redis.call('ZREM', QK(mode), cid)
          stale = stale + 1
        elseif alive(c[2]) and listening(c[2]) then
          local shared = false
          if my_ints and c[4] then
            for _, x in ipairs(my_ints) do if listed(c[4], x) then shared = true; break end end
          end
          if shared or (open and is_open(c[4] or '', c[5], c[6])) then
            local is_recent = listed(recent, cid) or listed(c[7], id)
            local rank = (is_recent and 2 or 0) + (shared and 0 or 1)
            if rank < best_rank then
              best, best_rank = {id = cid, seq = tonumber(c[8]), ints = c[4] or '', h = c, queued = true}, rank
              -- Without interests of my own, no candidate can share one: the first fit is best.
              if rank == 0 or (rank == 1 and not my_ints) then return best end
            end
          end
        end
      end
    end
  end
  return best
end

-- Puts id in line, or pairs it at once with who is waiting (rule 5).
-- me: {c, i, hn, mode, interests, fallback, recent, blocks}, id not queued.
local function arrive(id, me, quiet)
  if not me[4] then return end
  if not quiet then emit(id, 'q', me[4], me[5] or '', nil, me) end
  local best = find(id, me[4], me[5], is_open(me[5] or '', me[6], NOW), me[7], me[8])
  if best then
    -- Anyone waiting arrived before this call: the older side.
    return pair_up(best.id, id, best, {ints = me[5] or '', h = me, queued = false}, me[4])
  end
  local seq = place()
  redis.call('ZADD', QK(me[4]), seq, id)
  redis.call('PEXPIRE', QK(me[4]), SESS_TTL)
  redis.call('HSET', SK(id), 'q', seq, 'qm', me[4], 'qs', NOW_S)
  if (me[5] or '') ~= '' and me[6] == '1' then deadline(NOW + FALLBACK, 'o', id, S(seq)) end
end

-- A waiting user looks again (fallback opened, partners came back).
local function retry(id)
  local me = get(id, 'c', 'i', 'hn', 'qm', 'ji', 'jf', 'r', 'b', 'q', 'qs')
  if not me[9] then return end
  local best = find(id, me[4], me[5], is_open(me[5] or '', me[6], me[10]), me[7], me[8])
  if not best then return end
  local mine = {ints = me[5] or '', h = me, queued = true}
  if tonumber(me[9]) < best.seq then pair_up(id, best.id, mine, best, me[4])
  else pair_up(best.id, id, best, mine, me[4]) end
end

-- The connection dropped: out of the queue at once, the session held.
local function hold(id)
  local h = get(id, 'c', 'i')
  if h[1] ~= '1' then return end
  dequeue(id)
  local gen = uid()
  redis.call('HSET', SK(id), 'c', '0', 'hg', gen)
  redis.call('SREM', OK_(h[2]), id)
  deadline(NOW + RESUME, 'h', id, gen)
  touch(id)
end

local function erase(id)
  local k = get(id, 'k')[1]
  if k then redis.call('DEL', 'sd:t:' .. k) end
  redis.call('DEL', SK(id), BK(id), HK(id))
end

-- An instance that stopped beating: its sessions are held like dropped ones,
-- so their clients may resume elsewhere and their partners hear of it.
local function bury(inst)
  for _, id in ipairs(redis.call('SMEMBERS', OK_(inst))) do
    if get(id, 'i')[1] == inst then hold(id) end
  end
  redis.call('DEL', OK_(inst), IK(inst))
  redis.call('ZREM', INSTS, inst)
end

local function create(id, tok, addr)
  redis.call('HSET', SK(id), 'i', SELF, 'k', tok, 'c', '1', 'a', addr or '')
  redis.call('SET', 'sd:t:' .. tok, id)
  redis.call('SADD', OK_(SELF), id)
  redis.call('PEXPIRE', OK_(SELF), SESS_TTL)
  touch(id)
end

-- The session as this instance knows it, read with {c, i, hn, ...}:
-- recreated if Redis lost it, re-attached if it was held by mistake (this
-- instance looked dead). Nil if another instance owns it now (it resumed
-- there).
local function own(id, tok, ...)
  local h = get(id, 'c', 'i', 'hn', ...)
  if not h[2] then
    create(id, tok)
    h = get(id, 'c', 'i', 'hn', ...)
  elseif h[2] ~= SELF then
    return nil
  elseif h[1] ~= '1' then
    redis.call('HSET', SK(id), 'c', '1', 'hg', '')
    redis.call('SADD', OK_(SELF), id)
    touch(id)
    h[1] = '1'
  end
  return h
end

local function due_delay()
  local d = redis.call('ZRANGE', DK, 0, 0, 'WITHSCORES')
  if #d == 0 then return -1 end
  local delay = tonumber(d[2]) - NOW
  if delay < 0 then delay = 0 end
  return delay
end

-- What one operation answers; the delay to the earliest deadline is only
-- worth reading when the batch added one or holds a tick or beat (the caller
-- arms its timer with it).
local want_delay = false
local function answer(extra, with_delay)
  if with_delay then want_delay = true end
  return extra or {}
end

local function tick()
  local due = redis.call('ZRANGEBYSCORE', DK, '-inf', NOW_S, 'LIMIT', 0, 500)
  for _, m in ipairs(due) do
    redis.call('ZREM', DK, m)
    local f = split(m, US)
    local kind, id, gen = f[1], f[2], f[3]
    local h = get(id, 'q', 'p', 'c', 'hg')
    if kind == 'o' then
      if h[1] == gen then retry(id) end
    elseif kind == 'h' then
      if h[3] == '0' and h[4] == gen then
        if h[2] then end_pair(id, 'disconnect') end
        erase(id)
      end
    end
  end
end

-- A ban on `addr` until `till` (ms), its `n`th; remembered a week after it ends.
local function set_ban(addr, till, n)
  redis.call('HSET', BANK(addr), 'u', S(till), 'n', n)
  redis.call('PEXPIRE', BANK(addr), S(till - NOW + WEEK))
end

-- Reports and bans by address hash: the rules of abuse_rules.hpp's
-- report_book. Returns the length (ms) of the ban this report imposes.
local function count_report(reporter, reported)
  if not reporter or not reported or reporter == reported then return nil end
  local rl = RLK(reporter)
  redis.call('ZREMRANGEBYSCORE', rl, '-inf', S(NOW - HOUR))
  if redis.call('ZCARD', rl) >= REPORTS_PER_HOUR then return nil end
  redis.call('ZADD', rl, NOW_S, uid())
  redis.call('PEXPIRE', rl, HOUR)
  local ra = RAK(reported)
  redis.call('ZREMRANGEBYSCORE', ra, '-inf', S(NOW - DAY))
  redis.call('ZADD', ra, NOW_S, reporter)
  redis.call('PEXPIRE', ra, DAY)
  if redis.call('ZCARD', ra) < REPORT_THRESHOLD then return nil end
  redis.call('DEL', ra)
  local b = redis.call('HMGET', BANK(reported), 'u', 'n')
  local n = tonumber(b[2] or '0')
  if n > 0 and tonumber(b[1]) + WEEK <= NOW then n = 0 end  -- too old to double
  local len = WEEK
  if n < 8 then len = math.min(HOUR * 2 ^ n, WEEK) end
  set_ban(reported, NOW + len, n + 1)
  return len
end

-- One operation: its name, then its arguments ARGV[A] to ARGV[LAST].
local function run(OP, A, LAST)
  if OP == 'connect' then
    if redis.call('EXISTS', SK(ARGV[A])) == 0 then create(ARGV[A], ARGV[A + 1], ARGV[A + 2]) end
    return answer()
  elseif OP == 'ban' then
    -- The ms left of a ban on today's or yesterday's hash (ARGV[A], ARGV[A + 1]),
    -- or -1; a ban found under yesterday's is carried over to today's.
    local function active(addr)
      if addr == '' then return nil end
      local b = redis.call('HMGET', BANK(addr), 'u', 'n')
      if b[1] and tonumber(b[1]) > NOW then return b end
    end
    local b = active(ARGV[A])
    if not b then
      b = active(ARGV[A + 1])
      if b then
        set_ban(ARGV[A], tonumber(b[1]), b[2])
      end
    end
    return answer({b and S(tonumber(b[1]) - NOW) or '-1'})
  elseif OP == 'resume' then
    local id = redis.call('GET', 'sd:t:' .. ARGV[A])
    if not id then return answer({'-'}) end
    local h = get(id, 'i', 'c', 'k', 'jm', 'ji', 'jf', 'p', 'q')
    if not h[1] or h[3] ~= ARGV[A] then return answer({'-'}) end
    -- Still connected to another instance: that one closes the old connection.
    if h[2] == '1' and h[1] ~= SELF then publish(h[1], id .. US .. 'x' .. US .. US .. US) end
    redis.call('DEL', 'sd:t:' .. ARGV[A])
    redis.call('SET', 'sd:t:' .. ARGV[A + 1], id)
    redis.call('SREM', OK_(h[1]), id)
    redis.call('HSET', SK(id), 'i', SELF, 'k', ARGV[A + 1], 'c', '1', 'hn', '0', 'hg', '', 'a', ARGV[A + 2])
    redis.call('SADD', OK_(SELF), id)
    redis.call('PEXPIRE', OK_(SELF), SESS_TTL)
    local held = redis.call('LRANGE', HK(id), 0, -1)
    redis.call('DEL', HK(id))
    touch(id)
    local extra = {id, h[4] or '', h[5] or '', h[6] or '', h[7] or '', h[8] and '1' or '0', h[1]}
    for _, x in ipairs(held) do extra[#extra + 1] = x end
    return answer(extra)
  elseif OP == 'join' then
    local id = ARGV[A]
    local h = own(id, ARGV[A + 1], 'p', 'r', 'b', 'q', 'qm')
    if not h then return answer() end
    local r = end_pair(id, 'next', {h[4], h[5]})
    if h[7] then redis.call('ZREM', QK(h[8]), id) end
    local jm, ji, jf = ARGV[A + 2], ARGV[A + 3], ARGV[A + 4]
    redis.call('HSET', SK(id), 'jm', jm, 'ji', ji, 'jf', jf, 'q', '', 'qm', '', 'qs', '')
    arrive(id, {h[1], h[2], h[3], jm, ji, jf, r, h[6]}, false)
    return answer()
  elseif OP == 'next' then
    local id = ARGV[A]
    local h = own(id, ARGV[A + 1], 'jm', 'ji', 'jf', 'p', 'r', 'b', 'q')
    if not h then return answer() end
    if not h[4] then
      emit(id, 'e', 'bad_message', 'next', nil, h)
      return answer()
    end
    local r = end_pair(id, 'next', {h[7], h[8]})
    -- Already waiting: keep the place in line.
    if h[10] then emit(id, 'q', h[4], h[5] or '', nil, h)
    else arrive(id, {h[1], h[2], h[3], h[4], h[5], h[6], r, h[9]}, false) end
    return answer()
  elseif OP == 'leave' then
    local id = ARGV[A]
    local h = own(id, ARGV[A + 1], 'p', 'r')
    if not h then return answer() end
    end_pair(id, 'leave', {h[4], h[5]})
    dequeue(id)
    return answer()
  elseif OP == 'report' then
    local id = ARGV[A]
    local h = own(id, ARGV[A + 1], 'p', 'r', 'jm', 'ji', 'jf', 'a')
    if not h then return answer() end
    local partner = h[4]
    if not partner then
      emit(id, 'e', 'not_paired', 'report', nil, h)
      return answer()
    end
    redis.call('SADD', BK(id), partner)
    redis.call('SADD', BK(partner), id)
    redis.call('HSET', SK(id), 'b', '1')
    redis.call('HSET', SK(partner), 'b', '1')
    touch(id)
    touch(partner)
    local r = end_pair(id, 'report', {h[4], h[5]})
    local ph = get(partner, 'c', 'i', 'hn', 'a', 'k')
    local ban = count_report(h[9], ph[4])
    if ban then
      emit(partner, 'b', S(ban), nil, nil, ph)
      -- Not resumable, not from another address either.
      if ph[5] then redis.call('DEL', 'sd:t:' .. ph[5]) end
      redis.call('HSET', SK(partner), 'k', '')
      -- The address's other connections (other tabs), on any instance, go
      -- too: each instance looks for them among its own and sends `banish`.
      for _, inst in ipairs(redis.call('ZRANGE', INSTS, 0, -1)) do
        publish(inst, partner .. US .. 'B' .. US .. ph[4] .. US .. US)
      end
    end
    arrive(id, {h[1], h[2], h[3], h[6], h[7], h[8], r, '1'}, false)
    return answer()
  elseif OP == 'banish' then
    -- A session of this instance from an address just banned: it goes like
    -- the reported one (its partner is told `disconnect`).
    local id = ARGV[A]
    local h = get(id, 'c', 'i', 'hn', 'a', 'k', 'p', 'r')
    if h[1] ~= '1' or h[2] ~= SELF or not h[4] then return answer() end
    local u = tonumber(redis.call('HGET', BANK(h[4]), 'u') or '0')
    if u <= NOW then return answer() end
    end_pair(id, 'disconnect', {h[6], h[7]})
    dequeue(id)
    if h[5] then redis.call('DEL', 'sd:t:' .. h[5]) end
    redis.call('HSET', SK(id), 'k', '')
    emit(id, 'b', S(u - NOW), nil, nil, h)
    return answer()
  elseif OP == 'rematch' then
    -- "Going back" (PROTOCOL.md): id asks for the stranger of its last ended pair.
    local id = ARGV[A]
    local h = own(id, ARGV[A + 1], 'lp', 'p', 'r', 'jm', 'ji', 'jf', 'b', 'k')
    if not h then return answer() end
    -- h: c, i, hn, lp, p, r, jm, ji, jf, b, k
    local pid = h[4]
    local rm = pid and redis.call('HMGET', RMK(pid), 'o', 'n', 'm', 't', 'ao', 'an') or {}
    local function refuse()
      emit(id, 'e', 'rematch_unavailable', 'rematch', nil, h)
      return answer()
    end
    if not rm[1] or NOW - tonumber(rm[4]) > REMATCH then return refuse() end
    local offerer = rm[1] == id
    local other = offerer and rm[2] or rm[1]
    -- Not `offerer and rm[5] or rm[6]`: a nil rm[5] would pick rm[6].
    local mine, theirs = rm[6], rm[5]
    if offerer then mine, theirs = rm[5], rm[6] end
    local oh = get(other, 'c', 'i', 'hn', 'lp', 'k', 'p', 'r', 'ji')
    -- The other side must still be there to go back to: connected now (rule
    -- 6 of matching), not banned (its token is gone then), its own last
    -- ended pair still this one; and reports always win.
    if mine or not h[11] or oh[1] ~= '1' or not oh[5] or oh[4] ~= pid or not alive(oh[2]) or
        not listening(oh[2]) or redis.call('SISMEMBER', BK(id), other) == 1 then
      return refuse()
    end
    if theirs then
      -- Both asked: out of whatever pair or queue place each holds, and
      -- paired again with the earlier pair's mode and roles.
      redis.call('DEL', RMK(pid))
      end_pair(id, 'next', {h[5], h[6]}, true)
      dequeue(id)
      end_pair(other, 'next', {oh[6], oh[7]}, true)
      dequeue(other)
      local o, n = rm[1], rm[2]
      local oi, ni = offerer and h[2] or oh[2], offerer and oh[2] or h[2]
      local c = common_of(h[8] or '', oh[8] or '')
      local npid = uid()
      set_partner(o, n, npid, false, 'o', rm[3])
      set_partner(n, o, npid, false, 'a', rm[3])
      emit(o, 'm', 'offerer', c, n .. US .. ni .. US .. npid .. US .. '1')
      emit(n, 'm', 'answerer', c, o .. US .. oi .. US .. npid .. US .. '1')
      return answer()
    end
    redis.call('HSET', RMK(pid), offerer and 'ao' or 'an', '1')
    if h[5] then
      -- Asked while paired: that pair ends as by `next`, and id is back in line.
      local r = end_pair(id, 'next', {h[5], h[6]}, true)
      if h[7] then arrive(id, {h[1], h[2], h[3], h[7], h[8], h[9], r, h[10]}, false) end
    end
    emit(other, 'w', nil, nil, nil, oh)
    return answer()
  elseif OP == 'signal' then
    -- Signals normally go straight from instance to instance (PUBLISH); this
    -- is the way when that cannot work: a partner away (held), on an unknown
    -- or silent instance.
    local id = ARGV[A]
    local h = own(id, ARGV[A + 1], 'p')
    if not h then return answer() end
    local partner = h[4]
    if not partner then
      emit(id, 'e', 'not_paired', 'signal', nil, h)
      return answer()
    end
    local ph = get(partner, 'c', 'i', 'hn')
    if not ph[1] or (ph[1] == '1' and not alive(ph[2])) then
      -- The partner's instance is gone: say so instead of dropping the signal.
      if ph[1] then bury(ph[2]) end
      end_pair(id, 'disconnect')
      emit(id, 'l', 'disconnect', nil, nil, h)
      return answer()
    end
    emit(partner, 's', ARGV[A + 2], nil, nil, ph)
    return answer()
  elseif OP == 'relay' then
    -- A direct signal that reached an instance no longer (or not yet) sure of
    -- the pair: delivered if the pair holds, wherever the recipient is now.
    local from, to = ARGV[A], ARGV[A + 1]
    local th = get(to, 'c', 'i', 'hn', 'p')
    if th[4] == from and get(from, 'p')[1] == to then emit(to, 's', ARGV[A + 2], nil, nil, th) end
    return answer()
  elseif OP == 'timeout' then
    -- Rule 8, fired by the offerer's instance: a pair that never signalled.
    local id, pid = ARGV[A], ARGV[A + 1]
    local h = get(id, 'p', 'pid')
    if h[1] and h[2] == pid then
      end_pair(id, 'timeout')
      emit(id, 'l', 'timeout')
    end
    return answer()
  elseif OP == 'disconnect' then
    local id = ARGV[A]
    if get(id, 'i')[1] == SELF then hold(id) end
    return answer()
  elseif OP == 'tick' then
    tick()
    return answer(nil, true)
  elseif OP == 'beat' then
    -- ARGV[A]: sessions here; then sessions to refresh.
    local prev = redis.call('ZSCORE', INSTS, SELF)
    local had = redis.call('EXISTS', IK(SELF))
    redis.call('SET', IK(SELF), ARGV[A], 'PX', INST_TTL)
    redis.call('ZADD', INSTS, NOW_S, SELF)
    redis.call('PEXPIRE', INSTS, SESS_TTL + INST_TTL)
    redis.call('PEXPIRE', OK_(SELF), SESS_TTL)
    for _, mode in ipairs({'video', 'text'}) do redis.call('PEXPIRE', QK(mode), SESS_TTL) end
    if redis.call('EXISTS', DK) == 1 then redis.call('PEXPIRE', DK, SESS_TTL + RESUME + PAIR_TIMEOUT) end
    -- The sessions whose TTLs this beat refreshes (a tenth of the instance's).
    for i = A + 1, LAST do touch(ARGV[i]) end
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
    return answer({had, others, NOW}, true)
  elseif OP == 'restore' then
    -- Groups of 8: id, token, address, mode, interests, fallback, waiting, partner.
    local i = A
    while i <= LAST do
      local id, tok, addr, jm, ji, jf, waiting, partner =
        ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
      i = i + 8
      local fresh = redis.call('EXISTS', SK(id)) == 0
      if own(id, tok) then
        -- This instance knows best whether its own user is waiting.
        if waiting ~= '1' then dequeue(id) end
        if fresh then redis.call('HSET', SK(id), 'a', addr, 'jm', jm, 'ji', ji, 'jf', jf) end
        local h = get(id, 'c', 'i', 'hn', 'jm', 'ji', 'jf', 'r', 'b', 'p', 'q')
        if not h[9] and partner ~= '' then
          local pp = get(partner, 'p')[1]
          -- Its own instance restores the other half.
          if not pp or pp == id then redis.call('HSET', SK(id), 'p', partner, 'pid', '0') end
        elseif not h[9] and not h[10] and waiting == '1' then
          arrive(id, h, true)
        elseif not h[9] and h[10] then
          -- Still waiting: partners may have become reachable meanwhile (rule 4).
          retry(id)
        end
      end
    end
    return answer()
  elseif OP == 'drop' then
    bury(SELF)
    return answer()
  end
  error('unknown op ' .. tostring(OP))
end

-- The batch: from ARGV[12], each operation as name, expiry, argument count,
-- arguments. A client operation whose sender gave up waiting (Redis was
-- frozen, the reply late) must not take effect afterwards: the client was
-- told `unavailable`, so it answers 'stale' instead.
local answers = {}
local i = 12
while i <= #ARGV do
  local op, expires, n = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  if expires > 0 and NOW > expires then answers[#answers + 1] = {'stale'}
  else answers[#answers + 1] = run(op, i + 3, i + 2 + n) end
  i = i + 3 + n
end
for inst, list in pairs(pubs) do
  redis.call('PUBLISH', 'sd:c:' .. inst, table.concat(list, GS))
end
return {(want_delay or added_deadline) and due_delay() or -1, answers}
)LUA";

}  // namespace serendip::detail
