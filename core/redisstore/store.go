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
	channel string          // where revocation writes are announced
	replica *replica        // nil without WithLocalReplica
	hook    core.Hook       // nil: no events (WithEventHook)
	guard   guard           // loss detection (lossguard.go)
	reload  reloader        // cluster topology refresh on connection errors (failover.go)
	clock   serverClock     // offset of the server's clock, for deadlines (deadline.go)
	wait    replicationWait // revocations wait for replicas (durable.go)

	// requestClock makes Rotate decide by RotateRequest.Now, and the key-ring scripts by the
	// Manager's now, instead of the server's clock. Only this package's tests set it, to drive
	// the store with a fake clock.
	requestClock bool
}

// now is the "now" argument of rotateScript and the key-ring scripts: empty (the server's TIME)
// unless requestClock.
func (s *Store) now(t time.Time) string {
	if s.requestClock {
		return ms(t)
	}
	return ""
}

var _ core.Store = (*Store)(nil)

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
	if c.waitSet {
		if c.waitReplicas < 0 || (c.waitReplicas > 0 && c.waitTimeout <= 0) {
			return nil, fmt.Errorf("%w: redisstore: WithReplicationWait(%d, %v): want at least one replica and a positive timeout", core.ErrInvalidConfig, c.waitReplicas, c.waitTimeout)
		}
		if _, ok := client.(*redis.Ring); ok && c.waitReplicas > 0 {
			return nil, fmt.Errorf("%w: redisstore: WithReplicationWait is not available on a Ring: its shards fail over independently", core.ErrInvalidConfig)
		}
		s.wait.explicit = true
		s.wait.replicas.Store(int64(c.waitReplicas))
		s.wait.timeout = c.waitTimeout
	} else {
		s.wait.timeout = DefaultReplicationWait
	}
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
		s.guard.mode, s.serverDeadline(ctx), f.LoginKey, strconv.FormatInt(limit.LoginRetryWindow.Milliseconds(), 10), f.DPoPThumbprint, limit.MaxEnded).StringSlice()
	if err != nil {
		return nil, s.opError(ctx, f.Subject, "create family", err)
	}
	if len(reply) == 1 && reply[0] == "late" {
		return nil, opError("create family", errLate)
	}
	if len(reply) == 13 && reply[0] == "repeat" {
		g := core.Family{SessionID: reply[1], Subject: reply[2], Current: reply[3], Client: reply[9],
			Previous: reply[10], LoginKey: f.LoginKey, DPoPThumbprint: reply[12]}
		for _, field := range []struct {
			dst *time.Time
			src string
		}{
			{&g.CurrentIssuedAt, reply[4]}, {&g.CurrentExpires, reply[5]}, {&g.Expires, reply[6]},
			{&g.CreatedAt, reply[7]}, {&g.LastUsed, reply[8]}, {&g.PreviousUntil, reply[11]},
		} {
			if *field.dst, err = parseMS(field.src); err != nil {
				return nil, opError("create family", err)
			}
		}
		return nil, &core.LoginRepeatedError{Family: g}
	}
	if len(reply) == 1 && reply[0] == "cut" {
		return nil, fmt.Errorf("create family: the subject's cut-off covers its iat: %w", core.ErrIssuedUnderCutOff)
	}
	if len(reply) == 2 && reply[0] == "churn" {
		at, err := parseMS(reply[1])
		if err != nil {
			return nil, opError("create family", err)
		}
		return nil, &core.SessionChurnError{RetryAt: at}
	}
	if len(reply) == 2 && reply[0] == "cutoff" {
		if at, err := strconv.ParseInt(reply[1], 10, 64); err == nil {
			s.noteLoss(at)
		}
		return nil, fmt.Errorf("create family: records lost in the second of its iat: %w", core.ErrIssuedUnderCutOff)
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
	if len(reply) != 14 {
		return core.Family{}, 0, fmt.Errorf("script reply has %d elements, want 14", len(reply))
	}
	f := core.Family{SessionID: sid, Subject: reply[1], Current: reply[2], Previous: reply[5], RetryKey: reply[9], Client: reply[12],
		DPoPThumbprint: reply[13]}
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
	msg, err := s.runDurable(ctx, subject, revokeScript, keys, ms(until), s.channelFor(subject), messageTail(subject, sid), sid).Text()
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
	msg, err := s.runDurable(ctx, subject, denyScript, []string{s.denyKey(subject, jti)}, ms(until),
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
	msg, err := s.runDurable(ctx, subject, cutScript, []string{s.cutKey(subject)}, ms(at), ms(until),
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
