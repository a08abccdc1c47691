package redisstore

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtexp/jwtexp/core"
)

// Defaults of the local replica (WithLocalReplica).
const (
	// DefaultReplicaPingInterval is how long the replica's subscription may stay silent before
	// the store pings Redis on it (WithReplicaPingInterval). The replica answers only while it
	// has heard from Redis within the last two intervals.
	DefaultReplicaPingInterval = time.Second

	// DefaultReplicaMaxEntries is how many revocation records the replica holds at most
	// (WithReplicaMaxEntries).
	DefaultReplicaMaxEntries = 1_000_000
)

// Internal timings of the replica. They are fields of replica so tests can shorten them.
const (
	replicaSweepInterval = 30 * time.Second // how often expired records are dropped
	replicaFullRetry     = time.Minute      // wait before a resync after the replica overflowed
	replicaMinBackoff    = 25 * time.Millisecond
	replicaMaxBackoff    = time.Second
	replicaScanCount     = 1000 // SCAN COUNT, and keys read per pipeline during a resync
	replicaShards        = 64   // lock stripes; a power of two
)

// Record kinds, as the first byte of a message.
const (
	kindDenied  = 'd' // a denylisted jti
	kindRevoked = 's' // a revoked sid
	kindCutOff  = 'c' // a subject's cut-off
)

// WithLocalReplica makes Revoked answer from a local, bounded, in-memory replica of the
// revocation records (denied jtis, revoked sids and cut-offs; never families), kept current
// through Redis Pub/Sub, so verifying an access token makes no network call while the replica
// is in sync. When it is not in sync (before the first resync, while the subscription is down,
// after a silence longer than twice the ping interval, or beyond the size bound) Revoked falls
// back to its one-round-trip MGET, which fails closed when Redis is unreachable. See "Local
// replica" in the package documentation.
//
// The store then runs one goroutine and holds one extra connection (the subscription) until
// Close. A *redis.Ring client is refused: its shards do not share Pub/Sub.
func WithLocalReplica() Option {
	return func(c *config) { c.replica = true }
}

// WithReplicaPingInterval sets how long the replica's subscription may stay silent before the
// store pings Redis on it (default DefaultReplicaPingInterval, 1 s). The replica answers only
// while it has heard from Redis (a message or a pong) within the last 2*d, so a subscription that
// died without the connection being closed (a partition, a stalled server) is never trusted for
// longer than that. d must be positive; it has no effect without WithLocalReplica.
func WithReplicaPingInterval(d time.Duration) Option {
	return func(c *config) { c.pingInterval = d }
}

// WithReplicaMaxEntries bounds the replica to n revocation records (default
// DefaultReplicaMaxEntries). A denylisted jti, a revoked sid and a subject's cut-off count one
// each; a record takes about 200 bytes of memory with a 32-character id, so the default bound
// is about 200 MB at most (the replica is usually far smaller). When a new record would exceed
// the bound, the replica is dropped and Revoked uses MGET (one round trip per call) until a
// resync, retried every minute, finds at most n live records. n must be positive; it has no
// effect without WithLocalReplica.
func WithReplicaMaxEntries(n int) Option {
	return func(c *config) { c.maxEntries = n }
}

// WithEventHook passes the local replica's state to hook as core.EventReplicaSync events: InSync
// true each time the replica (re)gains sync or hears from Redis (a revocation message or a pong,
// so at least once per ping interval while in sync), InSync false once when it stops answering
// (subscription lost, lease run out, bound exceeded, Close). The time of the last InSync event
// tells how stale the replica may be; the metrics modules (otelmetrics, prommetrics) turn it into
// an in-sync gauge and a lag. The hook runs on the replica's goroutine, or on the one whose write
// overflowed it: keep it fast. nil is ignored.
//
// The hook also receives a core.EventStoreDataLoss (Err ErrDataLoss, Reason naming the loss time)
// each time the store finds a later loss of records than it knew of: Redis came back without its
// data or evicted keys, and tokens issued until then are refused (see "Persistence and eviction"
// in the package documentation). Alert on it.
func WithEventHook(hook core.Hook) Option {
	return func(c *config) { c.hook = hook }
}

// ReplicaStats describes the local replica, for health checks and metrics.
type ReplicaStats struct {
	Enabled   bool   // the store was created WithLocalReplica
	InSync    bool   // Revoked answers from the replica now, without a network call
	Entries   int    // revocation records held (expired ones count until swept)
	Resyncs   uint64 // full resyncs completed (one per (re)subscription)
	Messages  uint64 // revocation messages applied from the subscription
	Overflows uint64 // times the replica was dropped for exceeding its bound
}

// ReplicaStats reports the state of the local replica; the zero value when the store was
// created without WithLocalReplica.
func (s *Store) ReplicaStats() ReplicaStats {
	r := s.replica
	if r == nil {
		return ReplicaStats{}
	}
	return ReplicaStats{
		Enabled:   true,
		InSync:    r.answering.Load(),
		Entries:   int(r.entries.Load()),
		Resyncs:   r.resyncs.Load(),
		Messages:  r.messages.Load(),
		Overflows: r.overflows.Load(),
	}
}

// replica is the local copy of the revocation records of one key prefix.
type replica struct {
	client  redis.UniversalClient
	prefix  string
	channel string

	pingInterval  time.Duration
	staleAfter    time.Duration // the replica answers while it heard from Redis this recently
	maxEntries    int64
	sweepInterval time.Duration
	fullRetry     time.Duration

	seed    maphash.Seed
	shards  [replicaShards]replicaShard
	entries atomic.Int64 // sum of the shards' n

	// answering says Revoked may answer from the replica: it is synced and has heard from
	// Redis within staleAfter. Revoked reads only this flag (no clock) to decide; the lease
	// timer clears it when the lease runs out.
	answering atomic.Bool
	// synced says the replica holds every record: a resync completed on the current
	// subscription and nothing has failed since. Records are applied only while it holds.
	synced atomic.Bool
	full   atomic.Bool // a record was refused for the bound; the loop drops the replica

	// stateMu orders the transitions of synced, answering and full and the lease, so that a
	// lease is never extended after the replica went out of sync.
	stateMu    sync.Mutex
	leaseEnd   time.Time   // answering holds until then, unless heard again
	leaseTimer *time.Timer // fires at leaseEnd

	resyncs, messages, overflows atomic.Uint64

	hook     core.Hook   // nil: no events (WithEventHook)
	reported atomic.Bool // the last InSync reported to hook

	cancel    context.CancelFunc
	done      chan struct{} // closed when the loop has returned
	closeOnce sync.Once

	psMu      sync.Mutex
	ps        *redis.PubSub   // the current subscription, for Close
	shardSubs []*redis.PubSub // on Redis Cluster: the current subscription of each master
	closed    bool

	// markers checks the loss markers (Store.ensureMarkers) and returns the latest loss time;
	// lossCut holds it (Unix ms; 0: none), a cut-off for every subject (see lossguard.go).
	markers func(context.Context) (int64, error)
	lossCut atomic.Int64
}

// replicaShard is one lock stripe of the replica, holding the subjects that hash to it.
type replicaShard struct {
	mu       sync.RWMutex
	subjects map[string]*subjectRecords
	n        int64    // records in subjects
	_        [24]byte // keep stripes on separate cache lines
}

// subjectRecords holds one subject's revocation records. Expiries are Unix milliseconds, as in
// Redis; a record whose expiry is at or before now is gone.
type subjectRecords struct {
	denied   map[string]int64 // jti -> until
	revoked  map[string]int64 // sid -> until
	cutAt    int64            // tokens issued at or before this are revoked...
	cutUntil int64            // ...until this; 0: no cut-off record
	cutBad   string           // a corrupt cut-off record found by a resync: Revoked reports an error
}

func (r *subjectRecords) empty() bool {
	return len(r.denied) == 0 && len(r.revoked) == 0 && r.cutUntil == 0
}

// record is one revocation record, as announced in a message or read by a resync.
type record struct {
	kind    byte
	subject string // raw, not encoded
	id      string // jti or sid; empty for a cut-off
	at      int64  // cut-off only
	until   int64
	bad     string // cut-off only: the corrupt value a resync read
}

func newReplica(client redis.UniversalClient, prefix string, c config) *replica {
	r := &replica{
		client:        client,
		prefix:        prefix,
		channel:       channelName(prefix),
		pingInterval:  c.pingInterval,
		staleAfter:    2 * c.pingInterval,
		maxEntries:    int64(c.maxEntries),
		sweepInterval: replicaSweepInterval,
		fullRetry:     replicaFullRetry,
		hook:          c.hook,
		seed:          maphash.MakeSeed(),
		done:          make(chan struct{}),
	}
	if c.sweepInterval > 0 {
		r.sweepInterval = c.sweepInterval
	}
	if c.fullRetry > 0 {
		r.fullRetry = c.fullRetry
	}
	for i := range r.shards {
		r.shards[i].subjects = map[string]*subjectRecords{}
	}
	return r
}

// start launches the goroutine that keeps the replica in sync.
func (r *replica) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.run(ctx)
}

// close stops the loop and the subscription and waits for the loop to return. The replica is out
// of sync afterwards, so Revoked uses MGET on the caller's client, which stays open.
func (r *replica) close() {
	r.closeOnce.Do(func() {
		r.cancel()
		r.psMu.Lock()
		r.closed = true
		if r.ps != nil {
			_ = r.ps.Close()
		}
		for _, ps := range r.shardSubs {
			_ = ps.Close()
		}
		r.psMu.Unlock()
		<-r.done
		r.markOutOfSync()
		r.stateMu.Lock()
		if r.leaseTimer != nil {
			r.leaseTimer.Stop()
		}
		r.stateMu.Unlock()
	})
}

func (r *replica) shard(subject string) *replicaShard {
	return &r.shards[maphash.String(r.seed, subject)&(replicaShards-1)]
}

// lookup answers Revoked from the replica. ok is false when the replica may not answer: the
// caller must then ask Redis.
//
// A token without records, the common case, costs one atomic load, one hash and at most three
// map lookups under a read lock: the clock is read only when a record is found.
func (r *replica) lookup(subject, jti, sid string) (rev core.Revocation, ok bool, err error) {
	if !r.answering.Load() {
		return core.Revocation{}, false, nil
	}
	sh := r.shard(subject)
	var cutAt, cutUntil, denyUntil, sidUntil int64
	var cutBad string
	sh.mu.RLock()
	if rec := sh.subjects[subject]; rec != nil {
		cutAt, cutUntil, cutBad = rec.cutAt, rec.cutUntil, rec.cutBad
		if jti != "" {
			denyUntil = rec.denied[jti]
		}
		if sid != "" {
			sidUntil = rec.revoked[sid]
		}
	}
	sh.mu.RUnlock()
	lossAt := r.lossCut.Load()
	if cutUntil == 0 && denyUntil == 0 && sidUntil == 0 {
		return withLoss(core.Revocation{}, lossAt), true, nil // nothing recorded: no need for the clock
	}
	nowMS := time.Now().UnixMilli()
	expired := false
	if cutUntil != 0 {
		switch {
		case cutUntil <= nowMS:
			expired = true
		case cutBad != "":
			err = fmt.Errorf("bad cut-off record %q", cutBad)
		default:
			rev.CutOff = time.UnixMilli(cutAt).UTC()
		}
	}
	if denyUntil != 0 {
		rev.TokenDenied = denyUntil > nowMS
		expired = expired || !rev.TokenDenied
	}
	if sidUntil != 0 {
		rev.SessionRevoked = sidUntil > nowMS
		expired = expired || !rev.SessionRevoked
	}
	if expired {
		// Lazy expiry: drop what this read found expired, so it is not found again.
		sh.mu.Lock()
		sh.sweepSubject(r, subject, nowMS)
		sh.mu.Unlock()
	}
	if err != nil {
		return core.Revocation{}, true, err
	}
	return withLoss(rev, lossAt), true, nil
}

// apply merges one record into the replica. Records of one key are totally ordered by (until,
// at): while a key lives, both never decrease (a mark is never shortened, a cut-off is only
// replaced by a later one and keeps the later expiry), and a key written after an earlier one
// expired has a later expiry than anything the earlier one held. So the replica keeps the
// greatest record it has seen, whatever order messages, local writes and resyncs arrive in.
//
// Out of sync, apply does nothing: the next resync replaces the content anyway, and a record
// written meanwhile is either in its snapshot (written before the subscription) or announced
// on the subscription after it.
func (r *replica) apply(rc record, nowMS int64) {
	if rc.until <= nowMS || !r.synced.Load() || r.full.Load() {
		return
	}
	sh := r.shard(rc.subject)
	sh.mu.Lock()
	added, ok := sh.put(rc, r.entries.Load() < r.maxEntries)
	if added {
		sh.n++
		r.entries.Add(1)
	}
	sh.mu.Unlock()
	if !ok {
		r.overflow()
	}
}

// put merges rc into the shard (callers hold sh.mu). added reports a new record; ok is false
// when rc is new and room is false.
func (sh *replicaShard) put(rc record, room bool) (added, ok bool) {
	rec := sh.subjects[rc.subject]
	if rec == nil {
		if !room {
			return false, false
		}
		rec = &subjectRecords{}
		sh.subjects[rc.subject] = rec
	}
	switch rc.kind {
	case kindDenied, kindRevoked:
		m := &rec.denied
		if rc.kind == kindRevoked {
			m = &rec.revoked
		}
		old, found := (*m)[rc.id]
		if !found && !room {
			sh.dropIfEmpty(rc.subject, rec)
			return false, false
		}
		if *m == nil {
			*m = map[string]int64{}
		}
		if rc.until > old {
			(*m)[rc.id] = rc.until
		}
		return !found, true
	case kindCutOff:
		if rec.cutUntil == 0 {
			if !room {
				sh.dropIfEmpty(rc.subject, rec)
				return false, false
			}
			rec.cutAt, rec.cutUntil, rec.cutBad = rc.at, rc.until, rc.bad
			return true, true
		}
		if rec.cutBad != "" || rc.bad != "" || rc.until > rec.cutUntil || (rc.until == rec.cutUntil && rc.at > rec.cutAt) {
			rec.cutAt, rec.cutUntil, rec.cutBad = rc.at, rc.until, rc.bad
		}
		return false, true
	}
	return false, true
}

func (sh *replicaShard) dropIfEmpty(subject string, rec *subjectRecords) {
	if rec.empty() {
		delete(sh.subjects, subject)
	}
}

// sweepSubject drops the expired records of one subject (callers hold sh.mu).
func (sh *replicaShard) sweepSubject(r *replica, subject string, nowMS int64) {
	rec := sh.subjects[subject]
	if rec == nil {
		return
	}
	var dropped int64
	for id, u := range rec.denied {
		if u <= nowMS {
			delete(rec.denied, id)
			dropped++
		}
	}
	for id, u := range rec.revoked {
		if u <= nowMS {
			delete(rec.revoked, id)
			dropped++
		}
	}
	if rec.cutUntil != 0 && rec.cutUntil <= nowMS {
		rec.cutAt, rec.cutUntil, rec.cutBad = 0, 0, ""
		dropped++
	}
	sh.dropIfEmpty(subject, rec)
	sh.n -= dropped
	r.entries.Add(-dropped)
}

// sweep drops every expired record.
func (r *replica) sweep() {
	nowMS := time.Now().UnixMilli()
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		for subject := range sh.subjects {
			sh.sweepSubject(r, subject, nowMS)
		}
		sh.mu.Unlock()
	}
}

// install replaces the replica's content with a resync's snapshot.
func (r *replica) install(snap *[replicaShards]map[string]*subjectRecords, counts *[replicaShards]int64) {
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.Lock()
		sh.subjects = snap[i]
		r.entries.Add(counts[i] - sh.n)
		sh.n = counts[i]
		sh.mu.Unlock()
	}
}

// clear drops every record.
func (r *replica) clear() {
	var snap [replicaShards]map[string]*subjectRecords
	var counts [replicaShards]int64
	for i := range snap {
		snap[i] = map[string]*subjectRecords{}
	}
	r.install(&snap, &counts)
}

// overflow takes the replica out of sync because a record did not fit; the loop then drops it
// and retries a resync later.
func (r *replica) overflow() {
	r.stateMu.Lock()
	defer r.stateMu.Unlock()
	if !r.full.Swap(true) {
		r.overflows.Add(1)
	}
	r.answering.Store(false)
	r.synced.Store(false)
	defer r.report(false) // after the unlock
}

func (r *replica) markOutOfSync() {
	r.stateMu.Lock()
	r.answering.Store(false)
	r.synced.Store(false)
	r.stateMu.Unlock()
	r.report(false)
}

// markInSync lets the replica answer, unless it overflowed meanwhile.
func (r *replica) markInSync() bool {
	r.stateMu.Lock()
	if r.full.Load() {
		r.stateMu.Unlock()
		return false
	}
	r.synced.Store(true)
	r.extendLocked()
	r.stateMu.Unlock()
	r.report(true)
	return true
}

// heard extends the lease: the subscription has just delivered something, so it is alive and
// every revocation published before that has been applied.
func (r *replica) heard() {
	r.stateMu.Lock()
	synced := r.synced.Load()
	if synced {
		r.extendLocked()
	}
	r.stateMu.Unlock()
	if synced {
		r.report(true)
	}
}

// report passes the replica's state to the hook: every InSync true (a heartbeat), and an InSync
// false only when it follows a true.
func (r *replica) report(inSync bool) {
	if r.hook == nil {
		return
	}
	if was := r.reported.Swap(inSync); !inSync && !was {
		return
	}
	r.hook(context.Background(), core.Event{Kind: core.EventReplicaSync, Time: time.Now(), InSync: inSync})
}

func (r *replica) extendLocked() {
	r.extendUntilLocked(time.Now().Add(r.staleAfter))
}

// extendUntilLocked lets the replica answer until end (callers hold stateMu).
func (r *replica) extendUntilLocked(end time.Time) {
	r.leaseEnd = end
	d := time.Until(end)
	if d <= 0 {
		r.answering.Store(false)
		return
	}
	r.answering.Store(true)
	if r.leaseTimer == nil {
		r.leaseTimer = time.AfterFunc(d, r.leaseExpired)
	} else {
		r.leaseTimer.Reset(d)
	}
}

// leaseExpired stops the replica answering when it has not heard from Redis for staleAfter. A
// run of the timer that raced with a renewal finds the lease extended and does nothing.
func (r *replica) leaseExpired() {
	r.stateMu.Lock()
	lapsed := !time.Now().Before(r.leaseEnd)
	if lapsed {
		r.answering.Store(false)
	}
	r.stateMu.Unlock()
	if lapsed {
		r.report(false)
	}
}

// errReplicaFull ends a session whose replica exceeded its bound.
var errReplicaFull = errors.New("replica exceeds its bound")

// run keeps the replica in sync until Close: it subscribes, resyncs on every (re)subscription,
// applies messages, and starts over after any failure.
func (r *replica) run(ctx context.Context) {
	defer close(r.done)
	backoff := replicaMinBackoff
	lastSweep := time.Now()
	sweep := func() {
		if time.Since(lastSweep) >= r.sweepInterval {
			r.sweep()
			lastSweep = time.Now()
		}
	}
	cc, cluster := r.client.(*redis.ClusterClient)
	for {
		var synced bool
		var err error
		if cluster {
			synced, err = r.clusterSession(ctx, cc, sweep)
			r.markOutOfSync()
			r.closeShards()
			if ctx.Err() == nil {
				cc.ReloadState(ctx) // the topology may have changed: a failover, a reshard
			}
		} else {
			ps := r.subscribe(ctx)
			if ps == nil {
				return
			}
			synced, err = r.session(ctx, ps, sweep)
			r.markOutOfSync()
			r.unsubscribe(ps)
		}
		if ctx.Err() != nil {
			return
		}
		if synced {
			backoff = replicaMinBackoff
		}
		wait := backoff
		backoff = min(2*backoff, replicaMaxBackoff)
		if errors.Is(err, errReplicaFull) {
			// Drop the replica; the next resync counts the records afresh.
			r.clear()
			r.full.Store(false)
			wait = r.fullRetry
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		sweep()
	}
}

// subscribe opens a new subscription, or returns nil after Close.
func (r *replica) subscribe(ctx context.Context) *redis.PubSub {
	r.psMu.Lock()
	defer r.psMu.Unlock()
	if r.closed {
		return nil
	}
	// Subscribe sends SUBSCRIBE when it can connect; otherwise the first receive connects and
	// subscribes. Either way the confirmation arrives as a *redis.Subscription.
	r.ps = r.client.Subscribe(ctx, r.channel)
	return r.ps
}

func (r *replica) unsubscribe(ps *redis.PubSub) {
	r.psMu.Lock()
	if r.ps == ps {
		r.ps = nil
	}
	r.psMu.Unlock()
	_ = ps.Close()
}

// session runs one subscription until it fails. synced reports whether it got in sync.
func (r *replica) session(ctx context.Context, ps *redis.PubSub, sweep func()) (synced bool, err error) {
	pinged := false
	for {
		if r.full.Load() {
			return synced, errReplicaFull
		}
		sweep()
		msg, err := ps.ReceiveTimeout(ctx, r.pingInterval)
		if err != nil {
			if ctx.Err() != nil {
				return synced, ctx.Err()
			}
			// Silence: ping once; a second silent interval means the connection is dead
			// (by then the lease has lapsed too).
			if isTimeout(err) && !pinged {
				if err := ps.Ping(ctx); err != nil {
					return synced, err
				}
				pinged = true
				continue
			}
			return synced, err
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" || m.Channel != r.channel {
				return synced, fmt.Errorf("unexpected %s", m)
			}
			// A (re)subscription: messages published while we were not subscribed are lost,
			// so rebuild from Redis. Messages published from now on are queued behind this one
			// and applied after the resync; applying one twice changes nothing.
			r.markOutOfSync()
			if err := r.resync(ctx); err != nil {
				return synced, err
			}
			r.resyncs.Add(1)
			if r.markInSync() {
				synced = true
			}
		case *redis.Message:
			rc, err := r.parseMessage(m.Payload)
			if err != nil {
				// Not ours, or garbled: the replica can no longer be trusted. Start over.
				return synced, err
			}
			r.apply(rc, time.Now().UnixMilli())
			r.messages.Add(1)
			r.heard()
		case *redis.Pong:
			r.heard()
		default:
			return synced, fmt.Errorf("unexpected pubsub message %T", msg)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Message format, one PUBLISH per record written, from inside the script that writes it:
//
//	<kind>:<until>:<subject>:<id>
//
// kind is 'd' (denied jti), 's' (revoked sid) or 'c' (cut-off); until is the record's absolute
// expiry in Unix milliseconds after the write; subject is encoded as in the keys (base64url, "="
// for the empty subject), so it holds no ':'; id is the jti, the sid, or for a cut-off its time
// in Unix milliseconds. id comes last and may contain anything.

func (r *replica) parseMessage(payload string) (record, error) {
	bad := func() (record, error) { return record{}, fmt.Errorf("bad revocation message %q", payload) }
	if len(payload) < 2 || payload[1] != ':' {
		return bad()
	}
	rc := record{kind: payload[0]}
	untilS, rest, ok1 := strings.Cut(payload[2:], ":")
	enc, id, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		return bad()
	}
	var err error
	if rc.until, err = strconv.ParseInt(untilS, 10, 64); err != nil {
		return bad()
	}
	if rc.subject, err = decodeSubject(enc); err != nil {
		return bad()
	}
	switch rc.kind {
	case kindDenied, kindRevoked:
		if id == "" {
			return bad()
		}
		rc.id = id
	case kindCutOff:
		if rc.at, err = strconv.ParseInt(id, 10, 64); err != nil {
			return bad()
		}
	default:
		return bad()
	}
	return rc, nil
}

// applyMessage applies a message a script returned to this store, so its own writes are in its
// replica before the call returns (read your writes), without waiting for the subscription.
func (r *replica) applyMessage(payload string) {
	if payload == "" {
		return
	}
	rc, err := r.parseMessage(payload)
	if err != nil {
		// Cannot happen with our scripts; distrust the replica rather than ignore a write.
		r.markOutOfSync()
		return
	}
	r.apply(rc, time.Now().UnixMilli())
}

// resync rebuilds the replica from Redis: it scans the prefix for revocation keys (on Redis
// Cluster on every master) and reads each key's value, which holds its absolute expiry (PTTL
// only for a record whose value is not a time). The snapshot replaces the replica's content.
func (r *replica) resync(ctx context.Context) error {
	if r.markers != nil {
		lossAt, err := r.markers(ctx)
		if err != nil {
			return fmt.Errorf("jwtexp: redisstore: replica resync: %w", err)
		}
		r.lossCut.Store(lossAt)
	}
	var snap [replicaShards]map[string]*subjectRecords
	var counts [replicaShards]int64
	for i := range snap {
		snap[i] = map[string]*subjectRecords{}
	}
	var mu sync.Mutex // ForEachMaster scans masters concurrently
	var total int64
	add := func(rc record) error {
		mu.Lock()
		defer mu.Unlock()
		i := maphash.String(r.seed, rc.subject) & (replicaShards - 1)
		sh := replicaShard{subjects: snap[i]}
		added, _ := sh.put(rc, true)
		if added {
			counts[i]++
			total++
			if total > r.maxEntries {
				return errReplicaFull
			}
		}
		return nil
	}
	scan := func(ctx context.Context, c redis.Cmdable) error { return r.scanNode(ctx, c, add) }
	var err error
	if cc, ok := r.client.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, r.client)
	}
	if errors.Is(err, errReplicaFull) {
		r.overflow()
		return err
	}
	if err != nil {
		return fmt.Errorf("jwtexp: redisstore: replica resync: %w", err)
	}
	r.install(&snap, &counts)
	return nil
}

// scanNode reads every revocation key of one node and passes it to add.
func (r *replica) scanNode(ctx context.Context, c redis.Cmdable, add func(record) error) error {
	pattern := r.scanPattern()
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, pattern, replicaScanCount).Result()
		if err != nil {
			return err
		}
		type found struct {
			rc  record
			get *redis.StringCmd
			ttl *redis.DurationCmd
		}
		batch := make([]found, 0, len(keys))
		pipe := c.Pipeline()
		for _, key := range keys {
			kind, subject, id, ok := r.parseKey(key)
			if !ok {
				continue
			}
			batch = append(batch, found{rc: record{kind: kind, subject: subject, id: id},
				get: pipe.Get(ctx, key), ttl: pipe.PTTL(ctx, key)})
		}
		if len(batch) > 0 {
			if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			nowMS := time.Now().UnixMilli()
			for _, f := range batch {
				val, err := f.get.Result()
				if errors.Is(err, redis.Nil) {
					continue // expired since SCAN
				}
				if err != nil {
					return err
				}
				ttl, err := f.ttl.Result()
				if err != nil {
					return err
				}
				rc, live := recordFromValue(f.rc, val, ttl, nowMS)
				if !live {
					continue
				}
				if err := add(rc); err != nil {
					return err
				}
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// recordFromValue completes rc from its key's value and PTTL. A mark's value is its expiry and
// a cut-off's is "<at>:<until>", as the scripts write them. A mark whose value is not a time
// expires after its PTTL (never, without one: Redis would report it forever too); a cut-off that
// does not parse is kept as corrupt, and Revoked reports an error for its subject, as MGET does.
// live is false for a record that no longer exists or has expired.
func recordFromValue(rc record, val string, ttl time.Duration, nowMS int64) (record, bool) {
	if ttl == -2 {
		return rc, false
	}
	fromTTL := int64(1<<63 - 1)
	if ttl >= 0 {
		fromTTL = nowMS + ttl.Milliseconds()
	}
	switch rc.kind {
	case kindDenied, kindRevoked:
		u, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			u = fromTTL
		}
		rc.until = u
	case kindCutOff:
		// The same check as Revoked's MGET path: the cut-off time must be a non-zero time.
		at, u, found := strings.Cut(val, ":")
		a, err := strconv.ParseInt(at, 10, 64)
		if !found || err != nil || a == 0 {
			rc.bad, rc.until = val, fromTTL
			break
		}
		rc.at = a
		if rc.until, err = strconv.ParseInt(u, 10, 64); err != nil {
			rc.until = fromTTL
		}
	}
	return rc, rc.until > nowMS
}
