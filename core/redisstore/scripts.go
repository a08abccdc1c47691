package redisstore

import (
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// luaHelpers is prepended to the scripts that need them.
//
// servernow is the Redis server's clock in Unix milliseconds, the clock its key expiry runs on.
//
// mark makes key a revocation mark expiring at u (Unix ms, a string; the value is u too), unless u
// is not after now or the key already lives at least that long: a mark is never shortened, and a
// write whose expiry is in the past writes nothing.
//
// endmark is mark for a revoked-sid mark key ("<tag>:rsid:<sid>"): when it writes the mark, it
// also counts one more ended session of the subject in "<tag>:ended" (core.SessionLimit.MaxEnded),
// a count that expires with the first mark of its window.
//
// notify announces a record just written on the store's channel (on Redis Cluster the shard
// channel of the record's slot, whose name starts with '{'), in the format described in
// replica.go ("<kind>:<until>:<tail>", tail being "<encoded subject>:<id>"), and returns the
// message so the writing store applies it to its own replica at once. It runs inside the script
// that writes, so a record is never written without being announced. u must be the string the
// caller passed (never a Lua number, which could print as a float).
const luaHelpers = `
local function servernow()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function mark(key, u, now)
  local un = tonumber(u)
  if not un or un <= now then return 0 end
  local old = tonumber(redis.call('GET', key) or '')
  if old and old >= un then return 0 end
  redis.call('SET', key, u, 'PXAT', u)
  return 1
end
local function endmark(key, u, now)
  if mark(key, u, now) == 0 then return 0 end
  local tag = string.match(key, '^(.-{[^}]*}):rsid:')
  if tag then
    local ek = tag .. ':ended'
    if redis.call('INCR', ek) == 1 or redis.call('PTTL', ek) < 0 then redis.call('PEXPIREAT', ek, u) end
  end
  return 1
end
local function notify(channel, kind, u, tail)
  local m = kind .. ':' .. u .. ':' .. tail
  if string.byte(channel, 1) == 123 then
    redis.call('SPUBLISH', channel, m) -- a shard channel "{<slot tag>}...": Redis Cluster
  else
    redis.call('PUBLISH', channel, m)
  end
  return m
end
` + luaLossGuard

// luaLossGuard is part of luaHelpers. lossguard(key, mode) checks the loss marker key and returns
// the slot's loss time (Unix ms; 0: none). A missing or unreadable marker, or in mode "e" an
// evicted_keys counter that changed since the last check, is a loss: the marker is rewritten with
// the server's time, which is returned. Mode "" does nothing and returns 0.
const luaLossGuard = `
local function lossguard(key, mode)
  if mode ~= 'm' and mode ~= 'e' then return 0 end
  local v = redis.call('GET', key)
  local at, ev
  if v then at, ev = string.match(v, '^(%d+):(%d*)$') end
  local cur = ''
  if mode == 'e' then
    cur = string.match(redis.call('INFO', 'stats'), 'evicted_keys:(%d+)') or ''
  end
  if at and (mode ~= 'e' or ev == cur) then return tonumber(at) end
  local now = servernow()
  redis.call('SET', key, now .. ':' .. cur)
  return now
end
`

// luaIndex is prepended to the scripts that maintain the index.
//
// indextag returns "<prefix>{<subject>}" of an index key (it ends in ":sess").
//
// extendindex makes the index live at least until u (Unix ms, a string), never shorter than it
// already does. PTTL (rather than PEXPIRETIME or PEXPIREAT ... GT) keeps Redis 6.2 supported.
const luaIndex = `
local function indextag(idx)
  return string.sub(idx, 1, #idx - 5)
end
local function extendindex(idx, u)
  local t = redis.call('PTTL', idx)
  if t == -1 or (t >= 0 and servernow() + t < tonumber(u)) then
    redis.call('PEXPIREAT', idx, u)
  end
end
`

// createScript writes a family, adds it to the subject's session index and, with a bound,
// ends the least recently used families until the new one fits (see luaIndex). It checks the
// slot's loss marker first (lossguard), so a loss is recorded before the session's tokens are
// handed out rather than at their first use; a loss found in the second of cur_iat (or later)
// would refuse the session's tokens at once, so the script then writes nothing and returns
// {"cutoff", <loss time>}. A family whose login key names a live family of the subject created
// less than the login retry window ago is not written either: the reply is {"repeat", sid, sub,
// cur, cur_iat, cur_exp, exp, created, used, client, prev, prev_until} of that family. Run past the caller's deadline (a frozen Redis that resumed), it
// writes nothing either and returns {"late"}: the caller has already answered that the login
// failed. A cut-off of the subject covering cur_iat's second (a "log out everywhere" that came
// after the tokens were minted) writes nothing and returns {"cut"}; a subject that has ended
// ARGV[21] sessions within its window writes nothing and returns {"churn", <window end>}.
// Returns {sid, message, sid, message, ...} of the families it ended; message announces the sid
// mark, "" when none was written.
var createScript = newScript("create",
	[]string{"family", "session index", "loss marker"},
	[]string{
		"sub", "cur", "cur_iat", "cur_exp", "prev", "prev_until", "exp", "created", "used", "client",
		"max sessions (<= 0: no bound)", "revoke until", "channel", "encoded subject", "sid",
		"loss guard mode", "deadline (Unix ms, server clock; \"\": none)",
		"login key (\"\": none)", "login retry window (ms)", "DPoP key thumbprint (\"\": none)",
		"max ended sessions (<= 0: no bound)",
	},
	luaHelpers+luaIndex+`
if ARGV[17] ~= '' and servernow() > tonumber(ARGV[17]) then return {'late'} end
local lossat = lossguard(KEYS[3], ARGV[16])
if lossat > 0 and ARGV[3] ~= '' and math.floor(lossat / 1000) >= math.floor(tonumber(ARGV[3]) / 1000) then
  return {'cutoff', tostring(lossat)}
end
local now = servernow()
if tonumber(ARGV[4]) <= now then return {} end
if ARGV[18] ~= '' and tonumber(ARGV[19]) > 0 then
  local t = indextag(KEYS[2])
  for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    local g = redis.call('HMGET', t .. ':fam:' .. m, 'lk', 'created', 'sub', 'cur', 'cur_iat', 'cur_exp', 'exp',
      'used', 'client', 'prev', 'prev_until', 'jkt')
    local cr, ce, ex = tonumber(g[2]), tonumber(g[6]), tonumber(g[7])
    if g[1] == ARGV[18] and cr and ce and ex and now < cr + tonumber(ARGV[19]) and now < ce and now < ex then
      for i = 1, 12 do
        if not g[i] then g[i] = '' end
      end
      return {'repeat', m, g[3], g[4], g[5], g[6], g[7], g[2], g[8], g[9], g[10], g[11], g[12]}
    end
  end
end
local tag = indextag(KEYS[2])
if ARGV[3] ~= '' then
  local c = redis.call('GET', tag .. ':cut')
  local ca, cu = string.match(c or '', '^(%-?%d+):(%-?%d+)$')
  if ca and tonumber(cu) > now and math.floor(tonumber(ca) / 1000) >= math.floor(tonumber(ARGV[3]) / 1000) then
    return {'cut'}
  end
end
local mx = tonumber(ARGV[21])
if mx and mx > 0 then
  local n = tonumber(redis.call('GET', tag .. ':ended') or '')
  local t = redis.call('PTTL', tag .. ':ended')
  if n and n >= mx and t > 0 then return {'churn', tostring(now + t)} end
end
local sid = ARGV[15]
redis.call('ZREM', KEYS[2], sid)
local ended = {}
local max = tonumber(ARGV[11])
if max and max > 0 then
  for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    if redis.call('EXISTS', tag .. ':fam:' .. m) == 0 then redis.call('ZREM', KEYS[2], m) end
  end
  local n = redis.call('ZCARD', KEYS[2])
  while n >= max do
    local victim = redis.call('ZPOPMIN', KEYS[2])[1]
    redis.call('DEL', tag .. ':fam:' .. victim)
    local msg = ''
    if endmark(tag .. ':rsid:' .. victim, ARGV[12], now) == 1 then
      msg = notify(ARGV[13], 's', ARGV[12], ARGV[14] .. ':' .. victim)
    end
    ended[#ended + 1] = victim
    ended[#ended + 1] = msg
    n = n - 1
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'sub', ARGV[1], 'cur', ARGV[2], 'cur_iat', ARGV[3], 'cur_exp', ARGV[4],
  'prev', ARGV[5], 'prev_until', ARGV[6], 'exp', ARGV[7], 'created', ARGV[8], 'used', ARGV[9])
if ARGV[10] ~= '' then redis.call('HSET', KEYS[1], 'client', ARGV[10]) end
if ARGV[18] ~= '' then redis.call('HSET', KEYS[1], 'lk', ARGV[18]) end
if ARGV[20] ~= '' then redis.call('HSET', KEYS[1], 'jkt', ARGV[20]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[9] == '' and 0 or ARGV[9], sid)
extendindex(KEYS[2], ARGV[4])
return ended
`)

// rotateScript implements the rules of core.RotateRequest in one atomic step. Every decision uses
// the server's clock (TIME), so instances whose clocks differ still decide alike; ARGV[7] overrides
// it only in this package's own tests, which drive the store with a fake clock.
// A rotation also sets the family's last use to now and moves it up in the session index; reuse
// removes it from the index. A loss of the slot (lossguard) acts as a cut-off.
// Returns {result} for "unknown", else {result, sub, cur, cur_iat, cur_exp, prev, prev_until, exp,
// message, retry key, created, used, client, DPoP key thumbprint} describing the family as stored after the call (for
// "reused": as it was before deletion); message announces the sid mark written on reuse, and is
// "" otherwise.
var rotateScript = newScript("rotate",
	[]string{"family", "revoked-sid mark", "cut-off", "session index", "loss marker"},
	[]string{
		"sub", "presented", "presented iat (Unix s)", "next", "next iat", "next exp",
		"now (\"\": server time)", "grace (ms; 0: none)", "revoke until", "channel",
		"message tail of the sid mark", "retry key", "sid", "loss guard mode", "retry window (ms)",
	},
	luaHelpers+luaIndex+`
local now = tonumber(ARGV[7])
if not now then now = servernow() end
local lossat = lossguard(KEYS[5], ARGV[14])
local f = redis.call('HMGET', KEYS[1], 'sub', 'cur', 'cur_iat', 'cur_exp', 'prev', 'prev_until', 'exp', 'rk',
  'created', 'used', 'client', 'jkt')
local ce, ex = tonumber(f[4]), tonumber(f[7])
if f[1] ~= ARGV[1] or not ce or not ex or now >= ce or now >= ex then
  return {'unknown'}
end
for i = 1, 12 do
  if not f[i] then f[i] = '' end
end
local function family(result, cur, iat, cexp, prev, puntil, rk, msg)
  return {result, f[1], cur, iat, cexp, prev, puntil, f[7], msg or '', rk, f[9], f[10], f[11], f[12]}
end

local c = redis.call('GET', KEYS[3])
if c then
  local at, u = string.match(c, '^(%-?%d+):(%-?%d+)$')
  if at and now < tonumber(u) and math.floor(tonumber(at) / 1000) >= tonumber(ARGV[3]) then
    return family('cutoff', f[2], f[3], f[4], f[5], f[6], f[8])
  end
end
if math.floor(lossat / 1000) >= tonumber(ARGV[3]) then
  return family('cutoff', f[2], f[3], f[4], f[5], f[6], f[8])
end

if f[2] == ARGV[2] then
  local gu = tonumber(f[6])
  if gu and now < gu then -- rotated less than the grace window ago: once per window
    return family('grace', f[2], f[3], f[4], f[5], f[6], f[8])
  end
  local ne = ARGV[6]
  if tonumber(ne) > ex then ne = f[7] end
  local pu = ''
  if tonumber(ARGV[8]) > 0 then pu = tostring(now + tonumber(ARGV[8])) end
  redis.call('HSET', KEYS[1], 'cur', ARGV[4], 'cur_iat', ARGV[5], 'cur_exp', ne, 'prev', f[2],
    'prev_until', pu, 'rk', ARGV[12], 'used', now)
  redis.call('PEXPIREAT', KEYS[1], ne)
  redis.call('ZADD', KEYS[4], now, ARGV[13])
  extendindex(KEYS[4], ne)
  f[10] = tostring(now)
  return family('ok', ARGV[4], ARGV[5], ne, f[2], pu, ARGV[12])
end

if f[5] ~= '' and f[5] == ARGV[2] then
  if f[2] == ARGV[4] then
    return family('ok', f[2], f[3], f[4], f[5], f[6], f[8]) -- the same request again
  end
  local used = tonumber(f[10])
  if ARGV[12] ~= '' and ARGV[12] == f[8] and used and now < used + tonumber(ARGV[15]) then
    return family('retry', f[2], f[3], f[4], f[5], f[6], f[8])
  end
  local pu = tonumber(f[6])
  if pu and now < pu then
    return family('grace', f[2], f[3], f[4], f[5], f[6], f[8])
  end
end

redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[4], ARGV[13])
local msg = ''
if endmark(KEYS[2], ARGV[9], now) == 1 then msg = notify(ARGV[10], 's', ARGV[9], ARGV[11]) end
return family('reused', f[2], f[3], f[4], f[5], f[6], f[8], msg)
`)

// revokeScript deletes a family (and its entry in the session index) and marks its sid revoked.
// Returns the message announcing the mark, or "" when no mark was written.
var revokeScript = newScript("revoke",
	[]string{"family", "revoked-sid mark", "session index"},
	[]string{"until", "channel", "message tail", "sid"},
	luaHelpers+`
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[4])
if endmark(KEYS[2], ARGV[1], servernow()) == 1 then return notify(ARGV[2], 's', ARGV[1], ARGV[3]) end
return ''
`)

// denyScript puts a jti on the denylist.
// Returns the message announcing the mark, or "" when nothing was written.
var denyScript = newScript("deny",
	[]string{"deny mark"},
	[]string{"until", "channel", "message tail"},
	luaHelpers+`
if mark(KEYS[1], ARGV[1], servernow()) == 1 then return notify(ARGV[2], 'd', ARGV[1], ARGV[3]) end
return ''
`)

// cutScript records a cut-off as "<at>:<until>" (Unix ms). A later cut-off replaces an earlier one
// and keeps the later of the two expiries; an earlier one changes nothing.
// Returns the message announcing the record as stored, or "" when nothing was written.
var cutScript = newScript("cut",
	[]string{"cut-off"},
	[]string{"at", "until", "channel", "encoded subject"},
	luaHelpers+`
local u = ARGV[2]
if tonumber(u) <= servernow() then return '' end
local c = redis.call('GET', KEYS[1])
if c then
  local oa, ou = string.match(c, '^(%-?%d+):(%-?%d+)$')
  if oa then
    if tonumber(oa) > tonumber(ARGV[1]) then return '' end
    if tonumber(ou) > tonumber(u) then u = ou end
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. u, 'PXAT', u)
return notify(ARGV[3], 'c', u, ARGV[4] .. ':' .. ARGV[1])
`)

// sessionsScript lists the live families of the index. It only reads.
// Returns {sid, sub, cur, cur_iat, cur_exp, prev, prev_until, exp, created, used, client, jkt,
// sid, ...}, 12 elements per family, missing fields as "".
var sessionsScript = newScript("sessions",
	[]string{"session index"},
	nil,
	luaHelpers+luaIndex+`
local tag = indextag(KEYS[1])
local out = {}
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local f = redis.call('HMGET', tag .. ':fam:' .. sid, 'sub', 'cur', 'cur_iat', 'cur_exp', 'prev',
    'prev_until', 'exp', 'created', 'used', 'client', 'jkt')
  if f[1] then
    out[#out + 1] = sid
    for i = 1, 11 do out[#out + 1] = f[i] or '' end
  end
end
return out
`)

// endSessionsScript deletes every family of the index but one and marks each sid revoked.
// Returns {sid, message, ...} of the families it ended; message announces the sid mark, "" when
// none was written.
var endSessionsScript = newScript("end sessions",
	[]string{"session index"},
	[]string{"sid kept (\"\": none)", "until", "channel", "encoded subject"},
	luaHelpers+luaIndex+`
local now = servernow()
local tag = indextag(KEYS[1])
local out = {}
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if sid ~= ARGV[1] then
    redis.call('ZREM', KEYS[1], sid)
    if redis.call('DEL', tag .. ':fam:' .. sid) == 1 then
      local msg = ''
      if endmark(tag .. ':rsid:' .. sid, ARGV[2], now) == 1 then
        msg = notify(ARGV[3], 's', ARGV[2], ARGV[4] .. ':' .. sid)
      end
      out[#out + 1] = sid
      out[#out + 1] = msg
    end
  end
end
return out
`)

// markerScript creates or checks one marker; fresh "1" creates a missing marker with no loss
// (only this package's tests use it). Returns the loss time.
var markerScript = newScript("marker",
	[]string{"loss marker"},
	[]string{"loss guard mode", "fresh (\"1\": create without a loss)"},
	luaHelpers+`
if ARGV[2] == '1' and not redis.call('GET', KEYS[1]) then
  local cur = ''
  if ARGV[1] == 'e' then cur = string.match(redis.call('INFO', 'stats'), 'evicted_keys:(%d+)') or '' end
  redis.call('SET', KEYS[1], '0:' .. cur)
end
return lossguard(KEYS[1], ARGV[1])
`)

// revokedGuardScript is Revoked with the marker check as one script, used with
// WithEvictionRisk (which reads the eviction counter) and after MGET found a marker missing.
// Returns {lossAt, cut-off value or "", denied 0/1, revoked 0/1}.
var revokedGuardScript = newScript("revoked guard",
	[]string{"cut-off", "deny mark", "revoked-sid mark", "loss marker"},
	[]string{"loss guard mode"},
	luaHelpers+`
local at = lossguard(KEYS[4], ARGV[1])
local v = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3])
local d, r = 0, 0
if v[2] then d = 1 end
if v[3] then r = 1 end
return {at, v[1] or '', d, r}
`)

// loadRingScript reads a key ring and the clock it is decided by, in one step.
// Returns {generation ("0": none), due (Unix ms) or "", document or "", now (Unix ms)}.
var loadRingScript = newScript("load key ring",
	[]string{"key ring"},
	[]string{"now (\"\": server time)"},
	luaHelpers+`
local now = tonumber(ARGV[1])
if not now then now = servernow() end
local v = redis.call('HMGET', KEYS[1], 'gen', 'due', 'doc')
return {v[1] or '0', v[2] or '', v[3] or '', tostring(now)}
`)

// swapRingScript replaces a key ring when its generation is still the expected one and, unless
// forced, its rotation is due by the server's clock (a missing ring is always due): the one
// decision all instances share. The ring has no expiry.
// Returns {"1" (swapped) or "0", generation, due, document, now (Unix ms)}, the ring as stored
// after the call.
var swapRingScript = newScript("swap key ring",
	[]string{"key ring"},
	[]string{"expected generation", "next due (Unix ms)", "next document", "force (\"1\": due or not)", "now (\"\": server time)"},
	luaHelpers+`
local now = tonumber(ARGV[5])
if not now then now = servernow() end
local v = redis.call('HMGET', KEYS[1], 'gen', 'due', 'doc')
local gen = tonumber(v[1]) or 0
if gen ~= tonumber(ARGV[1]) or (ARGV[4] ~= '1' and gen ~= 0 and now < (tonumber(v[2]) or 0)) then
  return {'0', v[1] or '0', v[2] or '', v[3] or '', tostring(now)}
end
local next = string.format('%d', gen + 1)
redis.call('HSET', KEYS[1], 'gen', next, 'due', ARGV[2], 'doc', ARGV[3])
return {'1', next, ARGV[2], ARGV[3], tostring(now)}
`)

// script is a Lua script that names its KEYS and ARGV: its source starts with them, one comment
// line each, and with a check that refuses a call passing another number of either, with an error
// naming the script, instead of running on with nil where an argument was expected.
type script struct{ *redis.Script }

// newScript builds the script name from its helpers and body (src), prefixed with its KEYS and ARGV
// (the names say what each position holds, in order) and the check of their counts.
func newScript(name string, keys, argv []string, src string) script {
	var b strings.Builder
	fmt.Fprintf(&b, "-- jwtexp %s\n", name)
	for i, k := range keys {
		fmt.Fprintf(&b, "-- KEYS[%d] %s\n", i+1, k)
	}
	for i, a := range argv {
		fmt.Fprintf(&b, "-- ARGV[%d] %s\n", i+1, a)
	}
	fmt.Fprintf(&b, "if #KEYS ~= %d or #ARGV ~= %d then\n", len(keys), len(argv))
	fmt.Fprintf(&b, "  return redis.error_reply('jwtexp %s script: wants %d KEYS and %d ARGV, got ' .. #KEYS .. ' and ' .. #ARGV)\n",
		name, len(keys), len(argv))
	b.WriteString("end\n")
	b.WriteString(src)
	return script{redis.NewScript(b.String())}
}
