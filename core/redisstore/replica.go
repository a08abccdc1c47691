package redisstore

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jwtexp/jwtexp/core"
)

// The local replica's state and lookup (WithLocalReplica): revocation records in memory, striped
// by subject, bounded, and trusted only while in sync. What keeps it current - the subscription,
// the pings, the resync - is in replica_sync.go and, on Cluster, replica_cluster.go.

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

	listen listeners // NotifyRevocations (replica_notify.go)
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
		return
	}
	r.listen.announce(core.RevocationNotice{Subject: rc.subject})
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
	r.listen.announce(core.RevocationNotice{All: true}) // the resync may have brought anything
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
