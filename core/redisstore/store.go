package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtexp/jwtexp/core"
)

// Store is a core.Store on Redis. Create it with New; it is safe for concurrent use.
type Store struct {
	client  redis.UniversalClient
	prefix  string
	channel string    // where revocation writes are announced
	replica *replica  // nil without WithLocalReplica
	hook    core.Hook // nil: no events (WithEventHook)
	guard   guard     // loss detection (lossguard.go)
	reload  reloader  // cluster topology refresh on connection errors (failover.go)

	// requestClock makes Rotate decide by RotateRequest.Now instead of the server's clock. Only
	// this package's tests set it, to drive the store with a fake clock.
	requestClock bool
}

// now is the "now" argument of rotateScript: empty (the server's TIME) unless requestClock.
func (s *Store) now(t time.Time) string {
	if s.requestClock {
		return ms(t)
	}
	return ""
}

var _ core.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*config)

type config struct {
	prefix       string
	replica      bool
	pingInterval time.Duration
	maxEntries   int
	hook         core.Hook
	evictionRisk bool

	// Set by tests only: New creates missing loss markers without recording a loss, so that a
	// test's fresh prefix does not count as a Redis that lost its data.
	freshMarkers bool

	// Set by tests only; zero means the default.
	sweepInterval, fullRetry time.Duration
}

// WithPrefix sets the prefix of every key (default DefaultPrefix, "jwtexp:"), to share one Redis
// database between applications or environments. It must be non-empty and must not contain '{'
// or '}', which would change the keys' Cluster hash tag; New reports such a prefix as an error.
func WithPrefix(prefix string) Option {
	return func(c *config) { c.prefix = prefix }
}

// New returns a Store that keeps its records through client. The client stays the caller's:
// Store.Close does not close it. New returns an error wrapping core.ErrInvalidConfig when client
// is nil or an option is invalid, or when a Redis node's maxmemory-policy may evict keys
// (anything but noeviction; see WithEvictionRisk).
//
// New contacts Redis, for at most 3 s: it reads maxmemory-policy on every node (CONFIG GET;
// a node that refuses CONFIG is not checked) and writes the loss markers (see "Persistence and
// eviction" in the package documentation). When Redis cannot be reached, New still returns the
// store, and its first call that reaches Redis does both; until then every call fails (closed).
// When New finds no markers - a new Redis, or one that lost its data - it records a loss, and
// waits (under a second) until the server's clock has left that second, so the tokens it
// refuses are only ones issued before New.
//
// With WithLocalReplica New starts the goroutine that subscribes and fills the replica in the
// background: until that is done, Revoked asks Redis.
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	if isNil(client) {
		return nil, fmt.Errorf("%w: redisstore: nil redis client", core.ErrInvalidConfig)
	}
	c := config{prefix: DefaultPrefix, pingInterval: DefaultReplicaPingInterval, maxEntries: DefaultReplicaMaxEntries}
	for _, opt := range opts {
		opt(&c)
	}
	if c.pingInterval <= 0 {
		return nil, fmt.Errorf("%w: redisstore: replica ping interval %v is not positive", core.ErrInvalidConfig, c.pingInterval)
	}
	if c.maxEntries <= 0 {
		return nil, fmt.Errorf("%w: redisstore: replica bound %d is not positive", core.ErrInvalidConfig, c.maxEntries)
	}
	if c.prefix == "" {
		return nil, fmt.Errorf("%w: redisstore: empty key prefix", core.ErrInvalidConfig)
	}
	if strings.ContainsAny(c.prefix, "{}") {
		return nil, fmt.Errorf("%w: redisstore: key prefix %q contains '{' or '}'", core.ErrInvalidConfig, c.prefix)
	}
	if err := checkContextTimeout(client); err != nil {
		return nil, err
	}
	s := &Store{client: client, prefix: c.prefix, channel: channelName(c.prefix), hook: c.hook}
	s.guard.mode, s.guard.fresh = guardMarker, c.freshMarkers
	switch client.(type) {
	case *redis.Ring:
		s.guard.mode = guardOff // a Ring's shards cannot be addressed per slot
	case *redis.ClusterClient:
		s.guard.cluster = true
	}
	if c.evictionRisk && s.guard.mode != guardOff {
		s.guard.mode = guardEvicted
	}
	if c.replica {
		if _, ok := client.(*redis.Ring); ok {
			return nil, fmt.Errorf("%w: redisstore: WithLocalReplica needs one Redis deployment; a Ring's shards do not share Pub/Sub", core.ErrInvalidConfig)
		}
		if c.evictionRisk {
			return nil, fmt.Errorf("%w: redisstore: WithLocalReplica cannot be combined with WithEvictionRisk: the replica's copy cannot see evictions; drop one of them (prefer maxmemory-policy noeviction)", core.ErrInvalidConfig)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startupTimeout)
	err := s.prepare(ctx)
	if err == nil && !c.freshMarkers && s.guard.mode != guardOff {
		s.waitPastLoss(ctx, s.guard.lossSeen.Load())
	}
	cancel()
	if errors.Is(err, core.ErrInvalidConfig) {
		return nil, err
	}
	if c.replica {
		s.replica = newReplica(client, c.prefix, c)
		s.replica.markers = func(ctx context.Context) (int64, error) {
			if err := s.prepare(ctx); err != nil || s.guard.mode == guardOff {
				return 0, err
			}
			return s.ensureMarkers(ctx, false)
		}
		s.replica.start()
	}
	return s, nil
}

// checkContextTimeout refuses a client that ignores context deadlines. go-redis only bounds a
// command by its context when the client was built with ContextTimeoutEnabled; without it a
// frozen Redis holds every request (and its goroutine and connection) for the client's own read
// timeout and retries - seconds - whatever deadline the Manager gives each store call.
func checkContextTimeout(client redis.UniversalClient) error {
	var on bool
	var opts string
	switch c := client.(type) {
	case *redis.Client: // NewClient, NewFailoverClient
		on, opts = c.Options().ContextTimeoutEnabled, "redis.Options (or redis.FailoverOptions)"
	case *redis.ClusterClient:
		on, opts = c.Options().ContextTimeoutEnabled, "redis.ClusterOptions"
	case *redis.Ring:
		on, opts = c.Options().ContextTimeoutEnabled, "redis.RingOptions"
	default:
		return nil // a wrapper of the application's: it owns the deadline behaviour
	}
	if !on {
		return fmt.Errorf("%w: redisstore: the go-redis client ignores context deadlines, so a frozen Redis would hold every request: set ContextTimeoutEnabled: true in its %s", core.ErrInvalidConfig, opts)
	}
	return nil
}

// isNil reports whether client is nil, including a typed nil pointer in the interface.
func isNil(client redis.UniversalClient) bool {
	switch c := client.(type) {
	case nil:
		return true
	case *redis.Client:
		return c == nil
	case *redis.ClusterClient:
		return c == nil
	case *redis.Ring:
		return c == nil
	}
	return false
}

// Close implements core.Store. With WithLocalReplica it stops the replica's goroutine and closes
// its subscription, and waits for both; Revoked then asks Redis again. The client is the
// caller's and stays open. It always returns nil and is safe to call more than once.
func (s *Store) Close() error {
	if s.replica != nil {
		s.replica.close()
	}
	return nil
}

// ms encodes t as Unix milliseconds.
func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// optionalMS encodes t as Unix milliseconds, and the zero time as "".
func optionalMS(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return ms(t)
}

// parseMS decodes what ms and optionalMS encode.
func parseMS(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q", v)
	}
	return time.UnixMilli(n).UTC(), nil
}

// luaHelpers is prepended to the scripts that need them.
//
// servernow is the Redis server's clock in Unix milliseconds, the clock its key expiry runs on.
//
// mark makes key a revocation mark expiring at u (Unix ms, a string; the value is u too), unless u
// is not after now or the key already lives at least that long: a mark is never shortened, and a
// write whose expiry is in the past writes nothing.
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

// createScript writes a family, adds it to the subject's session index and, with a bound,
// ends the least recently used families until the new one fits (see luaIndex). It checks the
// slot's loss marker first (lossguard), so a loss is recorded before the session's tokens are
// handed out rather than at their first use.
// KEYS: family, index, loss marker. ARGV: sub, cur, cur_iat, cur_exp, prev, prev_until, exp,
// created, used, client, max (<= 0: no bound), revoke until, channel, encoded subject, sid, loss
// guard mode.
// Returns {sid, message, sid, message, ...} of the families it ended; message announces the sid
// mark, "" when none was written.
var createScript = redis.NewScript(luaHelpers + luaIndex + `
lossguard(KEYS[3], ARGV[16])
local now = servernow()
if tonumber(ARGV[4]) <= now then return {} end
local tag = indextag(KEYS[2])
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
    if mark(tag .. ':rsid:' .. victim, ARGV[12], now) == 1 then
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
// KEYS: family, revoked-sid mark, cut-off, session index, loss marker.
// ARGV: sub, presented, presented iat (Unix seconds), next, next iat, next exp, now ("" = server
// time), grace (ms; 0 = none), revoke until, channel, message tail of the sid mark, retry key, sid,
// loss guard mode, retry window (ms; a retry is honored while now < used + window).
// Returns {result} for "unknown", else {result, sub, cur, cur_iat, cur_exp, prev, prev_until, exp,
// message, retry key, created, used, client} describing the family as stored after the call (for
// "reused": as it was before deletion); message announces the sid mark written on reuse, and is
// "" otherwise.
var rotateScript = redis.NewScript(luaHelpers + luaIndex + `
local now = tonumber(ARGV[7])
if not now then now = servernow() end
local lossat = lossguard(KEYS[5], ARGV[14])
local f = redis.call('HMGET', KEYS[1], 'sub', 'cur', 'cur_iat', 'cur_exp', 'prev', 'prev_until', 'exp', 'rk',
  'created', 'used', 'client')
local ce, ex = tonumber(f[4]), tonumber(f[7])
if f[1] ~= ARGV[1] or not ce or not ex or now >= ce or now >= ex then
  return {'unknown'}
end
for i = 1, 11 do
  if not f[i] then f[i] = '' end
end
local function family(result, cur, iat, cexp, prev, puntil, rk, msg)
  return {result, f[1], cur, iat, cexp, prev, puntil, f[7], msg or '', rk, f[9], f[10], f[11]}
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
if mark(KEYS[2], ARGV[9], now) == 1 then msg = notify(ARGV[10], 's', ARGV[9], ARGV[11]) end
return family('reused', f[2], f[3], f[4], f[5], f[6], f[8], msg)
`)

// revokeScript deletes a family (and its entry in the session index) and marks its sid revoked.
// KEYS: family, revoked-sid mark, session index. ARGV: until, channel, message tail, sid.
// Returns the message announcing the mark, or "" when no mark was written.
var revokeScript = redis.NewScript(luaHelpers + `
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[4])
if mark(KEYS[2], ARGV[1], servernow()) == 1 then return notify(ARGV[2], 's', ARGV[1], ARGV[3]) end
return ''
`)

// denyScript puts a jti on the denylist. KEYS: deny mark. ARGV: until, channel, message tail.
// Returns the message announcing the mark, or "" when nothing was written.
var denyScript = redis.NewScript(luaHelpers + `
if mark(KEYS[1], ARGV[1], servernow()) == 1 then return notify(ARGV[2], 'd', ARGV[1], ARGV[3]) end
return ''
`)

// cutScript records a cut-off as "<at>:<until>" (Unix ms). A later cut-off replaces an earlier one
// and keeps the later of the two expiries; an earlier one changes nothing.
// KEYS: cut-off. ARGV: at, until, channel, encoded subject.
// Returns the message announcing the record as stored, or "" when nothing was written.
var cutScript = redis.NewScript(luaHelpers + `
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

// errNoSessionID is returned by CreateFamily for a family without a sid.
var errNoSessionID = errors.New("jwtexp: redisstore: family has no session id")

func opError(op string, err error) error {
	return fmt.Errorf("jwtexp: redisstore: %s: %w", op, err)
}

// CreateFamily implements core.Store in one round trip (one script). The record expires at
// f.CurrentExpires, capped at f.Expires; a family already expired by the server clock is not
// written. A family without a SessionID is refused with an error. Bounding the subject's
// sessions costs the script one EXISTS per entry of the subject's index.
func (s *Store) CreateFamily(ctx context.Context, f core.Family, limit core.SessionLimit) ([]string, error) {
	if f.SessionID == "" {
		return nil, errNoSessionID
	}
	if f.CurrentExpires.After(f.Expires) {
		f.CurrentExpires = f.Expires
	}
	if err := s.ready(ctx, f.Subject); err != nil {
		return nil, s.opError(ctx, f.Subject, "create family", err)
	}
	reply, err := createScript.Run(ctx, s.client,
		[]string{s.familyKey(f.Subject, f.SessionID), s.indexKey(f.Subject), s.markerKey(f.Subject)},
		f.Subject, f.Current, optionalMS(f.CurrentIssuedAt), ms(f.CurrentExpires),
		f.Previous, optionalMS(f.PreviousUntil), ms(f.Expires),
		optionalMS(f.CreatedAt), optionalMS(f.LastUsed), f.Client,
		limit.Max, optionalMS(limit.RevokeUntil), s.channelFor(f.Subject), encodeSubject(f.Subject), f.SessionID,
		s.guard.mode).StringSlice()
	if err != nil {
		return nil, s.opError(ctx, f.Subject, "create family", err)
	}
	ended, err := s.endedReply(reply)
	if err != nil {
		return nil, opError("create family", err)
	}
	return ended, nil
}

// Rotate implements core.Store in one round trip (one Lua script), atomically.
func (s *Store) Rotate(ctx context.Context, req core.RotateRequest) (core.Family, core.RotateResult, error) {
	if err := s.ready(ctx, req.Subject); err != nil {
		return core.Family{}, 0, s.opError(ctx, req.Subject, "rotate", err)
	}
	keys := []string{
		s.familyKey(req.Subject, req.SessionID),
		s.revokedKey(req.Subject, req.SessionID),
		s.cutKey(req.Subject),
		s.indexKey(req.Subject),
		s.markerKey(req.Subject),
	}
	reply, err := rotateScript.Run(ctx, s.client, keys,
		req.Subject, req.Presented, strconv.FormatInt(req.PresentedIssuedAt.Unix(), 10),
		req.Next, optionalMS(req.NextIssuedAt), ms(req.NextExpires),
		s.now(req.Now), strconv.FormatInt(req.Grace.Milliseconds(), 10), ms(req.RevokeUntil),
		s.channelFor(req.Subject), messageTail(req.Subject, req.SessionID), req.RetryKey, req.SessionID,
		s.guard.mode, strconv.FormatInt(req.RetryWindow.Milliseconds(), 10)).StringSlice()
	if err != nil {
		return core.Family{}, 0, s.opError(ctx, req.Subject, "rotate", err)
	}
	f, res, err := parseRotateReply(req.SessionID, reply)
	if err != nil {
		return core.Family{}, 0, opError("rotate", err)
	}
	if res == core.RotateReused {
		s.applyLocally(reply[8])
	}
	return f, res, nil
}

// applyLocally puts a record this store has just written into its own replica, so a Revoked
// right after the write sees it without waiting for the subscription.
func (s *Store) applyLocally(message string) {
	if s.replica != nil {
		s.replica.applyMessage(message)
	}
}

func parseRotateReply(sid string, reply []string) (core.Family, core.RotateResult, error) {
	if len(reply) == 0 {
		return core.Family{}, 0, errors.New("empty script reply")
	}
	var res core.RotateResult
	switch reply[0] {
	case "unknown":
		return core.Family{}, core.RotateUnknown, nil
	case "ok":
		res = core.RotateOK
	case "grace":
		res = core.RotateGrace
	case "reused":
		res = core.RotateReused
	case "cutoff":
		res = core.RotateCutOff
	case "retry":
		res = core.RotateRetry
	default:
		return core.Family{}, 0, fmt.Errorf("unexpected script result %q", reply[0])
	}
	if len(reply) != 13 {
		return core.Family{}, 0, fmt.Errorf("script reply has %d elements, want 13", len(reply))
	}
	f := core.Family{SessionID: sid, Subject: reply[1], Current: reply[2], Previous: reply[5], RetryKey: reply[9], Client: reply[12]}
	var err error
	for _, field := range []struct {
		dst *time.Time
		src string
	}{
		{&f.CurrentIssuedAt, reply[3]},
		{&f.CurrentExpires, reply[4]},
		{&f.PreviousUntil, reply[6]},
		{&f.Expires, reply[7]},
		{&f.CreatedAt, reply[10]},
		{&f.LastUsed, reply[11]},
	} {
		if *field.dst, err = parseMS(field.src); err != nil {
			return core.Family{}, 0, err
		}
	}
	return f, res, nil
}

// RevokeFamily implements core.Store in one round trip. The family is deleted whatever `until` is
// (a logout must end the session); the mark is written only when `until` lies after the server's
// clock, and never shortens an existing mark. An empty sid does nothing.
func (s *Store) RevokeFamily(ctx context.Context, subject, sid string, until time.Time) error {
	if sid == "" {
		return nil
	}
	if err := s.ready(ctx, subject); err != nil {
		return s.opError(ctx, subject, "revoke family", err)
	}
	keys := []string{s.familyKey(subject, sid), s.revokedKey(subject, sid), s.indexKey(subject)}
	msg, err := revokeScript.Run(ctx, s.client, keys, ms(until), s.channelFor(subject), messageTail(subject, sid), sid).Text()
	if err != nil {
		return s.opError(ctx, subject, "revoke family", err)
	}
	s.applyLocally(msg)
	return nil
}

// DenyToken implements core.Store in one round trip. An existing entry is never shortened; an
// empty jti does nothing.
func (s *Store) DenyToken(ctx context.Context, subject, jti string, until time.Time) error {
	if jti == "" {
		return nil
	}
	if err := s.ready(ctx, subject); err != nil {
		return s.opError(ctx, subject, "deny token", err)
	}
	msg, err := denyScript.Run(ctx, s.client, []string{s.denyKey(subject, jti)}, ms(until),
		s.channelFor(subject), messageTail(subject, jti)).Text()
	if err != nil {
		return s.opError(ctx, subject, "deny token", err)
	}
	s.applyLocally(msg)
	return nil
}

// CutOff implements core.Store in one round trip. When a cut-off replaces another, the record
// lives until the later of the two expiries, so no token the earlier one revoked becomes valid
// again.
func (s *Store) CutOff(ctx context.Context, subject string, at, until time.Time) error {
	if err := s.ready(ctx, subject); err != nil {
		return s.opError(ctx, subject, "cut off", err)
	}
	msg, err := cutScript.Run(ctx, s.client, []string{s.cutKey(subject)}, ms(at), ms(until),
		s.channelFor(subject), encodeSubject(subject)).Text()
	if err != nil {
		return s.opError(ctx, subject, "cut off", err)
	}
	s.applyLocally(msg)
	return nil
}

// Revoked implements core.Store. With WithLocalReplica and the replica in sync it answers from
// memory, without a network call; otherwise in one round trip (one MGET: the keys, and the loss
// marker of their slot, share a hash slot), or with WithEvictionRisk one script. A loss the
// marker reveals is reported as a cut-off at the time of the loss (see "Persistence and
// eviction" in the package documentation).
func (s *Store) Revoked(ctx context.Context, subject, jti, sid string) (core.Revocation, error) {
	if s.replica != nil {
		r, ok, err := s.replica.lookup(subject, jti, sid)
		if ok {
			if err != nil {
				return core.Revocation{}, opError("revoked", err)
			}
			return r, nil
		}
	}
	if err := s.ready(ctx, subject); err != nil {
		return core.Revocation{}, s.opError(ctx, subject, "revoked", err)
	}
	r, err := s.revokedRemote(ctx, subject, jti, sid)
	if err != nil {
		return core.Revocation{}, s.opError(ctx, subject, "revoked", err)
	}
	return r, nil
}

// revokedRemote is Revoked in one round trip to Redis (two after a loss: the second records it).
func (s *Store) revokedRemote(ctx context.Context, subject, jti, sid string) (core.Revocation, error) {
	if s.guard.mode == guardEvicted {
		return s.revokedGuarded(ctx, subject, jti, sid)
	}
	tag := s.tag(subject)
	keys := make([]string, 1, 4)
	keys[0] = cutKeyOf(tag)
	denyAt, sidAt := -1, -1
	if jti != "" {
		denyAt = len(keys)
		keys = append(keys, denyKeyOf(tag, jti))
	}
	if sid != "" {
		sidAt = len(keys)
		keys = append(keys, revokedKeyOf(tag, sid))
	}
	markerAt := -1
	if s.guard.mode != guardOff {
		markerAt = len(keys)
		keys = append(keys, s.markerKey(subject))
	}
	vals, err := s.client.MGet(ctx, keys...).Result()
	if err != nil {
		return core.Revocation{}, err
	}
	if len(vals) != len(keys) {
		return core.Revocation{}, fmt.Errorf("MGET returned %d values for %d keys", len(vals), len(keys))
	}
	var lossAt int64
	if markerAt > 0 {
		v, _ := vals[markerAt].(string)
		at, ok := parseMarker(v)
		if !ok {
			// The marker is gone: the slot lost its data. Record the loss, and answer from
			// the same script so the answer and the record agree.
			return s.revokedGuarded(ctx, subject, jti, sid)
		}
		lossAt = at
		s.noteLoss(at)
	}
	var r core.Revocation
	if v, ok := vals[0].(string); ok {
		if r.CutOff, err = parseCutOff(v); err != nil {
			return core.Revocation{}, err
		}
	}
	r.TokenDenied = denyAt > 0 && vals[denyAt] != nil
	r.SessionRevoked = sidAt > 0 && vals[sidAt] != nil
	return withLoss(r, lossAt), nil
}

// revokedGuarded is Revoked as one script that also checks the loss marker (revokedGuardScript).
func (s *Store) revokedGuarded(ctx context.Context, subject, jti, sid string) (core.Revocation, error) {
	mode := s.guard.mode
	if mode == guardOff {
		mode = guardMarker
	}
	keys := []string{s.cutKey(subject), s.denyKey(subject, jti), s.revokedKey(subject, sid), s.markerKey(subject)}
	vals, err := revokedGuardScript.Run(ctx, s.client, keys, mode).Slice()
	if err != nil {
		return core.Revocation{}, err
	}
	if len(vals) != 4 {
		return core.Revocation{}, fmt.Errorf("script reply has %d elements, want 4", len(vals))
	}
	lossAt, _ := vals[0].(int64)
	cut, _ := vals[1].(string)
	var r core.Revocation
	if cut != "" {
		if r.CutOff, err = parseCutOff(cut); err != nil {
			return core.Revocation{}, err
		}
	}
	r.TokenDenied = jti != "" && vals[2] == int64(1)
	r.SessionRevoked = sid != "" && vals[3] == int64(1)
	s.noteLoss(lossAt)
	return withLoss(r, lossAt), nil
}

// parseCutOff reads a cut-off record "<at>:<until>".
func parseCutOff(v string) (time.Time, error) {
	at, _, found := strings.Cut(v, ":")
	if !found {
		return time.Time{}, fmt.Errorf("bad cut-off record %q", v)
	}
	t, err := parseMS(at)
	if err != nil || t.IsZero() {
		return time.Time{}, fmt.Errorf("bad cut-off record %q", v)
	}
	return t, nil
}
